"""--quick on event logs: a large .evtx is read through its header and newest chunks only."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmidoctor.sources.quicklogs import CHUNK_BYTES, HEADER_BYTES, analyse_newest, newest_chunks

pytestmark = pytest.mark.corpus


def _record_ids(source) -> list[int]:
    import evtx

    return [r["event_record_id"] for r in evtx.PyEvtxParser(source, skip_errors=True).records()]


def test_newest_chunks_hold_the_newest_records(corpus: Path) -> None:
    import io

    log = corpus / "evtx" / "omerbenamram-evtx__security.evtx"
    image, total = newest_chunks(log, HEADER_BYTES + 3 * CHUNK_BYTES)
    assert len(image) == HEADER_BYTES + 3 * CHUNK_BYTES and total > 3
    every, newest = _record_ids(str(log)), _record_ids(io.BytesIO(image))
    assert 0 < len(newest) < len(every)
    assert sorted(newest) == sorted(every)[-len(newest) :]  # exactly the newest records, none lost


def test_small_logs_and_other_files_are_read_whole(corpus: Path, tmp_path: Path) -> None:
    log = corpus / "evtx" / "omerbenamram-evtx__security.evtx"
    assert newest_chunks(log, log.stat().st_size) is None
    fake = tmp_path / "x.evtx"
    fake.write_bytes(b"\0" * (HEADER_BYTES + 4 * CHUNK_BYTES))
    assert newest_chunks(fake, HEADER_BYTES + CHUNK_BYTES) is None


def test_analyse_newest_says_what_it_left_out(corpus: Path) -> None:
    log = corpus / "evtx" / "omerbenamram-evtx__security.evtx"
    analysis, shortened = analyse_newest([log], HEADER_BYTES + 2 * CHUNK_BYTES)
    assert shortened == {str(log): "--quick read the newest 2 of 26 chunks (0.1 of 2.1 MiB)"}
    assert analysis.logs[0].path == str(log) and 0 < analysis.logs[0].records_read < 2261
