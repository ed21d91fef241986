"""`wmidoctor trace FILE...`: who keeps WMI busy, according to a WMI-Activity trace."""

from __future__ import annotations

import click

from wmidoctor.commands.options import chosen_format, format_option, json_flag
from wmidoctor.errors import InputError

FORMATS = ("text", "json", "html")


@click.command(name="trace", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@format_option(
    FORMATS,
    "text for people; json (schema wmidoctor.trace/1) for machines; html: one self-contained "
    "file with a timeline per client.",
)
@json_flag
@click.option("--out", metavar="FILE", help="Write the report to FILE instead of standard output.")
def command(paths: tuple[str, ...], fmt: str, as_json: bool, out: str | None) -> None:
    """Analyse a WMI-Activity trace: operations per client process, namespace and query.

    FILE is the Trace channel of Microsoft-Windows-WMI-Activity (.evtx or an XML export), an ETL file of a
    session over the WMI-Activity provider, a folder holding them, or a bundle .zip (Collect-WmiDoctor.ps1
    -TraceSeconds N writes both). Start and stop events are paired into operations; the report gives
    count, WMI time, percentiles and failures per client, namespace and request, the provider loads, the
    slowest operations and those that never finished.

    Exit codes: 0 nothing at warning level; 1 one client dominates WMI's time under load, or operations
    ran for minutes without finishing; 2 usage error or no readable trace file.
    """
    from wmidoctor.output import refuse_writing_into, write_output
    from wmidoctor.trace.render import render
    from wmidoctor.trace.report import build_report
    from wmidoctor.trace.run import analyse

    fmt = chosen_format(fmt, as_json)
    refuse_writing_into(out, list(paths))
    run = analyse(list(paths))
    if not run.files:
        raise InputError("no trace files (.evtx, .xml or .etl) found in " + ", ".join(paths))
    if all(f.unreadable for f in run.files):
        first = run.files[0]
        raise InputError(f"cannot read {first.path}: {first.problems[0] if first.problems else 'unreadable'}")
    report = build_report(run)
    write_output(render(report, fmt), out)
    raise SystemExit(1 if report["summary"]["warnings"] else 0)
