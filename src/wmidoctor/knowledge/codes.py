"""The catalogue of error codes: any pasted form of a code in, a full explanation out.

The catalogue itself is data (`codes.json` beside this module, one entry per 32-bit value), read once on
first use. Everything here is standard library only, so `wmidoctor explain` starts fast and checks, log
tallies and probes can call `short_meaning` freely.

Numbers are kept as 32-bit unsigned values. A code is one of:
- an HRESULT (WMI's own 0x8004xxxx / 0x0004xxxx, COM, DCOM, SSPI, Win32 errors as 0x8007xxxx),
- an NTSTATUS (0xCxxxxxxx, what impacket and Samba print as STATUS_* / NT_STATUS_*),
- a DCE RPC fault (0x1C0xxxxx, impacket's nca_s_* names).
A bare Win32 error number (5, 1722) is read as the HRESULT Windows makes of it (0x80070005, 0x800706BA),
keeping its Win32 meaning.

MI_Result names (MI_RESULT_*, what the CIM cmdlets and WinRM's MI layer report) are names only: their numbers
(0-28) collide with Win32 errors, so a bare number always stays a Win32 error. Seventeen of them mean the same as
a WMI code and resolve to it; the others have their own small entries (kind "mi_result").
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

from wmidoctor.errors import InputError
from wmidoctor.vocabulary import Fix

if TYPE_CHECKING:
    from typing import Any

CATALOGUE_FILE = os.path.join(os.path.dirname(__file__), "codes.json")

# The layer vocabulary every entry uses (also the enum in schemas/explain.schema.json).
LAYERS = (
    "network/RPC",
    "DCOM/COM",
    "authentication",
    "WS-Man/WinRM",
    "WMI service",
    "WMI core",
    "provider",
    "repository",
    "MOF compiler",
    "event subsystem",
    "client",
    "system",
)

# HRESULT facility numbers (winerror.h) named where WMI users meet them.
_HRESULT_FACILITIES = {
    0: "NULL",
    1: "RPC",
    2: "DISPATCH",
    3: "STORAGE",
    4: "ITF",
    7: "WIN32",
    8: "WINDOWS",
    9: "SECURITY",
    10: "CONTROL",
    11: "CERT",
    12: "INTERNET",
    19: "URT",
    25: "HTTP",
    36: "WINDOWSUPDATE",
    51: "WINRM",
}
# NTSTATUS facility numbers (ntstatus.h) that show up in remote WMI failures.
_NTSTATUS_FACILITIES = {0: "none", 1: "DEBUGGER", 2: "RPC_RUNTIME", 3: "RPC_STUBS", 4: "IO_ERROR_CODE", 7: "NTWIN32"}
_NTSTATUS_SEVERITIES = ("success", "informational", "warning", "error")

_WIN32_HRESULT = 0x80070000
_NT_BIT = 0x10000000  # HRESULT_FROM_NT sets it on an NTSTATUS
_DECIMAL = re.compile(r"[+-]?\d+")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]{1,8}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PUNCTUATION = "()[]{}<>,;:'\"`.#"
# Words after which a small number in a pasted message is a Win32 error ("System error 5 has occurred.").
_ERROR_WORDS = frozenset({"error", "err"})


@dataclass(frozen=True)
class Explanation:
    """Everything known about one code; `known` is False when only the number's structure was decoded."""

    input: str
    symbol: str
    names: tuple[str, ...]
    hex: str
    unsigned: int
    signed: int
    facility: str
    severity: str
    layer: str
    meaning: str
    causes: tuple[str, ...]
    fixes: tuple[Fix, ...]
    related: tuple[str, ...]
    references: tuple[str, ...]
    known: bool
    kind: str = "hresult"  # hresult | ntstatus | dce | mi_result
    win32: int | None = None  # the Win32 error number inside a 0x8007xxxx HRESULT
    caution: str = ""  # what not to do (e.g. never grant Everyone DCOM rights)
    note: str = ""  # how the input was read (e.g. Win32 5 read as HRESULT 0x80070005)
    links: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The documented `--json` object (src/wmidoctor/schemas/explain.schema.json)."""
        return {
            "input": self.input,
            "symbol": self.symbol,
            "names": list(self.names),
            "hex": self.hex,
            "unsigned": self.unsigned,
            "signed": self.signed,
            "kind": self.kind,
            "win32": self.win32,
            "facility": self.facility,
            "severity": self.severity,
            "layer": self.layer,
            "meaning": self.meaning,
            "causes": list(self.causes),
            "fixes": [{"step": f.step, "command": f.command, "risk": f.risk} for f in self.fixes],
            "caution": self.caution,
            "related": list(self.related),
            "references": list(self.references),
            "links": list(self.links),
            "known": self.known,
            "note": self.note,
        }


class _Catalogue:
    """The loaded catalogue: entries by value, values by upper-cased name, and the MI_Result table."""

    __slots__ = ("by_name", "by_value", "mi_entries", "mi_numbers", "mi_results")

    def __init__(
        self, by_value: dict[int, dict[str, Any]], by_name: dict[str, int], mi_rows: list[dict[str, Any]]
    ) -> None:
        self.by_value = by_value
        self.by_name = by_name
        self.mi_numbers = {row["symbol"]: row["number"] for row in mi_rows}  # every MI_RESULT_* name -> its number
        # MI_RESULT_* name -> value of the WMI code with the same meaning
        self.mi_results = {row["symbol"]: int(row["same_as"], 16) for row in mi_rows if "same_as" in row}
        # MI_RESULT_* names without a WMI twin -> their own entry
        self.mi_entries = {row["symbol"]: row for row in mi_rows if "same_as" not in row}


@lru_cache(maxsize=1)
def _catalogue() -> _Catalogue:
    with open(CATALOGUE_FILE, encoding="utf-8") as handle:
        data = json.load(handle)
    entries = data["codes"]
    by_value: dict[int, dict[str, Any]] = {}
    by_name: dict[str, int] = {}
    for entry in entries:
        value = int(entry["value"], 16)
        by_value[value] = entry
        for name in (entry["symbol"], *entry.get("aliases", ())):
            by_name.setdefault(name.upper(), value)
    return _Catalogue(by_value, by_name, data["mi_results"])


def catalogue_values() -> tuple[int, ...]:
    """Every value the catalogue describes, ascending (for tests and listings)."""
    return tuple(sorted(_catalogue().by_value))


def mi_result_names() -> tuple[str, ...]:
    """Every MI_RESULT_* name the catalogue knows, by MI_Result number (for tests and listings)."""
    numbers = _catalogue().mi_numbers
    return tuple(sorted(numbers, key=numbers.__getitem__))


def to_signed(value: int) -> int:
    return value - (1 << 32) if value & 0x80000000 else value


def _from_number(number: int) -> int | None:
    """A parsed integer as a 32-bit value; a bare Win32 error number becomes its HRESULT."""
    if number < 0:
        return number & 0xFFFFFFFF if number >= -(1 << 31) else None
    if number >= 1 << 32:
        return None
    if 0 < number <= 0xFFFF and number not in _catalogue().by_value:
        return _WIN32_HRESULT | number
    return number


def _lookup_name(token: str) -> int | None:
    key = token.upper()
    if key.startswith("NT_STATUS_"):  # Samba spelling of NTSTATUS names
        key = key[3:]
    catalogue = _catalogue()
    return catalogue.by_name.get(key, catalogue.mi_results.get(key))


def parse_code(text: str) -> int | None:
    """Read any pasted form of one code: 0x80041003, 80041003, &H80041003, -2147217405, 2147749891,
    WBEM_E_ACCESS_DENIED, wbemErrAccessDenied, rpc_s_access_denied, NT_STATUS_LOGON_FAILURE, a Win32
    number such as 5 or 1722 (returned as its HRESULT 0x80070005), an MI_RESULT_* name that has a WMI twin
    (returned as that WMI code). None when it is not a code; an MI_Result without a WMI twin has no 32-bit value
    of its own (its number would read as a Win32 error), so only `explain` takes its name."""
    token = text.strip().strip(_PUNCTUATION)
    if not token:
        return None
    lower = token.lower()
    if lower.startswith(("0x", "&h")):
        digits = lower[2:]
        if len(digits) == 16 and digits.startswith("ffffffff"):  # a sign-extended 64-bit print
            digits = digits[8:]
        return _from_number(int(digits, 16)) if _HEX_DIGITS.fullmatch(digits) else None
    if _HEX8.fullmatch(token):  # eight hex digits without 0x: an HRESULT, even when all are decimal digits
        return _from_number(int(token, 16))
    if _DECIMAL.fullmatch(token):
        return _from_number(int(token))
    if _NAME.fullmatch(token):
        return _lookup_name(token)
    return None


def _is_strong_token(token: str) -> bool:
    """In a pasted sentence, only tokens that cannot be an ordinary word or count are codes."""
    stripped = token.strip(_PUNCTUATION)
    if _DECIMAL.fullmatch(stripped):
        return abs(int(stripped)) > 0xFFFF
    return bool(stripped)


def find_codes(text: str) -> list[int]:
    """Codes inside a pasted message ("Exception from HRESULT: 0x800706BA", "hr=0x80041003"). Small bare
    numbers are skipped, except, when nothing else is found, one right after 'error' ("System error 5 has
    occurred.", "Win32 error 1722")."""
    tokens = re.split(r"[\s,;=:]+", text)
    found: list[int] = []
    for token in tokens:
        value = parse_code(token) if _is_strong_token(token) else None
        if value is not None and value not in found:
            found.append(value)
    if not found:
        for previous, token in pairwise(tokens):
            if previous.strip(_PUNCTUATION).lower() in _ERROR_WORDS and _DECIMAL.fullmatch(token.strip(_PUNCTUATION)):
                value = parse_code(token)
                if value is not None and value not in found:
                    found.append(value)
    return found


def explain(text_or_value: str | int) -> Explanation:
    """Explain one code given in any form; raises InputError when the input is not a code at all."""
    if isinstance(text_or_value, int):
        value = _from_number(text_or_value)
        if value is None:
            raise InputError(f"{text_or_value} does not fit in 32 bits, so it is not an error code")
        text = str(text_or_value)
    else:
        text = text_or_value.strip()
        mi_entry = _catalogue().mi_entries.get(text.strip(_PUNCTUATION).upper())
        if mi_entry is not None:
            return replace(_from_mi_entry(mi_entry), input=text)
        value = parse_code(text)
        if value is None:
            raise InputError(f"not an error code or known code name: {text!r}")
    explanation = lookup(value)
    note = _input_note(text, value)
    return replace(explanation, input=text, note=" ".join(n for n in (note, explanation.note) if n))


def _input_note(text: str, value: int) -> str:
    """Say how the input was read when that is not obvious: a bare Win32 number read as its HRESULT, or an
    MI_Result name read as the WMI code of the same meaning."""
    token = text.strip().strip(_PUNCTUATION)
    name = token.upper()
    if name in _catalogue().mi_results and name not in _catalogue().by_name:
        return (
            f"{name} is MI_Result {_catalogue().mi_numbers[name]} (CIM cmdlets, WinRM); it means the same as "
            f"WMI's 0x{value:08X}, explained here."
        )
    if value >> 16 == 0x8007 and _small_number(token):
        return f"Read as Win32 error {value & 0xFFFF}, which COM and WMI report as HRESULT 0x{value:08X}."
    return ""


def _small_number(token: str) -> bool:
    """A number that fits in 16 bits (5, 1722, 0x6BA): what a bare Win32 error number looks like."""
    lower = token.lower()
    if lower.startswith(("0x", "&h")):
        return bool(_HEX_DIGITS.fullmatch(lower[2:])) and int(lower[2:], 16) <= 0xFFFF
    return bool(_DECIMAL.fullmatch(token)) and 0 <= int(token) <= 0xFFFF


def lookup(value: int) -> Explanation:
    """Explain a 32-bit value: the catalogue entry when there is one, else a generic decode (known=False)."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{value} is not a 32-bit value")
    entry = _catalogue().by_value.get(value)
    if entry is not None:
        return _from_entry(value, entry)
    inner = value & ~_NT_BIT
    if value & 0xF0000000 == 0xD0000000 and inner in _catalogue().by_value:
        wrapped = _from_entry(inner, _catalogue().by_value[inner])
        kind, facility, severity = _structure(value)
        return replace(
            wrapped,
            symbol=f"HRESULT_FROM_NT({wrapped.symbol})",
            hex=f"0x{value:08X}",
            unsigned=value,
            signed=to_signed(value),
            kind=kind,
            facility=facility,
            severity=severity,
            note=f"An HRESULT wrapping NTSTATUS 0x{inner:08X} ({wrapped.symbol}).",
            related=(f"0x{inner:08X}", *wrapped.related),
        )
    return _generic(value)


def _from_entry(value: int, entry: dict[str, Any]) -> Explanation:
    kind, facility, severity = _structure(value)
    references = tuple(entry.get("references", ()))
    return Explanation(
        input=f"0x{value:08X}",
        symbol=entry["symbol"],
        names=(entry["symbol"], *entry.get("aliases", ())),
        hex=f"0x{value:08X}",
        unsigned=value,
        signed=to_signed(value),
        facility=facility,
        severity=severity,
        layer=entry["layer"],
        meaning=entry["meaning"],
        causes=tuple(entry.get("causes", ())),
        fixes=tuple(Fix(*fix) for fix in entry.get("fixes", ())),
        related=tuple(entry.get("related", ())),
        references=references,
        known=True,
        kind=kind,
        win32=value & 0xFFFF if value & 0xFFFF0000 == _WIN32_HRESULT else None,
        caution=entry.get("caution", ""),
        links=tuple(reference_url(r) for r in references),
    )


def _from_mi_entry(entry: dict[str, Any]) -> Explanation:
    """An MI_Result without a WMI twin: shown with its own small number, which is not an HRESULT."""
    number, symbol = entry["number"], entry["symbol"]
    references = tuple(entry["references"])
    return Explanation(
        input=symbol,
        symbol=symbol,
        names=(symbol,),
        hex=f"0x{number:08X}",
        unsigned=number,
        signed=number,
        facility="MI_Result (MI API: CIM cmdlets, WinRM)",
        severity="error",
        layer=entry["layer"],
        meaning=entry["meaning"],
        causes=tuple(entry.get("causes", ())),
        fixes=tuple(Fix(*fix) for fix in entry.get("fixes", ())),
        related=tuple(entry.get("related", ())),
        references=references,
        known=True,
        kind="mi_result",
        note=(
            f"MI_Result {number}, a result of the MI API, not an HRESULT; WMI has no code of the same meaning. "
            f"A bare {number} is read as Win32 error {number}."
        ),
        links=tuple(reference_url(r) for r in references),
    )


def _structure(value: int) -> tuple[str, str, str]:
    """(kind, facility, severity) read from the bits of the value."""
    if 0x1C000000 <= value <= 0x1C01FFFF:
        return "dce", "DCE RPC fault (nca_s_*)", "error"
    if value >> 30 in (1, 3) and value & 0xF0000000 != 0xD0000000:
        number = (value >> 16) & 0xFFF
        name = _NTSTATUS_FACILITIES.get(number, "facility")
        return "ntstatus", f"{name} ({number})", _NTSTATUS_SEVERITIES[value >> 30]
    number = (value >> 16) & 0x7FF
    facility = f"{_HRESULT_FACILITIES.get(number, 'facility')} ({number})"
    if number == 4 and value >> 16 in (0x8004, 0x0004):
        facility += f", {_wmi_range(value)}"
    return "hresult", facility, "error" if value & 0x80000000 else "success"


def _wmi_range(value: int) -> str:
    """Which part of WMI (or COM) owns a FACILITY_ITF value."""
    low = value & 0xFFFF
    if value >> 16 == 0x0004:
        return "WMI status range 0x0004xxxx"
    for start, name in (
        (0x4000, "WMI MOF compiler"),
        (0x3000, "WMI provider extras"),
        (0x2000, "WMI event subsystem"),
        (0x1000, "WMI core"),
    ):
        if low >= start and low < start + 0x1000:
            return f"{name} range 0x8004{start >> 12}xxx"
    return "interface-specific (COM/OLE below 0x80041000)" if low < 0x1000 else "interface-specific"


def _range_meaning(value: int) -> tuple[str, str]:
    """(layer, meaning) for a value the catalogue does not list, from the range it falls in."""
    high, low = value >> 16, value & 0xFFFF
    known_wmi = "not a constant the catalogue knows. It may be unassigned, or newer than the catalogue"
    if high == 0x8007:
        return "system", (
            f"Win32 error {low} carried as an HRESULT. The catalogue does not describe it; "
            f"on Windows `net helpmsg {low}` prints its text."
        )
    if high == 0x8004:
        if 0x1000 <= low <= 0x10FF:
            return "WMI core", f"In WMI's own core range (0x80041xxx), but {known_wmi}."
        if 0x2000 <= low <= 0x2FFF:
            return "event subsystem", f"In WMI's event subsystem range (0x80042xxx), but {known_wmi}."
        if 0x3000 <= low <= 0x3FFF:
            return "provider", f"In WMI's provider extra range (0x80043xxx), but {known_wmi}."
        if 0x4000 <= low <= 0x4FFF:
            return "MOF compiler", f"In the MOF compiler range (0x80044xxx), but {known_wmi}."
        if low < 0x1000:
            return "DCOM/COM", (
                "An interface-specific (FACILITY_ITF) code in the range COM and OLE use for "
                "activation, registration and marshaling; not in the catalogue."
            )
        return "client", (
            "An interface-specific (FACILITY_ITF) code: its meaning is defined by the interface "
            "that returned it, outside WMI's own ranges; not in the catalogue."
        )
    if 0x80005000 <= value <= 0x80005FFF:
        return "provider", "An ADSI (Active Directory Service Interfaces) error, e.g. from the directory provider."
    if high == 0x8001:
        return "DCOM/COM", "A COM/DCOM runtime (FACILITY_RPC) error; not in the catalogue."
    if high == 0x8008:
        return "DCOM/COM", "A COM activation (FACILITY_WINDOWS) error; not in the catalogue."
    if high == 0x8009:
        return "authentication", "A security package (SSPI: Kerberos, NTLM, Negotiate) error; not in the catalogue."
    if high == 0x8033:
        return "WS-Man/WinRM", (
            "A WinRM / WS-Management error (FACILITY_WINRM), as CIM cmdlets and PowerShell "
            "remoting report them; not in the catalogue. On Windows `winrm helpmsg "
            f"0x{value:08X}` prints its text."
        )
    if value & 0xFFFF0000 == 0x00040000:
        return "WMI core", "A WMI success or status code (0x0004xxxx); not in the catalogue."
    if 0x16C9A000 <= value <= 0x16C9AFFF:
        return "network/RPC", "A DCE RPC runtime status (rpc_s_*), as impacket prints them; not in the catalogue."
    kind, _, severity = _structure(value)
    if kind == "ntstatus":
        return "system", f"An NTSTATUS code ({severity}); not in the catalogue."
    if kind == "dce":
        return "network/RPC", "A DCE RPC fault code returned by the RPC server; not in the catalogue."
    return "system", f"An HRESULT ({severity}) that is not in the catalogue."


def _generic(value: int) -> Explanation:
    kind, facility, severity = _structure(value)
    layer, meaning = _range_meaning(value)
    win32 = value & 0xFFFF if value >> 16 == 0x8007 else None
    return Explanation(
        input=f"0x{value:08X}",
        symbol="",
        names=(),
        hex=f"0x{value:08X}",
        unsigned=value,
        signed=to_signed(value),
        facility=facility,
        severity=severity,
        layer=layer,
        meaning=meaning,
        causes=(),
        fixes=(),
        related=(),
        references=("desktop-src/WmiSdk/wmi-error-constants.md",),
        known=False,
        kind=kind,
        win32=win32,
        links=(reference_url("desktop-src/WmiSdk/wmi-error-constants.md"),),
    )


def reference_url(reference: str) -> str:
    """The public URL of a MicrosoftDocs source path (win32 desktop-src or SupportArticles); URLs pass through."""
    if reference.startswith("desktop-src/"):
        folder, _, page = reference[len("desktop-src/") :].rpartition("/")
        return f"https://learn.microsoft.com/windows/win32/{folder.lower()}/{page.removesuffix('.md')}"
    if reference.startswith("support/"):
        return f"https://learn.microsoft.com/troubleshoot/{reference[len('support/') :].removesuffix('.md')}"
    return reference


def short_meaning(value: int) -> str:
    """One line for tallies: 'WBEM_E_ACCESS_DENIED: <first sentence of the meaning>'."""
    explanation = lookup(value & 0xFFFFFFFF)
    first = explanation.meaning.split(". ")[0].rstrip(".")
    if len(first) > 100:
        head = re.split(r"[:;] ", first)[0]
        first = head if len(head) >= 12 else first[:99].rstrip() + "…"
    return f"{explanation.symbol}: {first}" if explanation.symbol else first


# Spellings of one idea that searches should treat alike ("timed out", "timeout", wbemErrTimedout).
_SEARCH_SYNONYMS = ((re.compile(r"\btime[ds]? ?out\b"), "timeout"),)


def _stem(word: str) -> str:
    """A crude stem so that 'encryption' finds 'encrypted' and 'providers' finds 'provider'."""
    for suffix in ("ion", "ing", "ed", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _words(text: str, split_camel_case: bool = True) -> str:
    """Lower-case stemmed words between single spaces, padded so ' word ' tests whole words."""
    # wbemErrAccessDenied -> wbem err access denied, while WinRM and PowerShell's WSMan stay one word
    spaced = re.sub(r"([a-z])(?=[A-Z][a-z])", r"\1 ", text) if split_camel_case else text
    spaced = re.sub(r"[^a-z0-9]+", " ", spaced.lower())
    for pattern, replacement in _SEARCH_SYNONYMS:
        spaced = pattern.sub(replacement, spaced)
    return " " + " ".join(_stem(word) for word in spaced.split()) + " "


def search(text: str) -> list[Explanation]:
    """Entries whose names, meaning or causes contain every word of `text`, best match first: the phrase in the
    name or the meaning, then the hand-written entries, then WMI's own codes. MI_Result names count as names of
    the WMI code they mean, and MI_Results without a WMI twin are searched too."""
    phrase = _words(text)
    words = phrase.split()
    if not words:
        return []
    catalogue = _catalogue()
    twins: dict[int, list[str]] = {}
    for name, value in catalogue.mi_results.items():
        twins.setdefault(value, []).append(name)
    candidates: list[tuple[int | str, dict[str, Any], list[str]]] = [
        (value, entry, [entry["symbol"], *entry.get("aliases", ()), *twins.get(value, ())])
        for value, entry in catalogue.by_value.items()
    ]
    candidates += [(name, entry, [name]) for name, entry in catalogue.mi_entries.items()]
    scored = []
    for key, entry, entry_names in candidates:
        names = _words(" ".join(entry_names))
        meaning = _words(entry["meaning"])
        causes = _words(" ".join(entry.get("causes", ())))
        # ... + the same text unsplit, so that 'trustedhosts' finds TrustedHosts as 'trusted hosts' does
        everything = (
            names
            + meaning
            + causes
            + _words(f"{entry['meaning']} {' '.join(entry.get('causes', ()))}", split_camel_case=False)
        )
        if not all(word in everything for word in words):
            continue
        fixes, causes_count = len(entry.get("fixes", ())), len(entry.get("causes", ()))
        richness = (fixes > 0) + (causes_count >= 3) + 2 * (fixes >= 5)  # the hand-written entries first
        value = key if isinstance(key, int) else entry["number"]
        wmi_own = value >> 16 in (0x8004, 0x0004) and value & 0xFFFF >= 0x1000
        score = (
            4 * (phrase in meaning)
            + 5 * (phrase in names)
            + 2 * (phrase in causes)
            + richness
            + (value & 0x80000000 != 0)
            + wmi_own
        )
        scored.append((-score, value, isinstance(key, str), key))
    return [
        _from_mi_entry(catalogue.mi_entries[key]) if isinstance(key, str) else lookup(key)
        for *_, key in sorted(scored, key=lambda item: item[:3])
    ]
