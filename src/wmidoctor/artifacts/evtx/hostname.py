"""The computer name an event log was written on: the `Computer` field of its first records.

Cheap by design: only the first few records are decoded, and a damaged file gives what it can (or nothing).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path

from wmidoctor.artifacts.evtx.binary import EVTX_MAGIC

_JSON_COMPUTER = re.compile(r'"Computer":"([^"\\]+)"')
_XML_COMPUTER = re.compile(r"<Computer>([^<]+)</Computer>")
SAMPLE = 50  # records looked at per log
XML_HEAD = 1 << 20


def computer_names(path: Path) -> Counter[str]:
    """How often each Computer value appears among the first SAMPLE records of the log at `path`."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(EVTX_MAGIC))
            if head != EVTX_MAGIC:
                head += handle.read(XML_HEAD - len(head))
    except OSError:
        return Counter()
    if head != EVTX_MAGIC:
        text = head.decode("utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8", errors="replace")
        return Counter(_XML_COMPUTER.findall(text)[:SAMPLE])
    import evtx

    names: Counter[str] = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damage is counted by the full read, not here
        try:
            for number, record in enumerate(
                evtx.PyEvtxParser(str(path), skip_errors=True, indent=False).records_json()
            ):
                # evtx's stub types next() as Optional, but the iterator ends with StopIteration, never None
                found = _JSON_COMPUTER.search(record.get("data", ""))  # type: ignore[union-attr]
                if found:
                    names[found.group(1)] += 1
                if number + 1 >= SAMPLE:
                    break
        except (OSError, RuntimeError, ValueError):
            pass
    return names
