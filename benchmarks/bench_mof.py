"""MOF parse rate over the whole corpus mof folder (target >= 1 MB/s, issue 8).

Baselines measured in the same run: lark with the same grammar building a parse tree (the plain way
to use lark, before any model is made), and reading + decoding the bytes alone (the floor).
The grammars are compiled before timing, as in a long run.
"""

from __future__ import annotations

import contextlib
import sys

from lark import Lark
from lark.exceptions import UnexpectedInput

from harness import CORPUS, best_of, corpus_available, figure
from wmidoctor.artifacts.mof.decode import decode_mof
from wmidoctor.artifacts.mof.parser import GRAMMAR, default_parser, parse_bytes
from wmidoctor.moflint import lint_documents


def main() -> int:
    if not corpus_available():
        return 0
    paths = sorted(p for p in (CORPUS / "mof").rglob("*") if p.suffix.lower() in (".mof", ".mfl"))
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    default_parser()  # build the LALR tables outside the timed runs

    def read_only() -> None:
        for path in paths:
            decode_mof(path.read_bytes())

    def parse_all() -> list:
        return [parse_bytes(path.read_bytes(), str(path)) for path in paths]

    tree_parser = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="contextual")

    def tree_all() -> None:
        for path in paths:
            # The broken corpus files raise; our parser reports them and resumes instead.
            with contextlib.suppress(UnexpectedInput):
                tree_parser.parse(decode_mof(path.read_bytes())[0])

    parse_seconds = best_of(parse_all)
    figure(f"mof parse to model ({len(paths)} files, {megabytes:.2f} MB)", megabytes / parse_seconds, "MB/s",
           megabytes / best_of(tree_all), "lark parse tree", target=">= 1 MB/s")
    figure("read + decode only (floor)", megabytes / best_of(read_only), "MB/s")
    documents = parse_all()
    figure("mof parse + lint", megabytes / best_of(lambda: lint_documents(parse_all())), "MB/s",
           megabytes / parse_seconds, "parse only")
    statements = sum(len(d.statements) for d in documents)
    figure("statements per second (parse)", statements / parse_seconds, "stmt/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
