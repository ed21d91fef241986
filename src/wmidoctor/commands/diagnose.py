"""`wmidoctor diagnose [PATH]`: run every check over a host's evidence and report findings with fixes.

PATH is a saved evidence file (*.json, as `Evidence.to_json` writes it: handy to attach to a ticket) or
a bundle (folder, .zip or mounted Windows volume) read by wmidoctor.sources.bundle.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wmidoctor import __version__
from wmidoctor.commands.options import chosen_format, format_option, json_flag
from wmidoctor.errors import InputError
from wmidoctor.output import refuse_writing_into, use_colour, write_output
from wmidoctor.report import FORMATS

if TYPE_CHECKING:  # imported where used: `diagnose --help` and the usage errors need neither
    from wmidoctor.evidence.model import Evidence
    from wmidoctor.report.model import HostFacts, Report


def load_evidence(path: Path, quick: bool = False) -> Evidence:
    """Evidence from a saved evidence JSON file or from a bundle, both through the bundle loader."""
    from wmidoctor.sources.bundle import load

    return load(path, quick=quick)


def diagnose_evidence(evidence: Evidence, *, source: str, only: list[str] | None = None, quick: bool = False) -> Report:
    """Run the checks (all, or the groups in `only`) and assemble the report."""
    from wmidoctor.checks import run_checks
    from wmidoctor.checks.events import hex_code
    from wmidoctor.checks.tally import code_tally
    from wmidoctor.knowledge.codes import lookup
    from wmidoctor.report.model import CheckTiming, CodeCount, Report
    from wmidoctor.sources.identity import settle_edition

    settle_edition(evidence)  # saved evidence may predate the edition field
    start = time.perf_counter()
    try:
        runs = run_checks(evidence, only)
    except ValueError as exc:  # an unknown group in --only
        raise InputError(str(exc)) from exc
    tally = [
        CodeCount(hex_code(code), count, lookup(code).symbol, lookup(code).meaning, seen_in=where)
        for code, count, where in code_tally(evidence)
    ]
    return Report(
        tool_version=__version__,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        target=evidence.identity.host,
        source=source,
        findings=[r.finding for r in runs],
        evidence=evidence.summary(),
        code_tally=tally,
        timings=[CheckTiming(r.finding.check, round(r.elapsed_ms, 3)) for r in runs],
        total_ms=(time.perf_counter() - start) * 1000,
        quick=quick,
        host=host_facts(evidence),
    )


def host_facts(evidence: Evidence) -> HostFacts:
    from wmidoctor.report.model import HostFacts

    who = evidence.identity
    firsts = [log.first_seen for log in evidence.events.logs if log.first_seen]
    lasts = [log.last_seen for log in evidence.events.logs if log.last_seen]
    return HostFacts(
        name=who.host,
        domain=who.domain,
        os=who.os_caption,
        build=who.os_build,
        edition=who.edition,
        edition_source=who.edition_source,
        name_source=who.host_source,
        layout=evidence.collection.layout,
        events_from=min(firsts, default=""),
        events_until=max(lasts, default=""),
    )


def _add_captures(evidence: Evidence, path: Path, captures: list[Path]) -> None:
    """Packet captures as connectivity evidence: those given with --capture and those in the bundle folder."""
    from wmidoctor.pcap.evidence import captures_in

    files = captures + (captures_in(path) if path.is_dir() else [])
    if not files:
        return
    from wmidoctor.artifacts.pcap.capture import NotACapture
    from wmidoctor.pcap.evidence import add_captures

    try:
        add_captures(evidence, files)
    except NotACapture as exc:
        raise InputError(str(exc)) from exc


def collect_live() -> Path:
    """On Windows, run the collector into a new temporary folder and return it; elsewhere, say what to pass."""
    if sys.platform != "win32":
        raise InputError(
            "pass what to diagnose: a bundle folder, a .zip, a mounted Windows volume or an evidence "
            ".json (make a bundle on the Windows host with collect/Collect-WmiDoctor.ps1)"
        )
    import tempfile

    from wmidoctor.commands.collect import run_collector

    bundle = Path(tempfile.mkdtemp(prefix="wmidoctor-")) / "bundle"
    code = run_collector(bundle, zip_bundle=False)
    if code != 0:
        raise InputError(f"the collector failed with exit code {code}; see its messages above")
    click.echo(f"evidence collected into {bundle} (keep it to attach to a ticket)", err=True)
    return bundle


def _list_checks(fmt: str, path: Path | None, out: Path | None) -> int:
    from wmidoctor.checks.catalogue import as_document, as_text

    if path is not None:
        raise click.UsageError("--list-checks reads no evidence: give it no PATH")
    if fmt not in ("text", "json"):
        raise click.UsageError("--list-checks prints text or json")
    write_output(json.dumps(as_document(), indent=2) if fmt == "json" else as_text(), str(out) if out else None)
    return 0


@click.command(
    help="Run every check over a host's evidence and report findings with ordered fixes. PATH: a bundle "
    "folder, .zip, mounted Windows volume, or a saved evidence .json; on Windows, no PATH collects "
    "this host's evidence first (with the same collector as `wmidoctor collect`).\n\n"
    "Exit codes: 0 no finding at warning level or above; 1 problems found; 2 usage error or "
    "unreadable PATH."
)
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@format_option(
    FORMATS,
    "text for people, json for machines (schema: wmidoctor/schemas/report.schema.json), jsonl for a "
    "SIEM (one finding per line, passed and skipped checks left out), html for a self-contained page.",
)
@json_flag
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE.")
@click.option("--only", metavar="GROUP[,GROUP]", help="Run only these check groups (e.g. dcom,firewall).")
@click.option(
    "--capture",
    "captures",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A packet capture (pcap/pcapng) of remote WMI to this host, read as connectivity evidence; "
    "captures at the top of a bundle folder are read too.",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="In text, list every passed and skipped check (by default: one line per group).",
)
@click.option(
    "--list-checks",
    is_flag=True,
    help="List every check diagnose runs (id, severity, title; with --json also group and evidence needed), "
    "then exit without reading any evidence.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="Skip the expensive reading: no repository read or verification, no parsing of the Autorecover "
    "MOFs, and only the newest 4 MiB of each larger .evtx log. The report's evidence summary says what "
    "was left out; checks that need it report `skipped`.",
)
def command(
    path: Path | None,
    fmt: str,
    as_json: bool,
    out: Path | None,
    only: str | None,
    verbose: bool,
    quick: bool,
    captures: tuple[Path, ...],
    list_checks: bool,
) -> int:
    fmt = chosen_format(fmt, as_json)
    if list_checks:
        return _list_checks(fmt, path, out)
    if path is None:
        path = collect_live()
    refuse_writing_into(out, [path])
    groups = [g.strip() for g in only.split(",") if g.strip()] if only else None
    evidence = load_evidence(path, quick=quick)
    _add_captures(evidence, path, list(captures))
    report = diagnose_evidence(evidence, source=str(path), only=groups, quick=quick)
    colour = fmt == "text" and out is None and use_colour(sys.stdout)
    from wmidoctor.report import render

    write_output(render(report, fmt, colour=colour, verbose=verbose), str(out) if out else None)
    return report.exit_code
