"""`wmidoctor explain` end to end, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "wmidoctor" / "schemas" / "explain.schema.json"


def _validate(document):
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(document)


def test_text_output_for_several_forms(cli):
    result = cli("explain", "0x80041003", "-2147217405", "5", "STATUS_LOGON_FAILURE")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("WBEM_E_ACCESS_DENIED") >= 2
    assert "E_ACCESSDENIED" in result.stdout and "STATUS_LOGON_FAILURE" in result.stdout
    assert "fixes (least invasive first)" in result.stdout and "\x1b[" not in result.stdout
    assert result.stderr == ""


def test_json_validates_against_the_schema(cli):
    result = cli("explain", "--json", "0x80041003", "1722", "0x80041099", "0xC000006D", "nca_s_unk_if")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    _validate(document)
    assert [item["hex"] for item in document] == ["0x80041003", "0x800706BA", "0x80041099", "0xC000006D", "0x1C010003"]
    assert [item["known"] for item in document] == [True, True, False, True, True]
    assert "wbemErrAccessDenied" in document[0]["names"]
    assert document[1]["input"] == "1722" and document[1]["win32"] == 1722


def test_garbage_exits_2_with_one_line_and_no_traceback(cli):
    result = cli("explain", "hello")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "hello" in result.stderr and "Traceback" not in result.stderr


def test_mixed_valid_and_invalid_input(cli):
    result = cli("explain", "0x80041003", "bogus", "1722")
    assert result.returncode == 2
    assert "WBEM_E_ACCESS_DENIED" in result.stdout and "RPC_S_SERVER_UNAVAILABLE" in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1 and "bogus" in result.stderr


def test_mixed_input_json_still_lists_the_valid_codes(cli):
    result = cli("explain", "--json", "bogus", "0x80070005")
    assert result.returncode == 2
    document = json.loads(result.stdout)
    _validate(document)
    assert [item["hex"] for item in document] == ["0x80070005"]


def test_pasted_message(cli):
    result = cli("explain", "Exception from HRESULT: 0x800706BA")
    assert result.returncode == 0 and "RPC_S_SERVER_UNAVAILABLE" in result.stdout


def test_no_argument_is_a_one_line_usage_error(cli):
    result = cli("explain")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_search(cli):
    result = cli("explain", "--search", "access denied", "--json")
    assert result.returncode == 0
    document = json.loads(result.stdout)
    _validate(document)
    found = {item["hex"] for item in document}
    assert {"0x80070005", "0x80041003"} <= found
    assert all(item["input"] == "access denied" for item in document)
    text = cli("explain", "--search", "access denied")
    assert text.returncode == 0 and "E_ACCESSDENIED" in text.stdout


def test_search_without_match(cli):
    result = cli("explain", "--search", "xyzzy plugh")
    assert result.returncode == 0 and "No catalogue entry" in result.stdout


def test_a_code_glued_to_its_label_is_explained(cli):
    result = cli("explain", "hr=0x80041003", "--json")
    assert result.returncode == 0, result.stderr
    assert [item["hex"] for item in json.loads(result.stdout)] == ["0x80041003"]


def test_empty_search_is_a_usage_error(cli):
    result = cli("explain", "--search", "  ")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--search needs words" in result.stderr


def test_json_for_winrm_and_mi_result_validates(cli):
    result = cli("explain", "--json", "0x803380E4", "MI_RESULT_NAMESPACE_NOT_EMPTY", "MI_RESULT_INVALID_CLASS")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    _validate(document)
    assert [item["kind"] for item in document] == ["hresult", "mi_result", "hresult"]
    assert [item["hex"] for item in document] == ["0x803380E4", "0x00000014", "0x80041010"]
