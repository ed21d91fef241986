"""Microsoft-dialect MOF reader: `parse_file(path) -> MofDocument`, tolerant of bad input.

The model classes are re-exported from .model. Importing this package does not import lark: the
parse functions are looked up in .parser on first use (PEP 562), and the parser is built then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wmidoctor.artifacts.mof import model
from wmidoctor.artifacts.mof.model import *  # noqa: F403 - the model's __all__ is this package's too

if TYPE_CHECKING:
    from wmidoctor.artifacts.mof.parser import parse_bytes as parse_bytes
    from wmidoctor.artifacts.mof.parser import parse_file as parse_file
    from wmidoctor.artifacts.mof.parser import parse_text as parse_text

_PARSE_FUNCTIONS = ("parse_bytes", "parse_file", "parse_text")
__all__ = [*model.__all__, *_PARSE_FUNCTIONS]


def __getattr__(name: str) -> Any:
    if name in _PARSE_FUNCTIONS:
        from wmidoctor.artifacts.mof import parser

        return getattr(parser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
