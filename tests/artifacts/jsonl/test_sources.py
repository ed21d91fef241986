"""diagnose and bundle inspect read event-log exports: a folder (or zip) of exports is read for its events
section, a bundle's logs/ folder may hold exports beside the collector's logs, and the findings an export
gives are those its .evtx gives."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from tests.artifacts.jsonl import fixtures

from wmidoctor.sources.bundle import load

ROOT = Path(__file__).resolve().parents[3]


def _groups(evidence) -> list[tuple]:
    return sorted(
        (
            g.channel,
            g.provider,
            g.event_id,
            g.kind,
            json.dumps(g.key, sort_keys=True),
            g.count,
            g.first_seen,
            g.last_seen,
            json.dumps(g.example, sort_keys=True),
        )
        for g in evidence.events.groups
    )


@pytest.mark.corpus
def test_diagnose_reads_a_folder_of_otrf_exports(corpus: Path, cli) -> None:
    result = cli("diagnose", "--json", str(corpus / "siem"))
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    events = next(e for e in report["evidence"] if e["section"] == "events")
    assert events["status"] == "collected" and len(events["sources"]) == 5
    assert all(source.startswith("jsonl:") for source in events["sources"])
    assert report["code_tally"][0]["code"] == "0x80041032" and report["code_tally"][0]["count"] == 3
    evidence = load(corpus / "siem")
    kinds = {(g.provider, g.event_id, g.kind) for g in evidence.events.groups}
    assert ("Microsoft-Windows-WMI-Activity", 5861, "permanent-binding") in kinds
    assert {
        ("Microsoft-Windows-Sysmon", i, k)
        for i, k in ((19, "sysmon-wmi-filter"), (20, "sysmon-wmi-consumer"), (21, "sysmon-wmi-binding"))
    } <= kinds
    assert ("Microsoft-Windows-WMI-Activity", 5858, "client-failure") in kinds


@pytest.mark.corpus
def test_an_export_gives_diagnose_the_evidence_its_evtx_gives(corpus: Path, tmp_path: Path) -> None:
    """The Sysmon 19/20/21 subscription sample as .evtx, and the same records as an evtx-json export."""
    import evtx

    source = corpus / "evtx" / "evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx"
    (tmp_path / "as-evtx").mkdir()
    shutil.copy(source, tmp_path / "as-evtx" / "Sysmon.evtx")
    (tmp_path / "as-json").mkdir()
    (tmp_path / "as-json" / "sysmon.jsonl").write_text(
        "".join(json.dumps(json.loads(r["data"])) + "\n" for r in evtx.PyEvtxParser(str(source)).records_json())
    )
    from_evtx, from_json = load(tmp_path / "as-evtx"), load(tmp_path / "as-json")
    assert _groups(from_json) == _groups(from_evtx)
    assert {g.event_id for g in from_json.events.groups} >= {19, 20, 21}
    assert from_json.events.hourly == from_evtx.events.hourly


def test_bundle_inspect_lists_exports_with_shape_and_count(tmp_path: Path, cli) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(ROOT / "examples" / "bundles" / "wmiprvse-quota-kill", bundle)
    exports = bundle / "logs" / "siem"
    exports.mkdir(parents=True)
    (exports / "winlogbeat.ndjson").write_text(fixtures.line(fixtures.WINLOGBEAT) * 4)
    (exports / "mixed.jsonl").write_text(fixtures.line(fixtures.NXLOG) + fixtures.line(fixtures.SPLUNK_XML))
    (exports / "notes.json").write_text(json.dumps({"analyst": "me"}))
    result = cli("bundle", "inspect", "--json", str(bundle))
    assert result.returncode == 0, result.stderr
    rows = {Path(a["path"]).name: a for a in json.loads(result.stdout)["artifacts"] if a["name"] == "event export"}
    assert rows["winlogbeat.ndjson"]["status"] == "parsed"
    assert rows["winlogbeat.ndjson"]["reason"] == "jsonl: winlogbeat 4 records"
    assert rows["mixed.jsonl"]["reason"] == "jsonl: nxlog 1, splunk 1 records"
    assert rows["notes.json"]["status"] == "present"
    evidence = load(bundle)
    assert any(g.event_id == 5858 and g.key.get("ResultCode") == "0x80041010" for g in evidence.events.groups)
    assert any(s.endswith("winlogbeat.ndjson") for s in evidence.events.sources)


def test_zipped_exports_diagnose_and_damaged_export_is_listed(tmp_path: Path, cli) -> None:
    archive = tmp_path / "exports.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export/sentinel.json", fixtures.line(fixtures.SENTINEL_EVENT) + "not json\n")
    result = cli("bundle", "inspect", str(archive))
    assert result.returncode == 1, result.stderr  # a damaged artifact
    assert "sentinel.json" in result.stdout and "1 damaged line (not JSON), first at line 2" in result.stdout
    diagnosis = cli("diagnose", "--json", str(archive))
    assert diagnosis.returncode in (0, 1) and "Traceback" not in diagnosis.stderr
    assert json.loads(diagnosis.stdout)["code_tally"][0]["code"] == "0x80041010"
