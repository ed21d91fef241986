"""Large and long-line MOF: memory stays a small multiple of the input (no timing is asserted)."""

from __future__ import annotations

import re
import sys
import tracemalloc

import pytest

from wmidoctor.artifacts.mof import parse_bytes, parse_text
from wmidoctor.artifacts.mof.parser import grammar_text

MAX_PEAK_RATIO = 20  # tracemalloc peak / input bytes


def _peak_while(parse, data: bytes):
    tracemalloc.start()
    try:
        document = parse(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return document, peak


def test_a_megabytes_long_single_line_parses_with_bounded_memory():
    statement = 'instance of __Win32Provider as $P{n} {{ Name = "P{n}"; HostingModel = "NetworkServiceHost"; }}; '
    line = (
        "#pragma autorecover "  # a pragma ends at the end of its token, so the line may go on
        + "".join(statement.format(n=n) for n in range(2000))
        + 'instance of X { Big = "'
        + "a" * 2_000_000
        + '"; Escaped = "'
        + "\\n" * 150_000
        + '"; };'
    )
    data = line.encode("utf-8")
    assert b"\n" not in data
    document, peak = _peak_while(parse_bytes, data)
    assert document.ok, document.diagnostics[:3]
    assert len(document.providers) == 2000
    last = document.instances[-1]
    assert len(last.get("Big")) == 2_000_000 and last.get("Escaped") == "\n" * 150_000
    assert peak < MAX_PEAK_RATIO * len(data), f"peak {peak:,} bytes for {len(data):,} bytes of input"


def test_an_unterminated_string_on_a_huge_line_is_one_error_with_bounded_memory():
    data = ('class A { [key] string K = "' + "x" * 2_000_000 + "\n};\nclass B {};\n").encode()
    document, peak = _peak_while(parse_bytes, data)
    assert [d.code for d in document.diagnostics] == ["MOF-SYNTAX"]
    assert document.diagnostics[0].position.line == 1
    assert [c.name for c in document.classes] == ["B"], "reading resumed on the next statement"
    assert len(document.diagnostics[0].excerpt()) < 400
    assert peak < MAX_PEAK_RATIO * len(data), f"peak {peak:,} bytes for {len(data):,} bytes of input"


@pytest.mark.parametrize(
    "comment",
    [
        "/* plain */",
        "/** doc **/",
        "/***/",
        "/* a * b / c */",
        "/*\n * lines\n */",
        "// line\n",
        "/* one */ /* two */\n// three\n",
        "/* ** / */",
    ],
)
def test_comment_shapes_are_skipped(comment):
    document = parse_text(f"{comment}class A {comment} {{ {comment} [key] string K; }};\n")
    assert document.ok, document.diagnostics
    assert document.classes[0].properties[0].name == "K"


def test_unterminated_block_comment_is_a_syntax_error():
    assert not parse_text("class A {};\n/* never closed\nclass B {};\n").ok


def test_grammar_without_possessive_quantifiers_matches_the_same(monkeypatch):
    """Python 3.10's `re` has no possessive quantifiers: the grammar falls back to plain ones."""
    possessive = grammar_text()
    monkeypatch.setattr(sys, "version_info", (3, 10, 0))
    plain = grammar_text()
    changed = {a.split(":")[0] for a, b in zip(possessive.splitlines(), plain.splitlines(), strict=True) if a != b}
    assert changed == {"STRING", "GAP"}
    samples = [
        '"abc"',
        '"a\\"b\\\\"',
        '"unterminated',
        '""',
        " \t\n// c\n/* d ** e */ x",
        "/***/",
        "/* open",
        "/* a */ /** b **/\n\\\nx",
    ]
    for name in changed:
        pattern = re.compile(rf"^{name}: /(.*)/$", re.M)
        new, old = (re.compile(pattern.search(text).group(1)) for text in (possessive, plain))
        assert "++" not in old.pattern and "*+" not in old.pattern.replace("\\*+", "")
        for sample in samples:
            a, b = new.match(sample), old.match(sample)
            assert (a and a.group()) == (b and b.group()), (name, sample)
