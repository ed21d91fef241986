"""`wmidoctor explain CODE... [--json]` and `wmidoctor explain --search TEXT`.

Each CODE may be any pasted form (hex, decimal, symbol, scripting name, NTSTATUS or RPC status name) or a
whole pasted message ("Exception from HRESULT: 0x800706BA"), from which the code-like tokens are taken.
Valid codes are always explained; when some arguments are not codes at all, they are named on one stderr
line after the output and the exit code is 2.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json, use_colour, write_output

if TYPE_CHECKING:  # the catalogue's module is imported when a code is explained, not to show --help
    from wmidoctor.knowledge.codes import Explanation


def _explanations_for(argument: str) -> list[Explanation]:
    """One argument -> its explanations; anything else is read as a pasted message ("hr=0x80041003",
    "Exception from HRESULT: 0x800706BA") and the codes inside it are explained."""
    from wmidoctor.knowledge.codes import explain, find_codes

    try:
        return [explain(argument)]
    except InputError:
        pass
    values = find_codes(argument)
    if not values:
        raise InputError(f"no error code found in {argument!r}")
    return [explain(f"0x{value:08X}") for value in values]


class _Text:
    """Plain-text rendering, styled only when the output is a terminal."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour
        self.width = max(60, min(110, _terminal_columns()))

    def style(self, text: str, fg: str | None = None, bold: bool | None = None) -> str:
        return click.style(text, fg=fg, bold=bold) if self.colour else text

    def field(self, label: str, text: str) -> list[str]:
        indent = " " * 16
        body = textwrap.wrap(text, self.width - len(indent)) or [""]
        return [f"  {self.style(label.ljust(14), bold=True)}{body[0]}", *(indent + line for line in body[1:])]

    def numbered(self, index: int, text: str) -> list[str]:
        return textwrap.wrap(text, self.width, initial_indent=f"    {index}. ", subsequent_indent=" " * 7)

    def render(self, item: Explanation) -> str:
        title = f"{item.hex}  {item.symbol or '(not in the catalogue)'}"
        colour = "green" if item.severity == "success" else "red" if item.known else "yellow"
        lines = [self.style(title, fg=colour, bold=True)]
        if item.input.upper() not in (item.hex.upper(), item.symbol.upper()):
            lines += self.field("input", item.input)
        if len(item.names) > 1:
            lines += self.field("also known as", ", ".join(item.names[1:]))
        lines += self.field("numbers", f"hex {item.hex}   unsigned {item.unsigned}   signed {item.signed}")
        decoded = (
            f"{item.kind.upper() if item.kind != 'hresult' else 'HRESULT'}, severity {item.severity}, "
            f"facility {item.facility}"
        )
        if item.win32 is not None:
            decoded += f", Win32 error {item.win32}"
        lines += self.field("decoded", decoded)
        lines += self.field("layer", item.layer)
        lines += self.field("meaning", item.meaning)
        if item.note:
            lines += self.field("note", item.note)
        if item.causes:
            lines.append(f"  {self.style('likely causes (most likely first)', bold=True)}")
            for index, cause in enumerate(item.causes, 1):
                lines += self.numbered(index, cause)
        if item.fixes:
            lines.append(f"  {self.style('fixes (least invasive first)', bold=True)}")
            for index, fix in enumerate(item.fixes, 1):
                risk = f" [risk: {fix.risk}]" if fix.risk != "none" else ""
                lines += self.numbered(index, fix.step + risk)
                for command_line in fix.command.splitlines():
                    lines.append("         " + self.style(f"> {command_line}", fg="cyan"))
        if item.caution:
            lines += self.field("caution", item.caution)
        lines += self.listing("related", [_related_label(code) for code in item.related])
        lines += self.listing("read", list(item.links))
        return "\n".join(lines)

    def listing(self, label: str, items: list[str]) -> list[str]:
        """One item per line (URLs and 'code symbol' pairs must not be broken by wrapping)."""
        return [
            f"  {self.style(label.ljust(14), bold=True) if index == 0 else ' ' * 14}{entry}"
            for index, entry in enumerate(items)
        ]


def _terminal_columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:  # not a terminal
        return 100


def _related_label(hex_code: str) -> str:
    from wmidoctor.knowledge.codes import lookup

    symbol = lookup(int(hex_code, 16)).symbol
    return f"{hex_code} {symbol}" if symbol else hex_code


# ignore_unknown_options lets negative decimals such as -2147217405 through as CODE arguments.
@click.command(context_settings={"help_option_names": ["-h", "--help"], "ignore_unknown_options": True})
@click.argument("codes", nargs=-1, metavar="CODE...")
@click.option("--search", "search_text", metavar="TEXT", help="Find entries by words in their meaning or causes.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON list, one object per code (see schemas/explain.schema.json).",
)
def command(codes: tuple[str, ...], search_text: str | None, as_json: bool) -> None:
    """Decode WMI, COM/DCOM, RPC, Win32 and NTSTATUS codes: meaning, likely causes, ordered fixes.

    CODE may be 0x80041003, 80041003, -2147217405, 2147749891, WBEM_E_ACCESS_DENIED,
    wbemErrAccessDenied, E_ACCESSDENIED, RPC_S_SERVER_UNAVAILABLE, rpc_s_access_denied,
    STATUS_LOGON_FAILURE, a Win32 number such as 5 or 1722, or a pasted message containing a code.
    """
    if search_text is not None and codes:
        raise click.UsageError("give CODEs or --search TEXT, not both")
    if search_text is None and not codes:
        raise click.UsageError("give at least one CODE to explain, or --search TEXT")
    if search_text is not None and not search_text.strip():
        raise click.UsageError("--search needs words to look for")
    rejected: list[str] = []
    if search_text is not None:
        from wmidoctor.knowledge.codes import search

        results = [replace(item, input=search_text) for item in search(search_text)]
    else:
        results = []
        for argument in codes:
            try:
                results += _explanations_for(argument)
            except InputError:
                rejected.append(argument)
    if as_json:
        write_output(dumps_json([item.to_dict() for item in results]), None)
    elif results:
        renderer = _Text(use_colour())
        write_output("\n\n".join(renderer.render(item) for item in results), None)
    elif search_text is not None:
        write_output(f"No catalogue entry mentions {search_text!r}.", None)
    if rejected:
        names = ", ".join(repr(argument) for argument in rejected)
        raise InputError(f"not an error code or known code name: {names}")
