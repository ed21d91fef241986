"""Saved evidence is a file a user hands us: every value is checked against its declared type, and the
first one that does not fit is named by its path, exit 2 (hand-made hostile inputs, made by the tests)."""

import json
import subprocess
import sys

import pytest

from wmidoctor.evidence.codec import DecodeError
from wmidoctor.evidence.model import EventGroup, Evidence, Setting


def _saved() -> dict:
    ev = Evidence()
    ev.identity.host = "WS01"
    ev.events.groups.append(
        EventGroup(
            "Microsoft-Windows-WMI-Activity/Operational",
            "Microsoft-Windows-WMI-Activity",
            5858,
            {"ResultCode": "0x80041003"},
            count=3,
        )
    )
    ev.dcom.enable_dcom = Setting("Y", "registry:x")
    ev.connectivity.status = "collected"
    return json.loads(ev.to_json())


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (("identity", "host"), 5, "identity.host: expected str, got int"),
        (("events", "groups", 0, "count"), "3", "events.groups[0].count: expected int, got str"),
        (("events", "groups", 0, "count"), True, "events.groups[0].count: expected int, got bool"),
        (("events", "groups", 0, "key"), [], "events.groups[0].key: expected object, got array"),
        (("events", "groups", 0, "key", "ResultCode"), 7, "events.groups[0].key.ResultCode: expected str, got int"),
        (("events", "groups"), {}, "events.groups: expected array, got object"),
        (("dcom", "enable_dcom", "value"), {"a": 1}, "dcom.enable_dcom.value: expected int or str or array or null"),
        (("dcom", "enable_dcom"), "Y", "dcom.enable_dcom: expected object or null, got str"),
        (("events", "groups", 0, "provider"), None, "events.groups[0].provider: expected str, got null"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_by_its_path(where, value, message):
    data = _saved()
    node = data
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    with pytest.raises(DecodeError) as raised:
        Evidence.from_data(data)
    assert str(raised.value).startswith(message)


def test_a_missing_required_field_is_named():
    data = _saved()
    del data["events"]["groups"][0]["event_id"]
    with pytest.raises(DecodeError, match=r"^events\.groups\[0\]\.event_id: missing$"):
        Evidence.from_data(data)


def test_right_types_round_trip_and_ints_stand_for_floats():
    data = _saved()
    assert Evidence.from_data(data) == Evidence.from_data(json.loads(json.dumps(data)))
    data["connectivity"]["probes"] = [
        {"target": "h", "transport": "dcom", "stages": [{"name": "dns", "status": "ok", "elapsed_ms": 3}]}
    ]
    stage = Evidence.from_data(data).connectivity.probes[0].stages[0]
    assert stage.elapsed_ms == 3.0 and isinstance(stage.elapsed_ms, float)


def _diagnose(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wmidoctor", "diagnose", str(path)], capture_output=True, text=True, timeout=60
    )


def test_diagnose_names_the_bad_field_in_one_line_and_exits_2(tmp_path):
    data = _saved()
    data["events"]["groups"][0]["count"] = "many"
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(data))
    result = _diagnose(path)
    assert result.returncode == 2, result.stderr
    assert "events.groups[0].count: expected int, got str" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_deeply_nested_saved_evidence_is_one_line_exit_2(tmp_path):
    data = _saved()
    path = tmp_path / "evidence.json"
    text = json.dumps(data)
    path.write_text(text[:-1] + ', "extra": ' + "[" * 200_000 + "]" * 200_000 + "}")
    result = _diagnose(path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
