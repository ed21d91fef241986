"""Shell completion as the README sets it up: the script for each shell, then verbs and options completed."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _wmidoctor_completion wmidoctor"),
        ("zsh", "#compdef wmidoctor"),
        ("fish", "function _wmidoctor_completion"),
    ],
)
def test_the_completion_script_of_each_shell(cli, shell, marker):
    result = cli(env={"_WMIDOCTOR_COMPLETE": f"{shell}_source"})
    assert (result.returncode, result.stderr) == (0, "")
    assert marker in result.stdout


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("wmidoctor di", "plain,diagnose"),
        ("wmidoctor diagnose --list-ch", "plain,--list-checks"),
        ("wmidoctor repo per", "plain,persistence"),
    ],
)
def test_bash_completes_verbs_and_options(cli, words, expected):
    env = {"_WMIDOCTOR_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    result = cli(env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [expected]
