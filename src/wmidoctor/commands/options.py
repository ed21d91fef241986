"""Options several verbs share, so they read and behave the same everywhere."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar, overload

import click
from click.core import ParameterSource

from wmidoctor.errors import InputError

FC = TypeVar("FC", bound=Callable[..., object])

json_flag = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")


@overload
def chosen_format(fmt: str, as_json: bool, param: str = "fmt") -> str: ...
@overload
def chosen_format(fmt: str | None, as_json: bool, param: str = "fmt") -> str | None: ...
def chosen_format(fmt: str | None, as_json: bool, param: str = "fmt") -> str | None:
    """--json is a shortcut for --format json; given with another --format it is a usage error."""
    if not as_json:
        return fmt
    if (
        fmt not in (None, "json")
        and click.get_current_context().get_parameter_source(param) is not ParameterSource.DEFAULT
    ):
        raise InputError(f"--json and --format {fmt} conflict: pass one of them")
    return "json"


def format_option(formats: Sequence[str], help: str) -> Callable[[FC], FC]:
    """--format FORMAT (text by default): every verb's choice of output, with its own list and help."""
    return click.option("--format", "fmt", type=click.Choice(formats), default="text", show_default=True, help=help)
