"""Messages never show wmidoctor's private scratch folders (a temp path means nothing to the reader and tells
a log reader where to look). Built from the real dirty hive SYSTEM_B with its transaction log replaced by
garbage made by the test, so the replay fails inside the scratch copy."""

from __future__ import annotations

import shutil

from wmidoctor.artifacts.registry.hive import Hive


def test_a_failed_log_replay_names_the_hive_not_the_scratch_copy(corpus, tmp_path):
    shutil.copyfile(corpus / "registry" / "SYSTEM_B", tmp_path / "SYSTEM_B")
    (tmp_path / "SYSTEM_B.LOG1").write_bytes(b"HvLE" + bytes(range(256)) * 64)
    hive = Hive(tmp_path / "SYSTEM_B")
    assert hive.dirty
    failed = [problem for problem in hive.problems if "replaying" in problem]
    assert failed, hive.problems
    assert all("wmidoctor-hive-" not in problem and "/tmp" not in problem for problem in hive.problems), hive.problems
