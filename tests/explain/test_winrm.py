"""WinRM / WS-Management codes and MI_Result names: numbers checked against the published constants,
the common failures decoded with the fixes people need, least invasive first."""

from __future__ import annotations

import pytest

from wmidoctor.knowledge.codes import LAYERS, explain, find_codes, lookup, mi_result_names, parse_code, search

# ERROR_WSMAN_* values as published in win32metadata (windows-sys, Win32::System::RemoteManagement), in decimal:
# an independent check of the hex values in codes.json.
WIN32METADATA = {
    "ERROR_WSMAN_RESOURCE_NOT_FOUND": 2150858752,
    "ERROR_WSMAN_CONFIG_CORRUPTED": 2150858757,
    "ERROR_WSMAN_UNSUPPORTED_TIMEOUT": 2150858764,
    "ERROR_WSMAN_DESTINATION_UNREACHABLE": 2150858770,
    "ERROR_WSMAN_ENUMERATE_FILTERING_NOT_SUPPORTED": 2150858776,
    "ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER": 2150858778,
    "ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT": 2150858779,
    "ERROR_WSMAN_OPERATION_TIMEDOUT": 2150858793,
    "ERROR_WSMAN_INVALID_RESOURCE_URI": 2150858811,
    "ERROR_WSMAN_QUOTA_LIMIT": 2150858815,
    "ERROR_WSMAN_INVALID_XML": 2150858819,
    "ERROR_WSMAN_CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING": 2150858890,
    "ERROR_WSMAN_SECURITY_UNMAPPED": 2150858909,
    "ERROR_WSMAN_INVALID_HOSTNAME_PATTERN": 2150858911,
    "ERROR_WSMAN_CLIENT_UNENCRYPTED_DISABLED": 2150858974,
    "ERROR_WSMAN_CLIENT_BASIC_AUTHENTICATION_DISABLED": 2150858975,
    "ERROR_WSMAN_SERVER_NOT_TRUSTED": 2150858980,
    "ERROR_WSMAN_EXPLICIT_CREDENTIALS_REQUIRED": 2150858981,
    "ERROR_WSMAN_INVALID_URI_WMI_ENUM_WQL": 2150859003,
    "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED": 2150859012,
    "ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED": 2150859013,
    "ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED": 2150859014,
    "ERROR_WSMAN_KERBEROS_IPADDRESS": 2150859019,
    "ERROR_WSMAN_CLIENT_WORKGROUP_NO_KERBEROS": 2150859020,
    "ERROR_WSMAN_HTTP_SERVICE_UNAVAILABLE_STATUS": 2150859026,
    "ERROR_WSMAN_HTTP_NOT_FOUND_STATUS": 2150859027,
    "ERROR_WSMAN_QUICK_CONFIG_FAILED_CERT_REQUIRED": 2150859029,
    "ERROR_WSMAN_QUICK_CONFIG_LOCAL_POLICY_CHANGE_DISALLOWED": 2150859031,
    "ERROR_WSMAN_NETWORK_TIMEDOUT": 2150859046,
    "ERROR_WSMAN_PUBLIC_FIREWALL_PROFILE_ACTIVE": 2150859113,
    "ERROR_WSMAN_QUOTA_MAX_OPERATIONS": 2150859174,
    "ERROR_WSMAN_NAME_NOT_RESOLVED": 2150859193,
    "ERROR_WSMAN_SSL_CONNECTION_ABORTED": 2150859194,
    "ERROR_WSMAN_DEFAULTAUTH_IPADDRESS": 2150859195,
    "ERROR_WSMAN_SERVICE_REMOTE_ACCESS_DISABLED": 2150859229,
    "ERROR_WSMAN_MUTUAL_AUTH_FAILED": 2150859248,
}
# MI_Result as published in the MI API (mi.h / win32metadata); 18 and 19 are unassigned.
MI_RESULT = {
    "MI_RESULT_OK": 0,
    "MI_RESULT_FAILED": 1,
    "MI_RESULT_ACCESS_DENIED": 2,
    "MI_RESULT_INVALID_NAMESPACE": 3,
    "MI_RESULT_INVALID_PARAMETER": 4,
    "MI_RESULT_INVALID_CLASS": 5,
    "MI_RESULT_NOT_FOUND": 6,
    "MI_RESULT_NOT_SUPPORTED": 7,
    "MI_RESULT_CLASS_HAS_CHILDREN": 8,
    "MI_RESULT_CLASS_HAS_INSTANCES": 9,
    "MI_RESULT_INVALID_SUPERCLASS": 10,
    "MI_RESULT_ALREADY_EXISTS": 11,
    "MI_RESULT_NO_SUCH_PROPERTY": 12,
    "MI_RESULT_TYPE_MISMATCH": 13,
    "MI_RESULT_QUERY_LANGUAGE_NOT_SUPPORTED": 14,
    "MI_RESULT_INVALID_QUERY": 15,
    "MI_RESULT_METHOD_NOT_AVAILABLE": 16,
    "MI_RESULT_METHOD_NOT_FOUND": 17,
    "MI_RESULT_NAMESPACE_NOT_EMPTY": 20,
    "MI_RESULT_INVALID_ENUMERATION_CONTEXT": 21,
    "MI_RESULT_INVALID_OPERATION_TIMEOUT": 22,
    "MI_RESULT_PULL_HAS_BEEN_ABANDONED": 23,
    "MI_RESULT_PULL_CANNOT_BE_ABANDONED": 24,
    "MI_RESULT_FILTERED_ENUMERATION_NOT_SUPPORTED": 25,
    "MI_RESULT_CONTINUATION_ON_ERROR_NOT_SUPPORTED": 26,
    "MI_RESULT_SERVER_LIMITS_EXCEEDED": 27,
    "MI_RESULT_SERVER_IS_SHUTTING_DOWN": 28,
}


