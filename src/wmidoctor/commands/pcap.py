"""`wmidoctor pcap FILE...`: how far each remote WMI attempt in a packet capture got, and why it stopped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from wmidoctor.commands.options import chosen_format, json_flag
from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json, refuse_writing_into, write_output

F = TypeVar("F", bound=Callable[..., Any])


def port_option(name: str, help_text: str) -> Callable[[F], F]:
    """A repeatable port option: --rpc-port gives `rpc_ports`, a tuple of ports."""
    return click.option(
        name,
        name.removeprefix("--").replace("-", "_") + "s",
        type=click.IntRange(1, 65535),
        multiple=True,
        help=help_text,
    )


@click.command(name="pcap")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@json_flag
@port_option("--rpc-port", "Also treat this TCP port as an RPC endpoint-mapper port (e.g. a forwarded 135).")
@port_option("--wsman-port", "Also treat this TCP port as a WinRM listener.")
@port_option("--kdc-port", "Also treat this port as a Kerberos KDC (besides 88).")
@click.option("--out", metavar="FILE", help="Write the report to FILE instead of standard output.")
def command(
    files: tuple[str, ...],
    fmt: str,
    as_json: bool,
    rpc_ports: tuple[int, ...],
    wsman_ports: tuple[int, ...],
    kdc_ports: tuple[int, ...],
    out: str | None,
) -> None:
    """Read pcap/pcapng captures (also gzip) and report, per client -> target attempt over DCOM or WS-Man,
    what the wire shows (DNS, TCP, binds, authentication, calls, faults), the stages reached and a verdict
    with its fixes. Exit 0 when every attempt passed, 1 when one failed, 2 when a file is not a capture."""
    from wmidoctor.artifacts.pcap.capture import NotACapture
    from wmidoctor.pcap.analyse import analyse

    fmt = chosen_format(fmt, as_json) or "text"
    refuse_writing_into(out, list(files))
    reports = []
    for path in files:
        try:
            reports.append(analyse(path, frozenset(rpc_ports), frozenset(wsman_ports), frozenset(kdc_ports)))
        except NotACapture as exc:
            raise InputError(str(exc)) from exc
    data = [r.to_data() for r in reports]
    if fmt == "json":
        text = dumps_json({"schema": "wmidoctor.pcap/1", "captures": data})  # schemas/pcap.schema.json
    elif fmt == "html":
        from wmidoctor.pcap.render import capture_html

        text = capture_html(data)
    else:
        from wmidoctor.pcap.render import capture_text

        text = capture_text(data, [[f.result for f in r.findings] for r in reports])
    write_output(text, out)
    raise SystemExit(0 if all(r.passed for r in reports) else 1)
