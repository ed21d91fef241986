"""User-controlled depth in MOF (nested arrays, embedded instances) is bounded: a statement nested deeper than
the limit becomes a diagnostic, never a RecursionError (hand-made hostile inputs, made by the tests)."""

import json
import subprocess
import sys

import pytest

from wmidoctor.artifacts.mof.parser import MAX_VALUE_NESTING, parse_text


def _arrays(depth: int) -> str:
    return "instance of X { a = " + "{" * depth + "1" + "}" * depth + "; };\n"


def _instances(depth: int) -> str:
    return "instance of X { a = " + "instance of Y { b = " * depth + "1" + "; }" * depth + "; };\n"


@pytest.mark.parametrize("make", [_arrays, _instances])
def test_nesting_at_the_limit_is_kept_and_beyond_it_refused(make):
    kept = parse_text(make(MAX_VALUE_NESTING - 1) + "class Z { uint32 k; };\n")
    assert [d.code for d in kept.diagnostics] == [] and len(kept.statements) == 2
    refused = parse_text(make(MAX_VALUE_NESTING + 1) + "class Z { uint32 k; };\n")
    assert [d.code for d in refused.diagnostics] == ["MOF-NESTING"]
    assert [type(s).__name__ for s in refused.statements] == ["ClassDecl"]  # the rest of the file is still read


@pytest.mark.parametrize(("make", "depth"), [(_arrays, 500), (_arrays, 20_000), (_instances, 1_000)])
@pytest.mark.parametrize("verb", [["parse", "--json"], ["lint"], ["lint", "--format", "sarif"]])
def test_verbs_give_a_diagnostic_not_an_internal_error(tmp_path, make, depth, verb):
    path = tmp_path / "deep.mof"
    path.write_text(make(depth))
    result = subprocess.run(
        [sys.executable, "-m", "wmidoctor", "mof", *verb, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode in (0, 1), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if verb[-1] == "--json":
        assert json.loads(result.stdout)["diagnostics"][0]["code"] == "MOF-NESTING"
    else:
        assert "nested deeper than" in result.stdout
