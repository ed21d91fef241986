"""Expert verdicts on the event logs of the corpus (/work/shared/verdicts/host-*.md for the five hosts' log sets,
evtx-*.md for the single logs): `diagnose` and `logs` on the same logs raise exactly the findings the expert says
must be reported (at least at the given severity) and nothing else at warning or above, so no must-not pattern
is raised either; and the two verbs agree, finding for finding, because `logs` runs diagnose's checks.

Each case names the checks that carry its must-report rows; a verdict file whose must-report rows change makes
its case fail until this table is decided again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import CORPUS, _shared_dir
from tests.verdicts.test_host_cases import RANK, verdict_rows

pytestmark = pytest.mark.corpus

VERDICTS = CORPUS.parent / "verdicts"
SECURITY_LOGS = ("evtx/omerbenamram-evtx__security.evtx", "evtx/omerbenamram-evtx__security_bad_string_cache.evtx")

# verdict file -> (evidence paths relative to the corpus, {check: lowest severity} for the must-report rows)
CASES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "host-artemis-win10.md": (("evtx/hosts/artemis-win10",), {}),
    "host-dfirmuseum-server2012r2-stolenszechuan.md": (("evtx/hosts/dfirmuseum-server2012r2-stolenszechuan",), {}),
    "host-dfirmuseum-win10-aptsimulator.md": (
        ("evtx/hosts/dfirmuseum-win10-aptsimulator",),
        {"security.subscriptions": "error"},
    ),
    "host-dfirmuseum-win10-rathbunvm.md": (("evtx/hosts/dfirmuseum-win10-rathbunvm",), {}),
    "host-fukusuket-win10.md": (("evtx/hosts/fukusuket-win10",), {}),
    "evtx-2-vss_7-System.md": (("evtx/omerbenamram-evtx__2-vss_7-System.evtx",), {}),
    "evtx-Application_no_crc32.md": (("evtx/omerbenamram-evtx__Application_no_crc32.evtx",), {}),
    "evtx-DeepBlueCLI_disablestop-eventlog.md": (
        ("evtx/hayabusa-sample-evtx__DeepBlueCLI_disablestop-eventlog.evtx",),
        {},
    ),
    "evtx-DeepBlueCLI_many-events-application.md": (
        ("evtx/hayabusa-sample-evtx__DeepBlueCLI_many-events-application.evtx",),
        {},
    ),
    "evtx-LM_dcom_mmc20_failed_system_10016.md": (
        ("evtx/evtx-attack-samples__LM_dcom_mmc20_failed_system_10016.evtx",),
        {},
    ),
    "evtx-sample-with-zero-data-size-event.md": (
        ("evtx/omerbenamram-evtx__sample-with-zero-data-size-event.evtx",),
        {},
    ),
    "evtx-sample_with_a_bad_chunk_magic.md": (("evtx/omerbenamram-evtx__sample_with_a_bad_chunk_magic.evtx",), {}),
    "evtx-security.md": (SECURITY_LOGS, {}),
    "evtx-sysmon.md": (("evtx/omerbenamram-evtx__sysmon.evtx",), {}),
    # BotConsumer23 created through WMIC (the subscription) and fired (WmiPrvSE started cmd.exe as SYSTEM)
    "evtx-sysmon_20_21_1_CommandLineEventConsumer.md": (
        ("evtx/evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx",),
        {"security.subscriptions": "error", "security.wmi-execution": "error"},
    ),
    "evtx-system.md": (("evtx/omerbenamram-evtx__system.evtx",), {}),
}


def _problems(findings: list[dict]) -> dict[str, str]:
    return {
        f["check"]: f["severity"]
        for f in findings
        if f["status"] in ("fail", "warn") and RANK.get(f["severity"], 0) >= RANK["warning"]
    }


def test_every_event_verdict_has_a_case() -> None:
    on_disk = {p.name for p in _shared_dir(VERDICTS).glob("host-*.md")} | {p.name for p in VERDICTS.glob("evtx-*.md")}
    assert on_disk == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_diagnose_and_logs_give_the_experts_verdict(name: str, corpus: Path, cli, tmp_path: Path) -> None:
    paths, expected = CASES[name]
    must_report, _ = verdict_rows(name)
    assert len(must_report) == len(expected), f"{name}: its must-report rows changed ({len(must_report)} rows)"
    evidence = corpus / paths[0]
    if len(paths) > 1:  # several logs of one case: diagnose reads them as one folder
        evidence = tmp_path / "logs"
        evidence.mkdir()
        for index, relative in enumerate(paths):
            (evidence / f"{index}-{Path(relative).name}").symlink_to(corpus / relative)
    diagnosed = cli("diagnose", str(evidence), "--json", timeout=300)
    assert diagnosed.returncode in (0, 1), diagnosed.stderr
    from_diagnose = _problems(json.loads(diagnosed.stdout)["findings"])
    logged = cli("logs", "--json", *[str(corpus / p) for p in paths], timeout=300)
    assert logged.returncode in (0, 1), logged.stderr
    from_logs = _problems(json.loads(logged.stdout)["findings"])

    assert set(from_diagnose) == set(expected), from_diagnose
    for check, lowest in expected.items():
        assert RANK[from_diagnose[check]] >= RANK[lowest], (check, from_diagnose[check])
    assert from_logs == from_diagnose  # one judgement: the same checks on the same logs
    assert logged.returncode == diagnosed.returncode == (1 if expected else 0)
