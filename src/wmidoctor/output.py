"""Small helpers every verb shares for writing results: JSON for machines, colour only on a terminal.

`wmidoctor explain` imports this at start-up, so pathlib (with urllib and ipaddress behind it, a few
milliseconds) is imported only by the helpers that take file paths.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pathlib import Path


def dumps_json(data: Any) -> str:
    """Indented JSON in field order (the order is part of the documented shape), UTF-8 kept as is."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour on a terminal only, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return stream.isatty() and not os.environ.get("NO_COLOR")


def refuse_writing_into(out: str | Path | None, inputs: list[str] | list[Path]) -> None:
    """Raise InputError when --out is one of the inputs or lies inside an input folder (evidence is read-only)."""
    from pathlib import Path

    from wmidoctor.errors import InputError

    if not out or str(out) == "-":
        return
    target = Path(out).resolve()
    for path in inputs:
        source = Path(path).resolve()
        if target == source or source in target.parents:
            raise InputError(f"--out {out} would write into the evidence being read ({path}); choose another file")


def write_output(text: str, out: str | None) -> None:
    """Write to --out FILE (call `refuse_writing_into` first) or to stdout, made safe to show either way."""
    if out and out != "-":
        from pathlib import Path

        Path(out).write_text(terminal_safe(text if text.endswith("\n") else text + "\n"), encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


# Characters evidence may carry that a terminal or viewer acts on: C0 controls but tab and newline (ESC starts
# screen clears, OSC 8 links, title changes; CR overwrites a line; BEL rings), DEL, C1 controls (0x9B is a
# one-byte CSI) and the Unicode bidirectional overrides that make text read differently from what it is.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHAR = re.compile(f"[{_UNSAFE}]")
_UNSAFE_OR_COLOUR = re.compile(f"\x1b\\[[0-9;]*m|[{_UNSAFE}]")


def _escaped(match: re.Match[str]) -> str:
    text = match.group()
    return text if len(text) > 1 else f"\\u{ord(text):04x}"


def terminal_safe(text: str, keep_colour: bool = False) -> str:
    """`text` with secrets of known forms masked (knowledge/secrets.py) and every unsafe character written as a
    visible \\uXXXX escape. The escape is also JSON's, so a
    JSON document stays valid and decodes to the same strings. With `keep_colour`, SGR colour sequences (our own
    colouring on a terminal) are kept."""
    from wmidoctor.knowledge.secrets import mask_secrets

    text = mask_secrets(text)  # a password in a consumer's command line is evidence, but never shown
    pattern = _UNSAFE_OR_COLOUR if keep_colour else _UNSAFE_CHAR
    if not pattern.search(text):
        return text
    return pattern.sub(_escaped, text)


class _SafeStream(io.TextIOBase):
    """A text stream that passes everything written to it through `terminal_safe` on the way to `target`."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._keep_colour = use_colour(target)

    def write(self, text: str | bytes) -> int:
        # click writes bytes here when a stream has no binary buffer (its shell-completion script does); a
        # buffer would be a way around the sanitising, so bytes are decoded and sanitised like text.
        if isinstance(text, bytes):
            text = text.decode(self.encoding, "replace")
        self._target.write(terminal_safe(text, self._keep_colour))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._target, "errors", "strict")


def guard_streams() -> None:
    """Route stdout and stderr through `terminal_safe`: every verb's output, whatever writes it, is safe to show."""
    if not isinstance(sys.stdout, _SafeStream):
        sys.stdout = _SafeStream(sys.stdout)
    if not isinstance(sys.stderr, _SafeStream):
        sys.stderr = _SafeStream(sys.stderr)


# Spreadsheet programs run a cell that starts with one of these as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: a string starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with every cell made safe for spreadsheets (the one CSV writer of every verb)."""
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


# --- text layout: the one set of table and wrapping helpers every verb's text view uses ----------------

_MIN_LAST_COLUMN = 28  # a wrapping last column (a query, a consumer path) is never narrower than this
_CELL_BREAKS = re.compile(r"[^ ,:|\\\\]*(?:[ ,:|\\\\]+|$)")


def _line_width() -> int:
    """The terminal's width (or $COLUMNS), 120 when not a terminal; never narrower than 80."""
    import shutil

    return max(80, shutil.get_terminal_size((120, 24)).columns)


def cut_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], caps: Sequence[int | None], indent: str = ""
) -> list[str]:
    """A header line and one line per row, each column as wide as its widest cell up to its cap (None: no cap);
    a longer cell is cut at the cap. For tables whose full values are in the JSON."""
    cells = [[cell if cap is None else cell[:cap] for cell, cap in zip(row, caps, strict=True)] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]

    def join(values: Sequence[str]) -> str:
        return (indent + "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True))).rstrip()

    return [join(headers), *(join(row) for row in cells)]


def _wrap_cell(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width`, broken after spaces, commas, colons, bars and backslashes (so a
    hosting model like NetworkServiceHost:[Name] or a namespace path breaks where it reads well); a piece
    longer than the width is cut."""
    width = max(width, 1)
    lines = [""]
    for piece in _CELL_BREAKS.findall(text):
        if lines[-1] and len(lines[-1]) + len(piece.rstrip()) > width:
            lines.append("")
        lines[-1] += piece if lines[-1] else piece.lstrip()
        while len(lines[-1].rstrip()) > width:
            lines[-1], rest = lines[-1][:width], lines[-1][width:]
            lines.append(rest)
    return [line.rstrip() for line in lines]


def wrapped_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    caps: Sequence[int],
    min_last: int = _MIN_LAST_COLUMN,
    indent: str = "  ",
) -> tuple[str, list[list[str]]]:
    """A header line and each row's lines, under columns as wide as their widest cell up to their cap (one cap
    per column but the last, which takes what is left of the line). A longer cell wraps onto continuation
    lines while the cells beside it stay in their columns: for tables whose text view shows every value."""
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    widths[:-1] = [min(width, cap) for width, cap in zip(widths[:-1], caps, strict=True)]
    used = len(indent) + sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = min(widths[-1], max(min_last, _line_width() - used))

    def join(cells: Sequence[str]) -> str:
        return (indent + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))).rstrip()

    laid_out = []
    for row in rows:
        cells = [_wrap_cell(cell, width) for cell, width in zip(row, widths, strict=True)]
        laid_out.append([join([c[n] if n < len(c) else "" for c in cells]) for n in range(max(map(len, cells)))])
    return join(headers), laid_out


def aligned_fields(pairs: Sequence[tuple[str, str]], indent: str) -> list[str]:
    """`label: value` lines with the values aligned; a multi-line value (a script) keeps its lines, each under
    the first, left-aligned; a long one-line value wraps at spaces."""
    import inspect
    import textwrap

    if not pairs:
        return []
    label_width = max(len(label) for label, _ in pairs) + 2
    pad = indent + " " * label_width
    lines = []
    for label, value in pairs:
        if "\n" in value:
            # Scripts are stored with their editor's indentation and blank lines: show them left-aligned.
            body = inspect.cleandoc(value).splitlines()
        else:
            body = textwrap.wrap(
                value, max(_MIN_LAST_COLUMN, _line_width() - len(pad)), break_long_words=False, break_on_hyphens=False
            ) or [""]
        lines.append(f"{indent}{label + ':':<{label_width}}{body[0]}".rstrip())
        lines.extend(f"{pad}{line}".rstrip() for line in body[1:])
    return lines
