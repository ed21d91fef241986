"""Bad input never raises: damaged lines are counted with their reason and first line number, memory stays
bounded by the 16 MiB line cap (a 1 GB line is read past, not held), compressed and zipped exports are read
as streams under the bundle zip limits. Records are hand-made (fixtures.py): damage has no real sample."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zipfile
from pathlib import Path

from tests.artifacts.jsonl import fixtures

from wmidoctor.artifacts.evtx import LogStats, read_log
from wmidoctor.artifacts.jsonl import MAX_LINE_BYTES

GOOD = fixtures.line(fixtures.NXLOG).encode()


def _read(path: Path | str, stream=None) -> tuple[LogStats, list]:
    stats = LogStats(str(path))
    events = list(read_log(path, stats, lambda provider, event_id: True, stream=stream))
    return stats, events


def test_each_kind_of_damaged_line_is_counted_with_its_first_line(tmp_path: Path) -> None:
    export = tmp_path / "damaged.jsonl"
    export.write_bytes(
        GOOD
        + b"this is not json\n"
        + b"[1, 2]\n"
        + b'"just a string"\n'
        + b"\n"
        + b'{"EventID": 1, "Channel": "\xff\xfe"}\n'
        + GOOD
        + b"not json either\n"
        + GOOD[:40]
    )  # the last record cut short
    stats, events = _read(export)
    assert len(events) == stats.records_read == 2
    assert stats.records_skipped == 6 and stats.damaged
    assert stats.problems[:4] == [
        "2 damaged lines (not JSON), first at line 2",
        "2 damaged lines (a JSON value that is not an object), first at line 3",
        "1 damaged line (not UTF-8), first at line 6",
        "1 damaged line (cut short at the end of the file), first at line 9",
    ]
    assert [e.source.rpartition("#")[2] for e in events] == ["line 1", "line 7"]


def test_record_of_a_known_shape_without_an_event_id_is_damage(tmp_path: Path) -> None:
    export = tmp_path / "no-id.jsonl"
    export.write_bytes(GOOD + json.dumps({"EventID": "n/a", "Channel": "System"}).encode() + b"\n")
    stats, _ = _read(export)
    assert stats.records_read == 1 and stats.records_skipped == 1
    assert stats.problems == ["1 damaged line (nxlog record without an event: no event id), first at line 2"]


class _HugeLine(io.RawIOBase):
    """A good line, one line of `size` bytes, a good line - generated, never stored (seekable)."""

    def __init__(self, size: int) -> None:
        self.parts = [(GOOD, len(GOOD)), (None, size), (GOOD, len(GOOD))]
        self.total = sum(n for _, n in self.parts)
        self.position = 0
        self.block = b"a" * (1 << 20)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = offset if whence == 0 else (self.total + offset if whence == 2 else self.position + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:  # type: ignore[override]
        start = 0
        for data, size in self.parts:
            if self.position < start + size:
                inside = self.position - start
                count = min(len(buffer), start + size - self.position)
                if data is None:  # the huge line: '{"x": "aaaa...a"}\n'
                    chunk = (
                        (b'{"x": "' + self.block)[inside : inside + count]
                        if inside < 7
                        else self.block[:count]
                        if self.position + count < start + size - 3
                        else (self.block[: count - 3] + b'"}\n')[-count:]
                    )
                else:
                    chunk = data[inside : inside + count]
                buffer[: len(chunk)] = chunk
                self.position += len(chunk)
                return len(chunk)
            start += size
        return 0


def test_a_1_gb_line_is_read_past_in_bounded_memory() -> None:
    stream = io.BufferedReader(_HugeLine(1 << 30), buffer_size=1 << 20)
    tracemalloc.start()
    try:
        stats, events = _read("huge.jsonl", stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(events) == 2 and stats.records_skipped == 1
    assert stats.problems == [f"1 damaged line (longer than the {MAX_LINE_BYTES >> 20} MiB line cap), first at line 2"]
    assert peak < 3 * MAX_LINE_BYTES, f"peak {peak >> 20} MiB"


def test_gzip_and_utf16_exports_read_like_the_plain_one(tmp_path: Path) -> None:
    plain = GOOD * 3
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(plain))
    (tmp_path / "b.json").write_bytes(plain.decode().encode("utf-16"))
    for name, kind in (("a.jsonl.gz", "jsonl+gzip"), ("b.json", "jsonl")):
        stats, events = _read(tmp_path / name)
        assert (stats.kind, stats.records_read, len(events), stats.problems) == (kind, 3, 3, []), name


def test_a_cut_gzip_stream_keeps_what_was_read(tmp_path: Path) -> None:
    packed = gzip.compress(GOOD * 2000)
    export = tmp_path / "cut.json.gz"
    export.write_bytes(packed[: len(packed) // 2])
    stats, events = _read(export)
    assert 0 < len(events) < 2000 and stats.damaged
    assert any("compressed stream is damaged" in p for p in stats.problems)


def test_json_documents_are_streamed_record_by_record(tmp_path: Path) -> None:
    records = [fixtures.NXLOG, fixtures.WINLOGBEAT, fixtures.SENTINEL_EVENT]
    (tmp_path / "array.json").write_text(json.dumps(records, indent=2), encoding="utf-8")
    (tmp_path / "splunk.json").write_text(
        json.dumps(
            {"preview": False, "fields": [{"name": "_raw"}], "results": [fixtures.SPLUNK_XML["result"]]}, indent=1
        )
    )
    (tmp_path / "hits.json").write_text(json.dumps({"took": 3, "hits": {"total": 1, "hits": [fixtures.ELASTIC_HIT]}}))
    for name, count in (("array.json", 3), ("splunk.json", 1), ("hits.json", 1)):
        stats, events = _read(tmp_path / name)
        assert (stats.kind, stats.records_read, len(events), stats.problems) == ("json", count, count, []), name
        assert {e.fields["ResultCode"] for e in events} == {"0x80041010"}
        assert events[0].source.endswith("#item 1")
    text = json.dumps(records)
    (tmp_path / "cut.json").write_text(text[: text.index('"winlog"') + 30], encoding="utf-8")
    stats, events = _read(tmp_path / "cut.json")
    assert len(events) == 1 and stats.damaged
    assert "reading stopped" in stats.problems[0] and "first at item 2" in stats.problems[0]


def test_logs_reports_damage_without_a_traceback(tmp_path: Path, cli) -> None:
    export = tmp_path / "export.jsonl"
    export.write_bytes(GOOD + b"\x00\x01garbage\n" + GOOD)
    result = cli("logs", "--json", str(export))
    assert result.returncode == 0 and "Traceback" not in result.stderr  # damage is noted, as diagnose notes it
    report = json.loads(result.stdout)
    assert report["files"][0]["records_skipped"] == 1
    assert "first at line 2" in report["files"][0]["problems"][0]
    assert any(a["topic"] == "evidence.integrity" for a in report["attention"])


def test_folder_scan_passes_over_json_that_is_no_export(tmp_path: Path, cli) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"theme": "dark", "items": [1, 2]}, indent=2))
    (tmp_path / "notes.jsonl").write_text('{"note": "hello"}\n')
    (tmp_path / "events.ndjson").write_bytes(GOOD)
    report = json.loads(cli("logs", "--json", str(tmp_path)).stdout)
    assert [Path(f["path"]).name for f in report["files"]] == ["events.ndjson"]
    alone = cli("logs", str(tmp_path / "settings.json"))
    assert alone.returncode == 2 and "no event logs" in alone.stderr and "Traceback" not in alone.stderr


def test_zipped_export_is_read_and_a_zip_bomb_refused(tmp_path: Path, cli) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("otrf/export.json", GOOD * 5)
    report = json.loads(cli("logs", "--json", str(archive)).stdout)
    assert report["summary"]["records_read"] == 5
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export.json", GOOD + b" " * (8 << 20))
    result = cli("logs", str(bomb))
    assert result.returncode == 2 and "zip bomb" in result.stderr and "Traceback" not in result.stderr
