"""`wmidoctor logs PATH...`: what the WMI, DCOM and service event logs say went wrong."""

from __future__ import annotations

import click

from wmidoctor.commands.options import chosen_format, format_option, json_flag
from wmidoctor.errors import InputError

FORMATS = ("text", "json", "csv", "html")


def _help() -> str:
    """The verb's help, listing the JSON-lines export shapes the reader recognises."""
    from wmidoctor.artifacts.jsonl import MAX_LINE_BYTES, SHAPES

    shapes = "\n".join(f"  {name}: {what}" for name, what in SHAPES.items())
    return (
        "Analyse WMI, DCOM and service event logs: .evtx files, XML exports, and JSON-lines exports from "
        "SIEMs and collection tools.\n\n"
        "PATH is a log file, a folder (searched recursively for *.evtx, *.xml, *.json, *.jsonl, *.ndjson, *.csv, "
        "also gzip-compressed as *.gz) or a .zip (a bundle or zipped exports); the format is told by content. "
        "Reads WMI-Activity/Operational (5857-5861, Trace 11/12), Application (Microsoft-Windows-WMI / "
        "WinMgmt), System (DCOM; Service Control Manager events about Winmgmt, RpcSs, DcomLaunch, "
        "RpcEptMapper, wmiApSrv, WinRM), Sysmon 19/20/21 and, to name client processes, Sysmon 1 and "
        "Security 4688.\n\n"
        "JSON exports hold one record per line (or a JSON array or search response of records), Log Analytics "
        "CSV exports one row per record; the shape is recognised per record, so mixed files are read. Records "
        "of no known shape are counted and reported; "
        f"damaged lines (not JSON, not UTF-8, cut short, over {MAX_LINE_BYTES >> 20} MiB) count as damage. "
        "Shapes recognised:\n\n\b\n" + shapes + "\n\n"
        "Problems are judged by the same checks as `wmidoctor diagnose` on the same logs (client failures "
        "matched against the known-harmless patterns, then judged by recurrence; provider loads; quota kills; "
        "DCOM denials; service failures; subscriptions and WMI-started processes).\n\n"
        "Exit codes: 0 no finding at warning level or above; 1 problems found; 2 usage error, no readable "
        "log at all, or a time window that excludes every event."
    )


def _refuse_an_empty_window(analysis, start: str, end: str) -> None:
    """A time window that holds none of the evidence would read as a clean bill of health: exit 2 instead,
    naming the evidence's own time range."""
    if not (start or end) or any(stats.first_seen for stats in analysis.logs):
        return
    firsts = [s.records_first for s in analysis.logs if s.records_first]
    lasts = [s.records_last for s in analysis.logs if s.records_last]
    if not firsts:
        return
    raise InputError(
        f"the time window {start or '…'} .. {end or '…'} UTC holds none of the evidence, which runs "
        f"from {min(firsts)[:19]} to {max(lasts)[:19]} UTC; widen --since/--until"
    )


class _HelpWhenAsked(click.Command):
    """The help lists the JSON-lines reader's export shapes: that reader is imported only when the help is shown,
    not every time the verb starts."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.help is None:
            self.help = _help()
        super().format_help_text(ctx, formatter)


@click.command(
    name="logs",
    cls=_HelpWhenAsked,
    context_settings={"help_option_names": ["-h", "--help"]},
    short_help="Analyse WMI, DCOM and service event logs (.evtx, XML, JSON-lines and CSV exports).",
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--since",
    metavar="TIME",
    help="Only events at or after TIME: 2024-05-01, 2024-05-01T13:00 "
    "(UTC unless an offset is given) or an age such as 24h, 7d.",
)
@click.option("--until", metavar="TIME", help="Only events at or before TIME (a bare date means its end).")
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    metavar="N",
    help="Processes reading the log files (default: one per core when the files hold more than 16 MiB; 1: this "
    "process only). The report is the same whatever N.",
)
@format_option(
    FORMATS,
    "text for people; json (schema wmidoctor.logs/2) for machines; csv: one row per event "
    "group; html: one self-contained file.",
)
@json_flag
@click.option("--out", metavar="FILE", help="Write the report to FILE instead of standard output.")
def command(
    paths: tuple[str, ...],
    since: str | None,
    until: str | None,
    jobs: int | None,
    fmt: str,
    as_json: bool,
    out: str | None,
) -> None:
    from wmidoctor.logs.render import render
    from wmidoctor.logs.report import build_report
    from wmidoctor.logs.run import analyse
    from wmidoctor.logs.window import parse_time
    from wmidoctor.output import refuse_writing_into, use_colour, write_output

    fmt = chosen_format(fmt, as_json)
    refuse_writing_into(out, list(paths))
    start = parse_time(since) if since else ""
    end = parse_time(until, end_of_day=True) if until else ""
    if start and end and start > end:
        raise InputError(f"--since ({start}) is after --until ({end})")
    analysis = analyse(list(paths), start, end, jobs)
    if not analysis.logs:
        raise InputError("no event logs (.evtx, XML or JSON-lines exports) found in " + ", ".join(paths))
    if all(stats.unreadable for stats in analysis.logs):
        first = analysis.logs[0]
        raise InputError(f"cannot read {first.path}: {first.problems[0] if first.problems else 'unreadable'}")
    _refuse_an_empty_window(analysis, start, end)
    from wmidoctor.checks import run_checks
    from wmidoctor.findings import exit_code
    from wmidoctor.sources.events import log_evidence

    findings = [run.finding for run in run_checks(log_evidence(analysis))]  # diagnose's checks, same evidence
    report = build_report(analysis, findings, start, end)
    write_output(render(report, fmt, colour=not out and fmt == "text" and use_colour()), out)
    raise SystemExit(exit_code(findings))
