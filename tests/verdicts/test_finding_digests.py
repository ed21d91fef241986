"""Every finding on every real case of the corpus, pinned by digest.

The verdict tests hold the expert's must-report and must-not rows; this holds the rest of what `diagnose` says
on the same evidence — each check's status, severity, summary, evidence lines, causes and fixes — so that no
word or branch of a finding on a real host changes unnoticed. Only digests are stored (the corpus is never
copied into the repository); a changed finding is printed whole. After a meant change:

    WMIDOCTOR_UPDATE_SNAPSHOTS=1 python -m pytest tests/verdicts/test_finding_digests.py

Runs in-process (what the mutation run needs to see), on the evidence the verdict tests give `diagnose` and
`logs`: hives, repositories, host log folders, single logs and the SIEM exports.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import CORPUS

from snapshots import compare, digest, findings_data
from wmidoctor.checks.tally import code_tally
from wmidoctor.evidence.model import Evidence

pytestmark = pytest.mark.corpus

DIGESTS = Path(__file__).with_name("finding-digests")
BUNDLES = (
    "registry/SYSTEM",
    "registry/SYSTEM_B",
    "registry/corrupted_system_hive",
    "registry/HKLM_SOFTWARE_Microsoft_Ole.reg",
    "repository/win10-dfirmuseum-aptsimulator",
    "repository/win10-dissect-cim",
    "repository/xp-libyal-dtformats",
    "evtx/hosts/artemis-win10",
    "evtx/hosts/dfirmuseum-server2012r2-stolenszechuan",
    "evtx/hosts/dfirmuseum-win10-aptsimulator",
    "evtx/hosts/dfirmuseum-win10-rathbunvm",
    "evtx/hosts/fukusuket-win10",
)
LOGS = (
    "evtx/evtx-attack-samples__LM_dcom_mmc20_failed_system_10016.evtx",
    "evtx/evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx",
    "evtx/hayabusa-sample-evtx__DeepBlueCLI_disablestop-eventlog.evtx",
    "evtx/hayabusa-sample-evtx__DeepBlueCLI_many-events-application.evtx",
    "evtx/omerbenamram-evtx__2-vss_7-System.evtx",
    "evtx/omerbenamram-evtx__security.evtx",
    "evtx/omerbenamram-evtx__sysmon.evtx",
    "evtx/omerbenamram-evtx__system.evtx",
    "siem/otrf__covenant_dcom_registerxll_2020-09-18145959.json",
    "siem/otrf__covenant_persistwmi_2019-12-05044734.json",
    "siem/otrf__covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621.json",
    "siem/otrf__empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_2020-09-21001437.json",
    "siem/otrf__wmic_remote_xsl_jscript_2020-10-1802171958.json",
)


# locators name the files read: keep them independent of where this checkout and the corpus are
CORPUS_PLACES = ((CORPUS.resolve(), "<corpus>"), (CORPUS, "<corpus>"))


def _check(case: str, ev: Evidence) -> None:
    findings = findings_data(ev, CORPUS_PLACES)
    findings["(code tally)"] = {"codes": [list(row) for row in code_tally(ev)]}
    name = case.replace("/", "--")
    compare(DIGESTS / f"{name}.json", {check: digest(data) for check, data in findings.items()}, shown=findings)


# Read by a path relative to the corpus: messages cut at a length would otherwise cut at a different place in
# every checkout.
@pytest.mark.parametrize("case", BUNDLES)
def test_diagnose_findings_on_real_evidence(case, corpus, monkeypatch):
    from wmidoctor.sources.bundle import load

    monkeypatch.chdir(corpus)
    _check(case, load(Path(case)))


@pytest.mark.parametrize("case", LOGS)
def test_logs_findings_on_real_logs(case, corpus, monkeypatch):
    from wmidoctor.logs.run import analyse
    from wmidoctor.sources.events import log_evidence

    monkeypatch.chdir(corpus)
    _check(case, log_evidence(analyse([Path(case)], None, None)))
