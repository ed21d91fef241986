"""The catalogue: every reference constant resolves, numbers agree, entries are complete and safe."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from wmidoctor.knowledge.codes import (
    LAYERS,
    Fix,
    catalogue_values,
    explain,
    lookup,
    mi_result_names,
    parse_code,
    to_signed,
)


def _rows(reference: Path, name: str) -> list[dict[str, str]]:
    with (reference / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _assert_row_resolves(row: dict[str, str]) -> int:
    """The row's symbol and its three printed numbers all read as the row's value, which is catalogued."""
    value = int(row["hex"], 16)
    for form in (row["symbol"], row["hex"], row["unsigned_decimal"], row["signed_decimal"]):
        assert parse_code(form) == value, (form, row["symbol"])
    assert lookup(value).known and row["symbol"] in lookup(value).names
    return value


def test_every_wmi_constant_resolves_by_symbol_scripting_name_and_number(reference):
    rows = _rows(reference, "wmi-error-constants.tsv")
    assert len(rows) > 200
    for row in rows:
        value = _assert_row_resolves(row)
        if row["wbemerrorenum_name"]:
            assert parse_code(row["wbemerrorenum_name"]) == value, row["wbemerrorenum_name"]


def test_every_related_hresult_resolves(reference):
    rows = _rows(reference, "related-hresults.tsv")
    assert len(rows) > 100
    for row in rows:
        value = _assert_row_resolves(row)
        if row["win32_code"]:
            assert parse_code(row["win32_code"]) == value
            assert lookup(value).win32 == int(row["win32_code"])


@pytest.mark.parametrize("value", catalogue_values())
def test_numeric_forms_agree(value):
    item = lookup(value)
    assert int(item.hex, 16) == item.unsigned == value
    assert item.signed == to_signed(value)
    assert item.signed & 0xFFFFFFFF == item.unsigned
    assert re.fullmatch(r"0x[0-9A-F]{8}", item.hex)
    for form in (item.hex, item.hex.lower(), item.hex[2:], str(item.unsigned), str(item.signed)):
        assert parse_code(form) == value, form
    for name in item.names:
        assert parse_code(name) == value, name
        assert parse_code(name.lower()) == value, name


@pytest.mark.parametrize("value", catalogue_values())
def test_entries_are_complete(value):
    item = lookup(value)
    assert item.symbol and item.meaning.strip()
    assert item.layer in LAYERS
    assert item.references, "every entry names the page to read"
    for code in item.related:
        assert lookup(int(code, 16)).known, f"{item.symbol} relates to {code}, which the catalogue lacks"
    for fix in item.fixes:
        assert fix.step and fix.risk in ("none", "low", "high")


def test_names_are_unambiguous():
    """No name (case-insensitive) may point at two different values."""
    owner: dict[str, int] = {}
    for value in catalogue_values():
        for name in lookup(value).names:
            assert owner.setdefault(name.upper(), value) == value, name


EVERYONE = re.compile(r"\b(everyone|anonymous)\b", re.IGNORECASE)
DELETES_REPOSITORY = re.compile(r"\b(rd|rmdir|del|remove-item|ren|rename|move)\b.*repository", re.IGNORECASE)
REPAIRS_REPOSITORY = re.compile(r"/(reset|salvage)repository", re.IGNORECASE)
# WinRM settings that put credentials or data on the wire in clear text.
WEAKENS_WINRM = re.compile(
    r"AllowUnencrypted\W{0,3}=?\W{0,3}true|\bBasic\W{0,3}=\W{0,3}\W?true|-Authentication\s+Basic", re.IGNORECASE
)


def _weakening_problems(fixes: tuple[Fix, ...]) -> list[str]:
    """AllowUnencrypted and Basic authentication only as the last fixes, high risk, saying why (clear text)."""
    problems = []
    weakening = [index for index, fix in enumerate(fixes) if WEAKENS_WINRM.search(fix.command)]
    for index in weakening:
        fix = fixes[index]
        if fix.risk != "high":
            problems.append(f"fix {index + 1} enables AllowUnencrypted/Basic but is not marked high risk")
        if "clear text" not in fix.step.lower():
            problems.append(f"fix {index + 1} enables AllowUnencrypted/Basic without saying it sends clear text")
    if weakening and weakening != list(range(len(fixes) - len(weakening), len(fixes))):
        problems.append("AllowUnencrypted/Basic is offered before a safer fix")
    return problems


def unsafe_fixes(fixes: tuple[Fix, ...]) -> list[str]:
    """Why an ordered list of fixes breaks the project's rules: no Everyone/Anonymous grants, never delete
    the repository, never salvage or reset it before a verification and a backup (and only as high risk),
    WinRM's AllowUnencrypted or Basic authentication only as a last, high-risk fix that says why."""
    problems = _weakening_problems(fixes)
    for index, fix in enumerate(fixes):
        if EVERYONE.search(f"{fix.step} {fix.command}"):
            problems.append(f"fix {index + 1} mentions Everyone/Anonymous")
        if DELETES_REPOSITORY.search(fix.command):
            problems.append(f"fix {index + 1} deletes or moves the repository")
        if REPAIRS_REPOSITORY.search(fix.command):
            earlier = " ".join(f.command for f in fixes[:index])
            if "/verifyrepository" not in earlier or "/backup" not in earlier:
                problems.append(f"fix {index + 1} repairs the repository before verifying and backing it up")
            if fix.risk != "high":
                problems.append(f"fix {index + 1} repairs the repository but is not marked high risk")
    return problems


