"""The blocks of the collector script that are generated from the package, so the script and the loader
cannot disagree: the artifact table (`sources.artifacts`) and the secret forms the collector masks
(`knowledge/secret_patterns.tsv`). Tests fail when a block is out of step;
`python -m wmidoctor.sources.collector_script [PATH]` rewrites them."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from wmidoctor.knowledge.secrets import MASK, dotnet_patterns
from wmidoctor.sources.artifacts import BEGIN_MARK, END_MARK, powershell_table, ps_string

SECRETS_BEGIN = "# BEGIN SECRET FORMS (generated from src/wmidoctor/knowledge/secret_patterns.tsv; do not edit by hand)"
SECRETS_END = "# END SECRET FORMS"
DEFAULT_SCRIPT = Path("collect/Collect-WmiDoctor.ps1")


def secret_table() -> str:
    """The secret forms as .NET regular expressions, and the text that replaces a secret."""
    lines = [SECRETS_BEGIN, f"$SecretMask = {ps_string(MASK)}", "$SecretPatterns = @("]
    lines += [f"    {ps_string(pattern)}" for pattern in dotnet_patterns()]
    lines += [")", SECRETS_END]
    return "\n".join(lines)


BLOCKS: tuple[tuple[str, str, Callable[[], str]], ...] = (
    (BEGIN_MARK, END_MARK, powershell_table),
    (SECRETS_BEGIN, SECRETS_END, secret_table),
)


def sync_script(path: Path) -> bool:
    """Rewrite every generated block of the collector script; True when the file changed."""
    text = path.read_text(encoding="utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    updated = text
    for begin, end, make in BLOCKS:
        found = re.search(re.escape(begin) + r".*?" + re.escape(end), updated, re.S)
        if found is None:
            raise ValueError(f"{path}: no '{begin}' ... '{end}' block")
        updated = updated[: found.start()] + make().replace("\n", newline) + updated[found.end() :]
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8-sig")
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SCRIPT
    print(f"{target}: {'updated' if sync_script(target) else 'already in step'}")
