"""The verbs end to end: diagnose --format jsonl/json, logs and repo persistence show the same chains with the
same verdicts (one judgement path)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from security_bundles import APTSIM_LOGS, APTSIM_REPOSITORY, SYSMON_LOG, SYSMON_SUBSCRIPTION

SCHEMA = Path(__file__).resolve().parents[3] / "src" / "wmidoctor" / "schemas" / "report.schema.json"
LINE_FIELDS = [
    "schema",
    "generated_at",
    "host",
    "source",
    "check",
    "status",
    "severity",
    "title",
    "summary",
    "attack",
    "indicators",
    "codes",
    "evidence",
    "fixes",
    "references",
    "items",
]


def test_jsonl_one_finding_per_line_with_stable_fields(cli, bundle_of):
    bundle = bundle_of("sysmon", logs={SYSMON_LOG: SYSMON_SUBSCRIPTION})
    result = cli("diagnose", str(bundle), "--format", "jsonl")
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and all(list(line) == LINE_FIELDS for line in lines)
    assert all(line["status"] not in ("pass", "skipped") for line in lines)
    first = lines[0]
    assert first["check"] == "security.subscriptions" and first["severity"] == "error"
    assert first["host"] == "IEWIN7"  # the evidence names no host: the records do
    assert "T1546.003" in first["attack"] and first["indicators"]["paths"] == ["c:\\Windows\\System32\\cmd.exe"]


def test_json_report_carries_chains_with_techniques_and_follows_the_schema(cli, bundle_of):
    bundle = bundle_of("apt", logs={"": APTSIM_LOGS}, repository=APTSIM_REPOSITORY)
    result = cli("diagnose", str(bundle), "--format", "json")
    data = json.loads(result.stdout)
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    security = data["findings"][0]
    assert security["check"] == "security.subscriptions" and security["severity"] == "error"
    kill = next(i for i in security["items"] if i["consumer"] == "KillProcess")
    assert kill["attack"][0] == "T1546.003" and kill["verdict"] == "malicious"


def test_logs_and_repo_persistence_judge_as_diagnose_does(cli, corpus, bundle_of):
    logs = json.loads(cli("logs", str(corpus / APTSIM_LOGS), "--format", "json").stdout)
    from_logs = {c["consumer"]: (c["verdict"], c["severity"], c["score"]) for c in logs["subscriptions"]}
    repo = json.loads(cli("repo", "persistence", str(corpus / APTSIM_REPOSITORY), "--json").stdout)
    from_repo = {c["consumer"]: (c["verdict"], c["severity"], c["score"]) for c in repo["chains"]}
    assert from_logs == from_repo
    assert from_logs["KillProcess"][:2] == ("malicious", "error")
    assert from_logs["SCM Event Log Consumer"][:2] == ("allow-listed", "info")
    (finding,) = [a for a in logs["attention"] if a["topic"] == "security.subscriptions"]
    assert finding["level"] == "error" and "KillProcess" in finding["text"]


def test_logs_text_names_filter_consumer_payload_and_user(cli, corpus):
    text = cli("logs", str(corpus / SYSMON_SUBSCRIPTION)).stdout
    block = text[text.index("WMI event subscriptions") :]
    for expected in (
        'CommandLineEventConsumer "BotConsumer23" [removed]',
        "filter:    BotFilter82",
        "payload:   c:\\Windows\\System32\\cmd.exe",
        "user:      IEWIN7\\IEUser",
        "ran:       2019-05-11T17:58:50.075000Z C:\\Windows\\System32\\cmd.exe as NT AUTHORITY\\SYSTEM",
    ):
        assert expected in block
    # Sysmon's raw quoting would show as doubled backslashes and a quoted name after a space
    assert "\\\\Windows" not in text and '-> "' not in text and ':  "' not in text


def test_html_collapses_a_long_script_and_keeps_it_whole(cli, bundle_of, tmp_path):
    bundle = bundle_of("repo", repository=APTSIM_REPOSITORY)
    out = tmp_path / "report.html"
    cli("diagnose", str(bundle), "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    script = page[page.index('<details class="long"><summary>payload of &#34;KillProcess&#34;') :]
    script = script[: script.index("</details>")]
    assert "<pre>" in script and "oProcess.Terminate()" in script and "Next" in script
