"""Every pasted form of a code, generic decoding, and search."""

from __future__ import annotations

import pytest

from wmidoctor.errors import InputError
from wmidoctor.knowledge.codes import explain, find_codes, lookup, parse_code, search, short_meaning

ACCESS_DENIED = 0x80041003


@pytest.mark.parametrize(
    "text",
    [
        "0x80041003",
        "0X80041003",
        "80041003",
        "&H80041003",
        "-2147217405",
        "2147749891",
        "WBEM_E_ACCESS_DENIED",
        "wbem_e_access_denied",
        "wbemErrAccessDenied",
        "WBEMERRACCESSDENIED",
        " 0x80041003. ",
        "(0x80041003)",
        "0xFFFFFFFF80041003",
    ],
)
def test_forms_of_one_code(text):
    assert parse_code(text) == ACCESS_DENIED


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("E_ACCESSDENIED", 0x80070005),
        ("5", 0x80070005),
        ("0x5", 0x80070005),
        ("rpc_s_access_denied", 0x80070005),
        ("ERROR_ACCESS_DENIED", 0x80070005),
        ("1722", 0x800706BA),
        ("RPC_S_SERVER_UNAVAILABLE", 0x800706BA),
        ("rpc_s_server_unavailable", 0x800706BA),
        ("1726", 0x800706BE),
        ("RPC_S_CALL_FAILED", 0x800706BE),
        ("RPC_S_SERVER_TOO_BUSY", 0x800706BB),
        ("1723", 0x800706BB),
        ("EPT_S_NOT_REGISTERED", 0x800706D9),
        ("1753", 0x800706D9),
        ("rpc_s_unknown_authn_service", 0x800706D3),
        ("STATUS_LOGON_FAILURE", 0xC000006D),
        ("NT_STATUS_LOGON_FAILURE", 0xC000006D),
        ("0xC000006D", 0xC000006D),
        ("-1073741715", 0xC000006D),
        ("STATUS_ACCESS_DENIED", 0xC0000022),
        ("STATUS_ACCOUNT_LOCKED_OUT", 0xC0000234),
        ("STATUS_PASSWORD_EXPIRED", 0xC0000071),
        ("STATUS_ACCOUNT_DISABLED", 0xC0000072),
        ("STATUS_TIME_DIFFERENCE_AT_DC", 0xC0000133),
        ("KRB_AP_ERR_SKEW", 0x80090324),
        ("nca_s_unk_if", 0x1C010003),
        ("0x80010111", 0x80010111),
        ("0", 0),
        ("1", 1),
        ("S_OK", 0),
        ("wbemErrVetoPut", 0x80041079),
        ("WBEM_E_VETO_PUT", 0x8004107A),
        ("wbemErrTimedout", 0x80043001),
        ("wbemErrTimeout", 0x80041069),
        ("WBEM_E_TRANSACTION_CONFLICT", 0x8004106D),
    ],
)
def test_names_and_numbers(text, value):
    assert parse_code(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "hello", "0x", "0x123456789", "4294967296", "-2147483649", "0xZZ", "12.5", "WBEM_E_NOT_A_THING", "--json"],
)
def test_not_a_code(text):
    assert parse_code(text) is None


def test_explain_raises_input_error_for_garbage():
    with pytest.raises(InputError):
        explain("not-a-code")


def test_win32_number_keeps_win32_meaning():
    item = explain("1722")
    assert item.hex == "0x800706BA" and item.win32 == 1722 and "Win32 error 1722" in item.note
    assert explain(5).hex == "0x80070005"


@pytest.mark.parametrize(
    ("value", "layer", "words"),
    [
        (0x800704D2, "system", "Win32 error 1234"),
        (0x80041099, "WMI core", "WMI's own core range"),
        (0x80042FFF, "event subsystem", "event subsystem"),
        (0x80044FFF, "MOF compiler", "MOF compiler"),
        (0x80040999, "DCOM/COM", "FACILITY_ITF"),
        (0x80338300, "WS-Man/WinRM", "WinRM"),
        (0xC0001234, "system", "NTSTATUS"),
    ],
)
def test_unknown_codes_get_a_generic_decode(value, layer, words):
    item = lookup(value)
    assert not item.known and item.layer == layer and words in item.meaning
    assert item.symbol == "" and item.hex == f"0x{value:08X}"


