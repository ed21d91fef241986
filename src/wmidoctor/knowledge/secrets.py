"""Secrets written into evidence (a consumer's command line with a password, a URL with user:password@, an
Authorization header) are masked before anything is shown or written. The forms are data,
`secret_patterns.tsv`: each row a regular expression for what comes just before a secret, with its reason and
a public source (matched without regard to case); the secret that follows is replaced by MASK.

The secret is taken up to the first space, quote, backslash, angle bracket or ampersand, so masking inside a
JSON document or an HTML page never eats its syntax (a quote closing a JSON string, an escaped quote, a tag)."""

from __future__ import annotations

import csv
import re
from functools import cache

from wmidoctor.knowledge import data_text

MASK = "[masked]"
# What ends a secret: white space, quotes, a backslash (a JSON escape), HTML's < > &, and per row more (the @ that
# ends the password of user:password@host).
_ENDS = "\\s\"'\\\\<>&"
# An optional opening quote as text, JSON (\") or HTML (&#34; &#39; &quot;) writes it.
_OPEN = r"(?P<open>\\?[\"']|&#34;|&#39;|&quot;)?"


@cache
def _rows() -> tuple[dict[str, str], ...]:
    text = data_text("secret_patterns.tsv")
    rows = tuple(csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    if any(not row["reason"] or not row["source"].startswith("https://") for row in rows):
        raise ValueError("secret_patterns.tsv: every row needs a reason and a public source")
    return rows


def _expression(row: dict[str, str]) -> str:
    """One row as a regular expression: what comes before the secret (group `pre`), then the secret."""
    return f"(?P<pre>(?:{row['pattern']}){_OPEN})(?P<secret>[^{_ENDS}{re.escape(row['ends_at'])}]+)"


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(_expression(row), re.IGNORECASE) for row in _rows())


def dotnet_patterns() -> tuple[str, ...]:
    """The same expressions in .NET's syntax (named groups written `(?<name>`), for the collector, which
    replaces each match with `${pre}` and MASK (PowerShell's -replace ignores case)."""
    return tuple(_expression(row).replace("(?P<", "(?<") for row in _rows())


def _masked(match: re.Match[str]) -> str:
    return match.group("pre") + MASK


def mask_secrets(text: str) -> str:
    """`text` with every secret of a known form replaced by MASK (the text around it kept)."""
    for pattern in _patterns() if text else ():
        text = pattern.sub(_masked, text)
    return text
