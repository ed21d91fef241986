"""repository.cimom-settings: which non-default CIMOM values warn, which only inform, and the registry read."""

from __future__ import annotations

import pytest
from config_factories import CIMOM
from diagnose_factories import healthy, sick

from snapshots import judged
from wmidoctor.artifacts.registry import Registry
from wmidoctor.artifacts.registry.model import REG_DWORD, REG_SZ, RegValue
from wmidoctor.artifacts.registry.regfile import write_reg_file
from wmidoctor.artifacts.registry.tree import RegTree
from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.findings import Finding
from wmidoctor.sources.registry import fill_evidence


def run(ev: Evidence) -> Finding:
    return judged("repository.cimom-settings", ev)


def test_a_short_arbitrator_idle_limit_warns_and_is_undone_by_deleting_it():
    finding = run(sick("repository.cimom-settings"))
    assert finding.status == "warn" and "idle for 60 s" in finding.summary
    assert finding.fixes[1].command.endswith("/v ArbTaskMaxIdle /f")
    assert finding.fixes[1].undo.endswith("/d 60000 /f")


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("UnsecAppAccessControlDefault", 1, "async queries to hosts in untrusted domains"),
        ("AllowAnonymousCallback", 1, "anonymous callbacks are accepted"),
        ("AutoRestoreEnabled", 0, "does not restore its repository by itself"),
        ("ArbTaskMaxIdle", 3_600_000, ""),
    ],
)
def test_other_non_default_values_inform(name, value, said):
    ev = healthy()
    ev.repository.cimom[name] = Setting(value, f"{CIMOM}!{name}")
    finding = run(ev)
    assert finding.status == ("pass" if not said else "info")
    assert said in finding.summary


def test_cimom_values_are_read_from_the_registry(tmp_path):
    key = CIMOM.removeprefix("registry:")
    tree = RegTree()
    tree.set_value(key, RegValue("ArbTaskMaxIdle", REG_DWORD, 60000))
    tree.set_value(key, RegValue("UnsecAppAccessControlDefault", REG_DWORD, 1))
    tree.set_value(key, RegValue("Logging", REG_SZ, "1"))
    tree.add_root(key)
    write_reg_file(tree, tmp_path / "wbem.reg")
    ev = fill_evidence(Registry.open([tmp_path / "wbem.reg"]))
    assert {n: s.value for n, s in ev.repository.cimom.items()} == {
        "ArbTaskMaxIdle": 60000,
        "UnsecAppAccessControlDefault": 1,
    }
    assert set(ev.repository.logging) == {"Logging"}
    assert run(ev).status == "warn"
