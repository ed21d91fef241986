"""The integrity pass on clean repositories and on damaged copies: never an exception, damage named."""

from __future__ import annotations

import random
import struct

import pytest

from wmidoctor.artifacts.repository import open_repository, verify

from .conftest import APTSIM, WIN10

PAGE = 0x2000


@pytest.mark.parametrize("name", [WIN10, APTSIM])
def test_clean_repositories_are_consistent(repositories, name):
    report = verify(open_repository(repositories / name))
    assert report.consistent, report.problems[:5]
    assert report.counts["references"] == report.counts["references_resolved"] > 9000
    assert report.counts["namespaces"] == 92


def _verify(folder):
    report = verify(open_repository(folder))
    assert report.verdict == "INCONSISTENT"
    return report, {p.kind for p in report.problems}


def _truncate(path, fraction):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def test_objects_truncated(damaged_copy):
    folder = damaged_copy()
    _truncate(folder / "OBJECTS.DATA", 0.5)
    report, kinds = _verify(folder)
    assert "object-page-outside" in kinds
    assert any(p.page is not None and p.record is not None for p in report.problems)


def test_index_truncated(damaged_copy):
    folder = damaged_copy()
    _truncate(folder / "INDEX.BTR", 0.33)
    _, kinds = _verify(folder)
    assert "index-page-outside" in kinds


def _overwrite(path, seed, count, width, pages=None):
    rng = random.Random(seed)
    data = bytearray(path.read_bytes())
    for _ in range(count):
        page = rng.choice(pages) if pages else rng.randrange(len(data) // PAGE)
        at = page * PAGE + rng.randrange(PAGE - width)
        data[at : at + width] = rng.randbytes(width)
    path.write_bytes(bytes(data))


def test_random_overwrites_in_index_pages(damaged_copy):
    folder = damaged_copy()
    _overwrite(folder / "INDEX.BTR", seed=7, count=200, width=16)
    report, kinds = _verify(folder)
    assert kinds & {
        "index-page-malformed",
        "index-page-signature",
        "index-key-order",
        "record-missing",
        "record-size",
        "object-page-unmapped",
        "index-page-unmapped",
    }
    assert any(p.file == "INDEX.BTR" and p.page is not None for p in report.problems)


def test_random_overwrites_in_object_pages(damaged_copy):
    folder = damaged_copy()
    _overwrite(folder / "OBJECTS.DATA", seed=11, count=2000, width=16)
    report, _ = _verify(folder)
    assert any(p.file == "OBJECTS.DATA" for p in report.problems)


def test_zeroed_object_pages(damaged_copy):
    folder = damaged_copy()
    path = folder / "OBJECTS.DATA"
    data = bytearray(path.read_bytes())
    for page in range(0, len(data) // PAGE, 7):
        data[page * PAGE : (page + 1) * PAGE] = bytes(PAGE)
    path.write_bytes(bytes(data))
    report, kinds = _verify(folder)
    assert "record-missing" in kinds
    assert (
        any(p.namespace or p.class_name for p in report.problems)
        or report.counts["references_resolved"] < report.counts["references"]
    )


def test_zeroed_mapping_signatures(damaged_copy):
    folder = damaged_copy()
    for name in ("MAPPING1.MAP", "MAPPING2.MAP", "MAPPING3.MAP"):
        path = folder / name
        data = bytearray(path.read_bytes())
        data[0:4] = bytes(4)
        path.write_bytes(bytes(data))
    report, kinds = _verify(folder)
    assert "mapping-signature" in kinds
    assert {p.file for p in report.problems if p.kind == "mapping-signature"} == {
        "MAPPING1.MAP",
        "MAPPING2.MAP",
        "MAPPING3.MAP",
    }
    assert report.counts["references_resolved"] > 9000  # still read, despite the signatures


def test_missing_mapping_files(damaged_copy):
    folder = damaged_copy()
    (folder / "MAPPING2.MAP").unlink()
    (folder / "MAPPING3.MAP").unlink()
    report, kinds = _verify(folder)
    assert "mapping-missing" in kinds
    assert {p.file for p in report.problems if p.kind == "mapping-missing"} == {"MAPPING2.MAP", "MAPPING3.MAP"}


def test_all_mapping_files_missing(damaged_copy):
    folder = damaged_copy()
    for name in ("MAPPING1.MAP", "MAPPING2.MAP", "MAPPING3.MAP"):
        (folder / name).unlink()
    _, kinds = _verify(folder)
    assert "mapping-none" in kinds


def test_same_generation_mappings_that_disagree(damaged_copy):
    folder = damaged_copy()
    path = folder / "MAPPING2.MAP"  # same sequence number as MAPPING1.MAP in this sample
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 24 + 24 * 5, 2)  # logical page 5 now points elsewhere
    path.write_bytes(bytes(data))
    _, kinds = _verify(folder)
    assert "mapping-disagreement" in kinds
