"""What `explain` says, pinned whole: the explanation of a code outside the catalogue at every edge of every range
it decodes (the last value before a range, its first, its last, the first after), and how each pasted form of a
code is read (note included). After a meant change: WMIDOCTOR_UPDATE_SNAPSHOTS=1 python -m pytest <this file>."""

from __future__ import annotations

from pathlib import Path

from snapshots import compare
from wmidoctor.errors import InputError
from wmidoctor.knowledge.codes import explain, find_codes, lookup, mi_result_names

SNAPSHOTS = Path(__file__).with_name("snapshots")

# (first, last) of each range the generic decode names
RANGES = (
    (0x80070000, 0x8007FFFF),
    (0x80040000, 0x80040FFF),
    (0x80041000, 0x800410FF),
    (0x80042000, 0x80042FFF),
    (0x80043000, 0x80043FFF),
    (0x80044000, 0x80044FFF),
    (0x80045000, 0x8004FFFF),
    (0x80005000, 0x80005FFF),
    (0x80010000, 0x8001FFFF),
    (0x80080000, 0x8008FFFF),
    (0x80090000, 0x8009FFFF),
    (0x80330000, 0x8033FFFF),
    (0x00040000, 0x0004FFFF),
    (0x16C9A000, 0x16C9AFFF),
    (0xC0000000, 0xC000FFFF),
    (0x40000000, 0x4000FFFF),
    (0x1C000000, 0x1C01FFFF),
    (0xD0000000, 0xD000FFFF),
)
EDGES = sorted({v for first, last in RANGES for v in (first - 1, first, first + 1, last - 1, last, last + 1)})

PASTED = (
    "0x80041003",
    "80041003",
    "0X800706ba",
    "&H80041010",
    "-2147217405",
    "2147749891",
    "5",
    "1722",
    "0x6BA",
    "0x0006BA",
    "65535",
    "65536",
    "-1",
    "4294967296",
    "-2147483649",
    "WBEM_E_ACCESS_DENIED",
    "wbem_e_not_found",
    "E_ACCESSDENIED",
    "RPC_S_SERVER_UNAVAILABLE",
    "MI_RESULT_ACCESS_DENIED",
    "MI_RESULT_NOT_FOUND",
    "MI_RESULT_OK",
    "(0x80041003)",
    "'0x80041003'",
    "0xC0000022",
    "STATUS_ACCESS_DENIED",
    "NT_STATUS_LOGON_FAILURE",
    "nca_s_fault_access_denied",
    "0x1C010003",
    "0xD0000022",
    "HRESULT 0x80070005",
    "hello",
    "",
    "0x",
    "&H",
    "0x123456789",
    "0xGG",
)
MESSAGES = (
    "Exception from HRESULT: 0x800706BA",
    "hr=0x80041003; then 0x80041003 again",
    "System error 5 has occurred.",
    "Win32 error 1722 after 3 tries",
    "error: 5",
    "took 5 seconds, 1722 bytes",
    "Error code: 2147749908 (0x80041014)",
    "WBEM_E_INVALID_CLASS, MI_RESULT_NOT_SUPPORTED and RPC_S_SERVER_UNAVAILABLE",
    "Code -2147023174 from the call",
    "nothing here",
)


def test_codes_outside_the_catalogue_at_every_range_edge():
    actual = {f"0x{value:08X}": lookup(value).to_dict() for value in EDGES if 0 <= value <= 0xFFFFFFFF}
    compare(SNAPSHOTS / "range-edges.json", actual)


def _read(text: str) -> dict:
    try:
        return explain(text).to_dict()
    except InputError as exc:
        return {"refused": str(exc)}


def test_pasted_forms():
    compare(SNAPSHOTS / "pasted-forms.json", {repr(text): _read(text) for text in PASTED})


def test_every_mi_result_name():
    """MI_Result names with a WMI twin read as the twin (with a note); the others have their own entries."""
    names = mi_result_names()
    assert names[0] == "MI_RESULT_OK" and len(names) == len(set(names))
    compare(
        SNAPSHOTS / "mi-results.json", {name: _read(name) for name in names} | {"mi_result_ok": _read("mi_result_ok")}
    )


def test_codes_found_in_messages():
    actual = {text: [f"0x{value:08X}" for value in find_codes(text)] for text in MESSAGES}
    compare(SNAPSHOTS / "messages.json", actual)
