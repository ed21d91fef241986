"""A bundle collected with -TraceSeconds: the loader reads trace/ into Evidence.trace and `diagnose` runs the
trace checks on it. The trace events are built from the provider's templates (no public capture exists);
the rest of the bundle is one of the project's example bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from trace_factories import Scenario, to_etl, to_xml

from wmidoctor.sources.bundle import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bundles" / "wmiprvse-quota-kill"


def _bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, bundle)
    s = Scenario()
    for i in range(800):
        s.operation(i * 0.5, 0.4, pid=6012, query="select * from Win32_Product", provider="MsiProv", host_id=3100)
    s.operation(10.0, None, pid=4242, query="select * from Win32_LogicalDisk")
    (bundle / "trace").mkdir()
    (bundle / "trace" / "Microsoft-Windows-WMI-Activity%4Trace.xml").write_text(to_xml(s.ordered()), "utf-8")
    (bundle / "trace" / "wmi-trace.etl").write_bytes(to_etl([]))
    return bundle


def test_the_loader_fills_the_trace_section(tmp_path: Path) -> None:
    evidence = load(_bundle(tmp_path))
    trace = evidence.trace
    assert trace.collected and trace.completed == 800 and trace.unfinished_total == 1
    assert trace.clients[0].client == "pid 6012 on HOST1" and trace.clients[0].share == 1.0
    assert trace.unfinished[0].seconds == 389.9  # the last stop: 799 x 0.5 s + 0.4 s
    statuses = {a.name: a.status for a in evidence.collection.artifacts}
    assert statuses["trace/Microsoft-Windows-WMI-Activity%4Trace.evtx"] == "parsed"
    assert statuses["trace/wmi-trace.etl"] == "parsed"


def test_diagnose_reports_the_dominant_client_and_the_stuck_query(tmp_path: Path, cli) -> None:
    result = cli("diagnose", str(_bundle(tmp_path)), "--json")
    assert result.returncode == 1, result.stderr
    findings = {f["check"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["trace.dominant-client"]["status"] == "warn"
    assert findings["trace.unfinished-operations"]["status"] == "warn"
    assert "Win32_LogicalDisk" in findings["trace.unfinished-operations"]["evidence"][0]["detail"]


def test_a_bundle_without_a_trace_skips_the_trace_checks(cli) -> None:
    result = cli("diagnose", str(EXAMPLE), "--json")
    findings = {f["check"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["trace.dominant-client"]["status"] == "skipped"
    assert "not in the bundle" in findings["trace.dominant-client"]["summary"]
