"""Every verb answers bad input and bad usage with one error line and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

# repo's other subcommands open PATH the same way as verify.
VERBS = [("logs",), ("registry",), ("diagnose",), ("repo", "verify")]


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_bad_paths_end_in_one_error_line(cli, bad_inputs, one_line_error, verb):
    for what, path in bad_inputs.items():
        result = cli(*verb, str(path))
        one_line_error(result)
        assert result.stdout == "", what


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_unknown_option_and_missing_argument(cli, bad_inputs, one_line_error, verb):
    one_line_error(cli(*verb, "--no-such-option", str(bad_inputs["empty folder"])))
    one_line_error(cli(*verb))


@pytest.mark.parametrize("verb", [("logs",), ("diagnose",)], ids=" ".join)
def test_json_and_another_format_conflict(cli, bad_inputs, one_line_error, verb):
    result = cli(*verb, "--json", "--format", "html", str(bad_inputs["empty folder"]))
    one_line_error(result)
    assert "--json and --format html conflict" in result.stderr