def test_the_safety_scan_catches_violations():
    assert unsafe_fixes((Fix("Give Everyone Remote Launch in dcomcnfg", "dcomcnfg", "low"),))
    assert unsafe_fixes((Fix("Start over", "rd /s /q %windir%\\System32\\wbem\\Repository", "high"),))
    assert unsafe_fixes((Fix("Reset", "winmgmt /resetrepository", "high"),))
    assert unsafe_fixes(
        (Fix("Verify", "winmgmt /verifyrepository"), Fix("Salvage", "winmgmt /salvagerepository", "high"))
    )
    safe = (
        Fix("Verify", "winmgmt /verifyrepository"),
        Fix("Copy", "winmgmt /backup F", "low"),
        Fix("Salvage", "winmgmt /salvagerepository", "high"),
    )
    assert unsafe_fixes(safe) == []


def test_the_safety_scan_keeps_allowunencrypted_and_basic_last_and_high_risk():
    https = Fix("Use HTTPS", "winrm quickconfig -transport:https", "low")
    unencrypted = Fix(
        "Last resort: sends everything in clear text",
        "winrm set winrm/config/client '@{AllowUnencrypted=\"true\"}'",
        "high",
    )
    basic = Fix(
        "Last resort: Basic sends the password in clear text",
        "winrm set winrm/config/service/auth '@{Basic=\"true\"}'",
        "high",
    )
    assert unsafe_fixes((https, unencrypted)) == []
    assert unsafe_fixes((https, unencrypted, basic)) == []
    assert unsafe_fixes((unencrypted, https)), "offered before a safer fix"
    assert unsafe_fixes((https, Fix(unencrypted.step, unencrypted.command, "low"))), "not high risk"
    assert unsafe_fixes((https, Fix("Allow it", basic.command, "high"))), "no reason given"
    assert unsafe_fixes((Fix("Connect", "Test-WSMan HOST -Authentication Basic -Credential U", "none"), https))


@pytest.mark.parametrize("value", catalogue_values())
def test_no_fix_grants_everyone_or_touches_the_repository_unsafely(value):
    assert unsafe_fixes(lookup(value).fixes) == [], lookup(value).symbol


@pytest.mark.parametrize("name", mi_result_names())
def test_mi_result_entries_are_complete_and_safe(name):
    item = explain(name)
    assert item.known and item.layer in LAYERS and item.references and item.meaning.strip()
    assert unsafe_fixes(item.fixes) == [], name
    for code in item.related:
        assert lookup(int(code, 16)).known, f"{name} relates to {code}, which the catalogue lacks"


def test_the_three_access_denied_seeds_differ_by_layer():
    firewall, dcom, wmi = lookup(0x800706BA), lookup(0x80070005), lookup(0x80041003)
    assert (firewall.layer, dcom.layer, wmi.layer) == ("network/RPC", "DCOM/COM", "WMI core")
    for seed in (firewall, dcom, wmi):
        assert len(seed.causes) >= 4 and len(seed.fixes) >= 5 and seed.known


def test_seed_0x800706ba_firewall_or_host():
    item = explain("0x800706BA")
    assert item.symbol == "RPC_S_SERVER_UNAVAILABLE" and item.win32 == 1722
    assert "firewall" in item.causes[0].lower()
    assert any("down" in c or "unreachable" in c for c in item.causes[:2])
    commands = " ".join(f.command for f in item.fixes)
    assert 'group="windows management instrumentation (wmi)" new enable=yes' in commands
    assert "Test-NetConnection HOST -Port 135" in commands


def test_seed_0x80070005_dcom_launch_and_activation():
    item = explain("0x80070005")
    assert item.symbol == "E_ACCESSDENIED" and "RPC_S_ACCESS_DENIED" in item.names
    text = " ".join(item.causes[:4]).lower()
    assert "remote launch" in text and "activat" in text and "uac" in text
    steps = [f.step + " " + f.command for f in item.fixes]
    assert any("dcomcnfg" in s and "Edit Limits" in s for s in steps)
    assert any("Windows Management Instrumentation" in s and "Remote Activation" in s for s in steps)
    uac = next(i for i, s in enumerate(steps) if "LocalAccountTokenFilterPolicy" in s)
    assert uac == len(steps) - 1 and item.fixes[uac].risk == "high", "remote UAC off is the last resort"
    assert "Everyone" in item.caution


def test_seed_0x80041003_namespace_permission_or_encryption():
    item = explain("0x80041003")
    assert item.symbol == "WBEM_E_ACCESS_DENIED" and "wbemErrAccessDenied" in item.names
    assert "Remote Enable" in item.causes[0]
    assert any("encrypt" in c for c in item.causes)
    steps = " ".join(f.step + " " + f.command for f in item.fixes)
    assert "wmimgmt.msc" in steps and "Remote Enable" in steps
    assert "PacketPrivacy" in steps or "pktPrivacy" in steps


def test_repository_inconsistency_orders_verify_backup_salvage_reset():
    commands = [f.command for f in explain("0x8007054E").fixes]
    order = [
        next(i for i, c in enumerate(commands) if key in c)
        for key in ("/verifyrepository", "/backup", "/salvagerepository", "/resetrepository")
    ]
    assert order == sorted(order)
