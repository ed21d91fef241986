"""MOF parse rate over the whole corpus mof folder (target >= 1 MB/s, issue 8), and memory on large input.

Baselines measured in the same run: lark with the same grammar building a parse tree (the plain way
to use lark, before any model is made), and reading + decoding the bytes alone (the floor).
The grammars are compiled before timing, as in a long run. Large inputs are built in a temporary
folder from the corpus files that read cleanly; peak memory is measured in a child process per input
(growth of the peak resident set over the parse), so one measurement does not hide another.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedInput

from harness import CORPUS, best_of, corpus_available, figure
from wmidoctor.artifacts.mof.decode import decode_mof
from wmidoctor.artifacts.mof.parser import default_parser, grammar_text, parse_bytes, parse_file
from wmidoctor.moflint import lint_documents

SINGLE_LINE_MB = 5


def corpus_rate(paths: list[Path], tree_parser: Lark) -> None:
    megabytes = sum(p.stat().st_size for p in paths) / 1e6

    def read_only() -> None:
        for path in paths:
            decode_mof(path.read_bytes())

    def parse_all() -> list:
        return [parse_bytes(path.read_bytes(), str(path)) for path in paths]

    def tree_all() -> None:
        for path in paths:
            # The broken corpus files raise; our parser reports them and resumes instead.
            with contextlib.suppress(UnexpectedInput):
                tree_parser.parse(decode_mof(path.read_bytes())[0])

    parse_seconds = best_of(parse_all)
    figure(
        f"mof parse to model ({len(paths)} files, {megabytes:.2f} MB)",
        megabytes / parse_seconds,
        "MB/s",
        megabytes / best_of(tree_all),
        "lark parse tree",
        target=">= 1 MB/s",
    )
    figure("read + decode only (floor)", megabytes / best_of(read_only), "MB/s")
    documents = parse_all()
    figure(
        "mof parse + lint",
        megabytes / best_of(lambda: lint_documents(parse_all())),
        "MB/s",
        megabytes / parse_seconds,
        "parse only",
    )
    statements = sum(len(d.statements) for d in documents)
    figure("statements per second (parse)", statements / parse_seconds, "stmt/s")


def single_line_text(megabytes: float) -> str:
    """One line: many provider registrations, then one huge string literal and one full of escapes."""
    statement = 'instance of __Win32Provider as $P{n} {{ Name = "P{n}"; HostingModel = "NetworkServiceHost"; }}; '
    statements = "".join(statement.format(n=n) for n in range(int(megabytes * 1e6 * 0.3) // len(statement)))
    rest = int(megabytes * 1e6) - len(statements)
    return (
        statements
        + 'instance of X { Big = "'
        + "a" * (rest * 3 // 4)
        + '"; Escaped = "'
        + "\\n" * (rest // 8)
        + '"; };\n'
    )


def single_line_rate(tree_parser: Lark) -> None:
    text = single_line_text(SINGLE_LINE_MB)
    data = text.encode()
    megabytes = len(data) / 1e6
    figure(
        f"single-line MOF ({megabytes:.1f} MB on one line)",
        megabytes / best_of(lambda: parse_bytes(data)),
        "MB/s",
        megabytes / best_of(lambda: tree_parser.parse(text)),
        "lark parse tree",
    )


def peak_growth_mb(path: Path) -> float:
    """Peak memory (MB) added by parsing `path`, measured in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--peak", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return float(out.split()[-1])


def memory(paths: list[Path]) -> None:
    clean = [text for text in (decode_mof(p.read_bytes())[0] for p in paths) if parse_bytes(text.encode()).ok]
    unit = "\n".join(clean) + "\n"
    with tempfile.TemporaryDirectory(prefix="bench-mof-") as folder:
        inputs = {f"{times}x corpus ({len(clean)} clean files)": unit * times for times in (1, 10)}
        inputs[f"single line ({SINGLE_LINE_MB} MB)"] = single_line_text(SINGLE_LINE_MB)
        for number, (name, text) in enumerate(inputs.items()):
            path = Path(folder) / f"input{number}.mof"
            path.write_text(text, encoding="utf-8")
            megabytes = path.stat().st_size / 1e6
            figure(f"peak memory, {name}, {megabytes:.1f} MB", peak_growth_mb(path), "MB", megabytes, "input size")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6  # the kernel counts KiB
    raise LookupError(field)


def child_peak(path: str) -> None:
    """Print the peak memory the parse adds. On Linux the kernel's peak-RSS mark is reset once the
    grammar is built (building it peaks higher than parsing a small file); elsewhere tracemalloc
    counts Python allocations, several times slower."""
    default_parser()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        import tracemalloc

        tracemalloc.start()
        parse_file(path)
        print(f"{tracemalloc.get_traced_memory()[1] / 1e6:.1f}")
        return
    before = _status_mb("VmRSS")
    parse_file(path)
    print(f"{_status_mb('VmHWM') - before:.1f}")


def table_reuse() -> None:
    """The parser's fixed cost per process: LALR tables loaded from the user's cache vs built from the grammar."""
    import os

    from wmidoctor.artifacts.mof.parser import MofParser, table_cache

    if table_cache() is None:
        print("mof grammar tables: no usable cache folder here; not measured")
        return
    MofParser()  # make sure the cache file exists
    cached = best_of(MofParser, repeat=5)
    os.environ["WMIDOCTOR_NO_CACHE"] = "1"
    try:
        built = best_of(MofParser, repeat=5)
    finally:
        del os.environ["WMIDOCTOR_NO_CACHE"]
    figure("mof grammar tables, loaded from the cache", cached * 1000, "ms", built * 1000, "built from the grammar")


def main() -> int:
    table_reuse()
    if not corpus_available():
        return 0
    paths = sorted(p for p in (CORPUS / "mof").rglob("*") if p.suffix.lower() in (".mof", ".mfl"))
    default_parser()  # build the LALR tables outside the timed runs
    tree_parser = Lark(grammar_text(), parser="lalr", lexer="contextual")
    corpus_rate(paths, tree_parser)
    single_line_rate(tree_parser)
    memory(paths)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        child_peak(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
