"""`netsh int ipv4 show dynamicport tcp`: the start and size of the TCP dynamic (ephemeral) port range.

English output:

    Protocol tcp Dynamic Port Range
    ---------------------------------
    Start Port      : 49152
    Number of Ports : 16384

netsh translates the labels but always prints the start before the count, so an output whose labels are
not English is still read from its two numeric lines, in order, with `language = ""`.
"""

from __future__ import annotations

from dataclasses import dataclass

from wmidoctor.artifacts.cmdout.text import FIELD, lines

_START = "start port"
_COUNT = "number of ports"


@dataclass
class DynamicPortRange:
    start: int | None
    count: int | None
    language: str  # "en", or "" when the labels were not English (values then read by position)
    start_line: int = 0  # 1-based line numbers of the values, for locators
    count_line: int = 0


def parse_dynamic_ports(text: str) -> DynamicPortRange:
    numeric: list[tuple[str, int, int]] = []  # (label, value, line)
    for number, line in enumerate(lines(text), 1):
        match = FIELD.match(line)
        if match and match.group(2).strip().isdigit():
            numeric.append((match.group(1).strip().lower(), int(match.group(2).strip()), number))
    labelled = {label: (value, number) for label, value, number in numeric}
    if _START in labelled and _COUNT in labelled:
        (start, start_line), (count, count_line) = labelled[_START], labelled[_COUNT]
        return DynamicPortRange(start, count, "en", start_line, count_line)
    if len(numeric) == 2:
        (_, start, start_line), (_, count, count_line) = numeric
        return DynamicPortRange(start, count, "", start_line, count_line)
    return DynamicPortRange(None, None, "")
