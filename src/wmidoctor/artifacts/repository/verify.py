"""The integrity pass: every structure checked, every reference resolved, every object decoded.

Checks, in order: files present; mapping files (signatures, sizes, the current one chosen by sequence
number, same-generation copies agree); each table maps logical pages to distinct physical pages inside
the file; every physical page is either mapped or on the free list (otherwise it is orphaned); the
index B-tree (page signatures, structure, key order, no unreachable active pages); every object
reference in the index resolves through the mapping to a record of the stated size (and CRC-32 where
the page stores one); every namespace, class and instance decodes. A class's qualifier sets and its
methods' parameters are checked for where they lie (inside the record), not decoded: the reader decodes
them when first used and records any damage met then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from wmidoctor.artifacts.repository.index import INDEX_FILE
from wmidoctor.artifacts.repository.index import PAGE_SIZE as INDEX_PAGE
from wmidoctor.artifacts.repository.locate import OBJECTS_FILE
from wmidoctor.artifacts.repository.mapping import UNMAPPED, PageTable
from wmidoctor.artifacts.repository.model import ObjectRef, Problem
from wmidoctor.artifacts.repository.objects import PAGE_SIZE as OBJECT_PAGE
from wmidoctor.artifacts.repository.objects import RecordError
from wmidoctor.artifacts.repository.reader import SYSTEM_CLASS_NAMESPACE, Repository, parse_ref

CONSISTENT, INCONSISTENT = "CONSISTENT", "INCONSISTENT"


@dataclass
class VerifyReport:
    path: str
    layout: str
    verdict: str
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def consistent(self) -> bool:
        return self.verdict == CONSISTENT

    def problem_counts(self) -> dict[str, int]:
        tally: dict[str, int] = {}
        for problem in self.problems:
            tally[problem.kind] = tally.get(problem.kind, 0) + 1
        return tally

    def to_data(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "layout": self.layout,
            "verdict": self.verdict,
            "counts": self.counts,
            "problem_counts": self.problem_counts(),
            "problems": [p.to_data() for p in self.problems],
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


def _check_table(table: PageTable | None, file_size: int, page_size: int, file: str, report: VerifyReport) -> None:
    if table is None:
        return
    file_pages = file_size // page_size
    if file_size % page_size:
        report.problems.append(
            Problem(
                "file-size",
                f"{file} is {file_size} bytes, not a whole number of {page_size}-byte pages (truncated or extended)",
                file=file,
            )
        )
    if table.physical_pages != file_pages:
        report.notes.append(
            f"{file}: mapping header counts {table.physical_pages} physical pages, the file holds {file_pages}"
        )
    owner: dict[int, int] = {}
    for logical, physical in enumerate(table.pages):
        if physical == UNMAPPED:
            continue
        if physical >= file_pages:
            report.problems.append(
                Problem(
                    "page-outside-file",
                    f"logical page maps to physical page {physical}, beyond the {file_pages} pages of the file",
                    file=file,
                    page=logical,
                )
            )
        elif physical in owner:
            report.problems.append(
                Problem(
                    "page-mapped-twice",
                    f"physical page {physical} is also mapped by logical page {owner[physical]}",
                    file=file,
                    page=logical,
                )
            )
        else:
            owner[physical] = logical
    free = {p for p in table.free if p < file_pages}
    orphans = sorted(set(range(file_pages)) - owner.keys() - free)
    if orphans:
        shown = ", ".join(str(p) for p in orphans[:5])
        report.problems.append(
            Problem(
                "orphan-pages", f"{len(orphans)} physical pages are neither mapped nor free (first: {shown})", file=file
            )
        )
    report.counts[f"{file.lower()}_pages"] = file_pages
    report.counts[f"{file.lower()}_free_pages"] = len(free)


def _check_references(repository: Repository, report: VerifyReport) -> None:
    refs: dict[ObjectRef, str] = {}
    for key in repository.walk.keys:
        ref = parse_ref(key.rsplit("/", 1)[-1])
        if ref is not None:
            refs.setdefault(ref, key)
    resolved = bad_checksums = 0
    for ref in refs:
        try:
            record = repository.store.read(ref)
        except RecordError as exc:
            report.problems.append(Problem(exc.kind, exc.detail, file=OBJECTS_FILE, page=exc.page, record=exc.record))
            continue
        resolved += 1
        if repository.store.checksum_ok(ref, record) is False:
            bad_checksums += 1
            report.problems.append(
                Problem(
                    "record-checksum",
                    "record bytes do not match the CRC-32 in the page's table of contents",
                    file=OBJECTS_FILE,
                    page=ref.page,
                    record=ref.record,
                )
            )
    report.counts["references"] = len(refs)
    report.counts["references_resolved"] = resolved


def _decode_everything(repository: Repository, report: VerifyReport) -> None:
    namespaces = repository.namespaces()
    known = {repository.hash(n) for n in [*namespaces, SYSTEM_CLASS_NAMESPACE]}
    stored = {key.split("/", 1)[0][3:] for key in repository.walk.keys if key.startswith("NS_")}
    unreachable = stored - known
    if unreachable:
        report.problems.append(
            Problem(
                "namespace-unreachable",
                f"{len(unreachable)} namespaces hold objects but no "
                "__NAMESPACE instance links them to ROOT (lost parent or damaged index)",
            )
        )
    classes = instances = 0
    for namespace in [*namespaces, SYSTEM_CLASS_NAMESPACE]:
        for class_def in repository.classes(namespace):
            classes += 1
            instances += len(repository.instances(namespace, class_def.name))
    report.counts.update(namespaces=len(namespaces), classes=classes, instances=instances)


def verify(repository: Repository) -> VerifyReport:
    """Run every check; never raises on damaged data (each finding is a Problem)."""
    started = time.perf_counter()
    report = VerifyReport(str(repository.path), repository.layout, CONSISTENT)
    mappings = repository.mappings
    report.notes.extend(mappings.notes)
    if mappings.current:
        report.notes.append(
            f"current mapping: {mappings.current} (sequence {mappings.objects.sequence if mappings.objects else '?'})"
        )
    _check_table(mappings.objects, len(repository.objects_data), OBJECT_PAGE, OBJECTS_FILE, report)
    _check_table(mappings.index, len(repository.index_data), INDEX_PAGE, INDEX_FILE, report)
    walk = repository.walk
    report.counts.update(index_pages=len(walk.pages), index_keys=len(walk.keys))
    for logical in walk.unreachable:
        report.problems.append(
            Problem(
                "index-orphan-page", "active index page that no other page points to", file=INDEX_FILE, page=logical
            )
        )
    _check_references(repository, report)
    _decode_everything(repository, report)
    seen = set(report.problems)
    report.problems = [*[p for p in repository.problems if p not in seen], *report.problems]
    report.problems = list(dict.fromkeys(report.problems))
    if report.problems or not walk.keys:
        report.verdict = INCONSISTENT
        if not walk.keys:
            report.problems.append(Problem("index-empty", "the index holds no keys", file=INDEX_FILE))
    report.seconds = time.perf_counter() - started
    return report
