"""The five real OTRF exports in ../shared/corpus/siem (MIT, NXLog JSON lines): every record is counted under
the channel, provider and event id a plain `json.loads` loop reads from the file, and their WMI content
(5857/5858/5859/5861, Sysmon 19/20/21) reaches `logs` and `diagnose` as it would from .evtx."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from wmidoctor.artifacts.evtx import LogStats, read_log
from wmidoctor.logs.selection import wanted

pytestmark = pytest.mark.corpus

FILES = {
    "covenant_dcom_registerxll": "otrf__covenant_dcom_registerxll_2020-09-18145959.json",
    "covenant_persistwmi": "otrf__covenant_persistwmi_2019-12-05044734.json",
    "covenant_sharpwmi_create": "otrf__covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621.json",
    "empire_wmi_execmethod": "otrf__empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_2020-09-21001437.json",
    "wmic_remote_xsl_jscript": "otrf__wmic_remote_xsl_jscript_2020-10-1802171958.json",
}
# Line counts the verdicts (../shared/verdicts/siem-*.md) state for each file.
VERDICT_LINES = {
    "covenant_dcom_registerxll": 5504,
    "covenant_persistwmi": 1001,
    "covenant_sharpwmi_create": 2343,
    "empire_wmi_execmethod": 6383,
    "wmic_remote_xsl_jscript": 1364,
}


def _independent(path: Path) -> tuple[int, Counter]:
    """Records and (channel, event id) counts read with nothing but json.loads."""
    counts: Counter = Counter()
    records = 0
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                records += 1
                counts[(record["Channel"], int(record["EventID"]))] += 1
    return records, counts


def _read(path: Path) -> tuple[LogStats, list]:
    stats = LogStats(str(path))
    events = list(read_log(path, stats, wanted))
    return stats, events


@pytest.mark.parametrize("key", sorted(FILES))
def test_exact_counts_per_channel_and_id(corpus: Path, key: str) -> None:
    path = corpus / "siem" / FILES[key]
    records, expected = _independent(path)
    stats, _ = _read(path)
    assert records == VERDICT_LINES[key]
    assert stats.kind == "jsonl"
    assert stats.records_read == records
    assert stats.records_skipped == 0 and not stats.damaged
    assert stats.shapes == Counter({"nxlog": records})
    by_channel_id: Counter = Counter()
    for (channel, _provider, event_id), n in stats.counts.items():
        by_channel_id[(channel, event_id)] += n
    assert by_channel_id == expected


def test_wmi_activity_fields_come_back_from_the_message(corpus: Path) -> None:
    """NXLog keeps WMI-Activity UserData only in Message; the reader restores the .evtx field names."""
    _, events = _read(corpus / "siem" / FILES["covenant_persistwmi"])
    by_line = {int(e.source.rpartition("#line ")[2]): e for e in events}
    binding = by_line[438]  # verdict: 5861 at L438, RecordNumber 568
    assert (binding.provider, binding.event_id, binding.record_id) == ("Microsoft-Windows-WMI-Activity", 5861, 568)
    assert binding.fields["Namespace"] == "//./root/subscription"
    assert binding.fields["ESS"] == "Evil Persistence"
    assert binding.fields["CONSUMER"] == 'CommandLineEventConsumer="Evil Persistence"'
    assert "powershell -Sta -Nop -Window Hidden -EncodedCommand" in binding.fields["PossibleCause"]
    activation = by_line[428]
    assert activation.fields["User"] == "S-1-5-21-791464340-1796667228-2788435825-1112"
    assert activation.fields["Provider"] == "WMI Kernel Trace Event Provider"
    loaded = by_line[403]
    assert (loaded.fields["ProviderName"], loaded.fields["Code"], loaded.fields["ProcessID"]) == (
        "WMI Kernel Trace Event Provider",
        "0x0",
        "2568",
    )
    filter_created = by_line[350]  # Sysmon 19, RecordNumber 219662, UtcTime 04:47:55.290 (EventTime is UTC-5)
    assert (filter_created.event_id, filter_created.record_id) == (19, 219662)
    assert filter_created.time.startswith("2019-12-05T04:47:55")
    assert filter_created.computer == "IT001.shire.com"


def test_5858_codes_and_local_times_placed_in_utc(corpus: Path) -> None:
    _, events = _read(corpus / "siem" / FILES["covenant_dcom_registerxll"])
    failures = [e for e in events if e.event_id == 5858]
    assert [int(e.source.rpartition("#line ")[2]) for e in failures] == [3578, 3582, 3584]
    assert {e.fields["ResultCode"] for e in failures} == {"0x80041032"}
    assert {e.fields["ClientProcessId"] for e in failures} == {"1364"}
    assert all(e.time.startswith("2020-09-18T19:00:27") for e in failures)  # EventTime 15:00:27 local, UTC-4


def test_export_without_utc_stamps_is_placed_by_sysmon_utctime(corpus: Path) -> None:
    """wmic_remote_xsl_jscript has only local TimeCreated (UTC-4); Sysmon's UtcTime gives the offset, which
    also places the Security records (the verdict: 06:17:00 - 06:17:17 UTC)."""
    stats, _ = _read(corpus / "siem" / FILES["wmic_remote_xsl_jscript"])
    assert stats.first_seen.startswith("2020-10-18T06:17:00")
    assert stats.last_seen.startswith("2020-10-18T06:17:17")
    assert not stats.problems


def test_logs_reports_the_subscription_from_the_export(corpus: Path, cli) -> None:
    result = cli("logs", "--json", str(corpus / "siem" / FILES["covenant_persistwmi"]))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["files"][0]["kind"] == "jsonl"
    kinds = Counter((g["event_id"], g["kind"]) for g in report["groups"])
    assert kinds[(5861, "permanent-binding")] == 1
    assert {19, 20, 21} <= {g["event_id"] for g in report["groups"] if g["provider"] == "Microsoft-Windows-Sysmon"}
    assert any("Evil Persistence" in a["text"] and a["level"] == "error" for a in report["attention"])


def test_logs_reads_a_folder_of_exports(corpus: Path, cli) -> None:
    result = cli("logs", "--json", str(corpus / "siem"))
    report = json.loads(result.stdout)
    assert report["summary"]["files"] == 5
    assert report["summary"]["records_read"] == sum(VERDICT_LINES.values())
    codes = {row["code"]: row["count"] for row in report["failures_by_code"]}
    assert codes == {"0x80041032": 3}