def test_facility_and_severity():
    assert lookup(0x80070005).facility == "WIN32 (7)"
    assert lookup(0x80041003).facility.startswith("ITF (4), WMI core")
    assert lookup(0x80044001).facility.endswith("WMI MOF compiler range 0x80044xxx")
    assert lookup(0x00040001).severity == "success"
    assert lookup(0x80090324).facility == "SECURITY (9)"
    ntstatus = lookup(0xC000006D)
    assert (ntstatus.kind, ntstatus.severity) == ("ntstatus", "error")
    assert lookup(0x1C010003).kind == "dce"


def test_hresult_wrapping_an_ntstatus():
    item = lookup(0xD000006D)
    assert item.known and item.symbol == "HRESULT_FROM_NT(STATUS_LOGON_FAILURE)" and "0xC000006D" in item.related


def test_codes_found_in_a_pasted_message():
    assert find_codes("Exception from HRESULT: 0x800706BA") == [0x800706BA]
    assert find_codes("Error 5 at line 12: 0x80041003, WBEM_E_NOT_FOUND") == [0x80041003, 0x80041002]


def test_search_access_denied():
    found = [item.hex for item in search("access denied")]
    for code in ("0x80070005", "0x80041003", "0xC0000022"):
        assert code in found
    assert set(found[:2]) == {"0x80070005", "0x80041003"}, "the seed entries rank first"
    assert search("no such words anywhere xyzzy") == []
    assert search("") == []


def test_short_meaning_is_one_line():
    for value in (0x80041003, 0x800706BA, 0xC000006D, 0x80041099):
        line = short_meaning(value)
        assert "\n" not in line and len(line) < 200
    assert short_meaning(0x80041003).startswith("WBEM_E_ACCESS_DENIED: ")


@pytest.mark.parametrize("text", ["0x800706ba", "0X800706BA", "800706BA", "RPC_S_SERVER_UNAVAILABLE", "-2147023174"])
def test_an_hresult_is_not_said_to_be_read_as_a_win32_number(text):
    assert explain(text).note == ""


@pytest.mark.parametrize("text", ["1722", "0x6BA", "(1722)"])
def test_a_small_number_is_said_to_be_read_as_a_win32_number(text):
    assert "Read as Win32 error 1722" in explain(text).note


@pytest.mark.parametrize(
    ("message", "values"),
    [
        ("hr=0x80041003", [0x80041003]),
        ("HRESULT:0x80070005", [0x80070005]),
        ("#0x80041003", [0x80041003]),
        ("System error 5 has occurred.", [0x80070005]),
        ("Win32 error 1722", [0x800706BA]),
        ("Return code 2", []),
        ("Access is denied.", []),
    ],
)
def test_codes_found_in_more_pasted_forms(message, values):
    assert find_codes(message) == values


def test_mi_result_names_read_as_the_wmi_code_of_the_same_meaning():
    item = explain("MI_RESULT_ACCESS_DENIED")
    assert item.hex == "0x80041003" and "MI_Result" in item.note
    assert parse_code("mi_result_invalid_class") == 0x80041010
    assert parse_code("2") == 0x80070002, "a bare number stays a Win32 error"


def test_unknown_winrm_code_says_how_to_get_its_text():
    assert "winrm helpmsg 0x80338300" in lookup(0x80338300).meaning


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("encryption", "0x80041087"),
        ("timeout", "0x80041069"),
        ("timed out", "0x80041069"),
        ("invalid class", "0x80041010"),
        ("quota", "0x8004106C"),
        ("rpc server unavailable", "0x800706BA"),
        ("not found", "0x80041002"),
    ],
)
def test_search_puts_the_entry_about_it_first(text, first):
    assert search(text)[0].hex == first


def test_search_class_not_found_finds_invalid_class():
    assert "0x80041010" in [item.hex for item in search("class not found")[:3]]
