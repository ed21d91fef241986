"""The collector script's syntax tree, parsed once per module that checks rules on it."""

from __future__ import annotations

import pytest
from tests.collector.test_script_rules import SCRIPT, Tree


@pytest.fixture(scope="module")
def tree() -> Tree:
    return Tree(SCRIPT.read_text(encoding="utf-8-sig"))
