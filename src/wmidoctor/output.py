"""Small helpers every verb shares for writing results: JSON for machines, colour only on a terminal.

`wmidoctor explain` imports this at start-up, so pathlib (with urllib and ipaddress behind it, a few
milliseconds) is imported only by the helpers that take file paths.
"""

from __future__ import annotations

import json
import os
import sys
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
    """Write to --out FILE (call `refuse_writing_into` first) or to stdout."""
    if out and out != "-":
        from pathlib import Path

        Path(out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
