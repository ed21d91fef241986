"""`winmgmt /verifyrepository` output (plus its exit code, which the collector records)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Win32 ERROR_INTERNAL_DB_CORRUPTION, as a plain exit code and as an HRESULT
DB_CORRUPTION_CODES = {1358, 0x8007054E}
ERROR_CODE = re.compile(r"(0x[0-9A-Fa-f]{8})")


@dataclass
class VerifyOutput:
    verdict: str  # consistent | inconsistent | unknown
    detail: str  # the output's own words, on one line
    language: str  # "en" when the English wording was recognised, "" otherwise
    error_code: int | None = None


def parse_verify(text: str, exit_code: int | None = None) -> VerifyOutput:
    """The verdict from the English message; without it, from the exit code (0 consistent, 1358 inconsistent)."""
    detail = " ".join(text.split())
    low = detail.lower()
    found = ERROR_CODE.search(detail)
    code = int(found.group(1), 16) if found else None
    if "repository is consistent" in low:
        return VerifyOutput("consistent", detail, "en", code)
    if "repository is inconsistent" in low or "repository is not consistent" in low:
        return VerifyOutput("inconsistent", detail, "en", code)
    english = "verification failed" in low or "access denied" in low or "error code" in low
    if code in DB_CORRUPTION_CODES or exit_code in DB_CORRUPTION_CODES:
        return VerifyOutput("inconsistent", detail, "en" if english else "", code)
    if not english and exit_code == 0 and detail:
        return VerifyOutput("consistent", detail, "", code)
    return VerifyOutput("unknown", detail or "no output", "en" if english else "", code)