def _steps(value: int) -> list[str]:
    return [f"{fix.step} {fix.command}" for fix in lookup(value).fixes]


@pytest.mark.parametrize(("symbol", "unsigned"), sorted(WIN32METADATA.items()))
def test_winrm_constants_resolve_to_their_published_values(symbol, unsigned):
    item = explain(symbol)
    assert item.unsigned == unsigned and item.symbol == symbol and item.known
    assert item.facility == "WINRM (51)" and item.layer == "WS-Man/WinRM"
    for form in (item.hex, str(unsigned), str(item.signed), symbol.lower()):
        assert parse_code(form) == unsigned, form
    assert any("windows-rs" in reference for reference in item.references), "the value's public source"


def test_every_facility_winrm_entry_was_checked_against_win32metadata():
    from wmidoctor.knowledge.codes import catalogue_values

    catalogued = {lookup(value).symbol for value in catalogue_values() if value >> 16 == 0x8033}
    assert catalogued == set(WIN32METADATA)


def test_destination_unreachable_checks_service_listener_then_sets_up():
    item = explain("0x80338012")
    assert "stopped" in item.causes[0] and "listener" in item.causes[1]
    steps = _steps(0x80338012)
    assert "Test-WSMan HOST" in steps[0]
    order = [
        next(i for i, s in enumerate(steps) if key in s)
        for key in (
            "Get-Service WinRM",
            "winrm enumerate winrm/config/listener",
            "winrm quickconfig",
            "'Windows Remote Management'",
        )
    ]
    assert order == sorted(order), "look before changing anything"


def test_network_timeout_is_about_name_reachability_and_firewall():
    item = explain("-2144108250")
    assert item.symbol == "ERROR_WSMAN_NETWORK_TIMEDOUT" and "firewall" in item.causes[0].lower()
    steps = " ".join(_steps(item.unsigned))
    assert "Test-NetConnection HOST -Port 5985" in steps and "WINRM-HTTP-In-TCP" in steps


def test_server_not_trusted_prefers_kerberos_and_https_to_trustedhosts():
    item = explain("ERROR_WSMAN_SERVER_NOT_TRUSTED")
    assert item.hex == "0x803380E4" and "IP address" in item.causes[0]
    steps = _steps(item.unsigned)
    kerberos, https, trusted = (
        next(i for i, s in enumerate(steps) if key in s)
        for key in ("Kerberos", "-transport:https", "TrustedHosts -Value")
    )
    assert kerberos < https < trusted
    assert "'HOST'" in steps[trusted] and "'*'" not in steps[trusted].split("never")[0]
    assert "'*'" in item.caution


def test_security_unmapped_points_at_the_inner_kerberos_error_and_the_spn():
    item = explain("0x8033809D")
    assert item.symbol == "ERROR_WSMAN_SECURITY_UNMAPPED" and "0x80090322" in item.related
    assert "SPN" in item.causes[0] or "principal" in item.causes[0]
    steps = " ".join(_steps(item.unsigned))
    assert "setspn -Q HTTP/" in steps and "IncludePortInSPN" in steps


@pytest.mark.parametrize("value", [0x803380DE, 0x803380DF])
def test_encryption_and_basic_errors_offer_the_weakening_only_last(value):
    fixes = lookup(value).fixes
    assert fixes[-1].risk == "high" and "Last resort" in fixes[-1].step
    assert all(fix.risk != "high" for fix in fixes[:-1])
    assert "Negotiate" in fixes[0].command


def test_wmi_access_denied_through_winrm_points_at_namespace_security():
    for value in (0x80338104, 0x80338106):
        assert "wmimgmt.msc" in " ".join(_steps(value)) and "0x80041003" in lookup(value).related


@pytest.mark.parametrize(("name", "number"), sorted(MI_RESULT.items()))
def test_every_mi_result_name_resolves(name, number):
    assert mi_result_names().count(name) == 1
    item = explain(name.lower())
    assert item.known and item.layer in LAYERS
    if item.kind == "mi_result":
        assert (item.unsigned, item.signed, item.hex) == (number, number, f"0x{number:08X}")
        assert f"MI_Result {number}" in item.note and item.symbol == name
        assert parse_code(name) is None, "an MI_Result without a WMI twin has no 32-bit value to return"
    else:
        assert f"MI_Result {number} " in item.note and item.kind == "hresult"
        assert parse_code(name) == item.unsigned


def test_mi_result_names_cover_the_whole_enumeration():
    assert set(mi_result_names()) == set(MI_RESULT)
    assert sum(explain(name).kind == "mi_result" for name in MI_RESULT) == 10


@pytest.mark.parametrize("text", ["12", "23", "0x17", "27"])
def test_bare_small_numbers_stay_win32_errors(text):
    item = explain(text)
    assert item.kind == "hresult" and item.hex.startswith("0x8007") and "Win32" in item.note


def test_search_finds_mi_results_and_winrm_entries():
    assert search("pull abandoned")[0].symbol == "MI_RESULT_PULL_HAS_BEEN_ABANDONED"
    assert search("server limits exceeded")[0].symbol == "MI_RESULT_SERVER_LIMITS_EXCEEDED"
    assert search("MI_RESULT_ACCESS_DENIED")[0].hex == "0x80041003", "a twin's name finds its WMI code"
    assert search("TrustedHosts")[0].hex == search("trustedhosts")[0].hex == "0x803380E4"
    assert "0x80338012" in [item.hex for item in search("winrm listener")]


def test_codes_in_a_pasted_powershell_error():
    message = "FullyQualifiedErrorId : -2144108387,PSSessionStateBroken"
    assert find_codes(message) == [0x8033809D]
