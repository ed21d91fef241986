"""Load a bundle into Evidence: a collector folder or .zip, a mounted Windows volume, a folder of event-log
exports (events section only), or saved evidence JSON.

`load(path)` finds the artifacts (sources.layout), hands each to its reader once, and records in
`evidence.collection` what every artifact gave: parsed, present but not read (and why), damaged (with
the reason; the rest still loads) or missing (with the collector's reason when its manifest gives one).
The bundle is only read: a zip is extracted, under safety limits, into a private temporary folder.

Order matters: the live WMI query results and the repository give the providers whose CLSIDs the
registry step then looks up; the registry gives the Autorecover MOFs list and the COM server paths the
volume step looks up on the disk, and the MOF step parses.

`quick` (diagnose --quick) skips the repository read and the MOF parsing, and reads only the newest
chunks of large .evtx logs (sources.quicklogs); each artifact and the events section say what was left out.

The two slow parts run side by side: with a repository copy and event logs both present, another process
reads and verifies the repository while this one reads the logs. Their results are still applied in the
order above, so the evidence is the same as from one process.
"""

from __future__ import annotations

import json
import ntpath
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from wmidoctor.artifacts.gate import read_capped
from wmidoctor.errors import InputError
from wmidoctor.evidence import Evidence
from wmidoctor.evidence.codec import change_strings
from wmidoctor.evidence.model import COLLECTED, PARTIAL, ArtifactStatus, Repository
from wmidoctor.sources import commands, listings, volume, wmi_queries
from wmidoctor.sources.artifacts import (
    COMMAND,
    EVENT_LOG,
    HIVE,
    LISTING,
    QUERY,
    REG_EXPORT,
    REPOSITORY_COPY,
    TRACE,
    Artifact,
)
from wmidoctor.sources.identity import identity_from_events, identity_from_registry, settle_edition
from wmidoctor.sources.layout import (
    EVENTS,
    SECTION_SOURCES,
    VOLUME,
    ZIP,
    Layout,
    detect,
    forget_listings,
    single_file,
)
from wmidoctor.sources.manifest import Manifest, read_manifest
from wmidoctor.sources.winpaths import volume_relative
from wmidoctor.vocabulary import ArtifactState

if TYPE_CHECKING:
    from concurrent.futures import Future

    from wmidoctor.logs.analysis import Analysis

__all__ = ["load", "volume_relative"]

PRESENT: Final = "present"
PARSED: Final = "parsed"
DAMAGED: Final = "damaged"
MISSING: Final = "missing"
SKIPPED: Final = "skipped"
EVIDENCE_SCHEMA = re.compile(r'"schema"\s*:\s*"wmidoctor\.evidence/')


def load(path: str | Path, quick: bool = False) -> Evidence:
    """Evidence from a bundle folder, .zip, mounted Windows volume or saved evidence JSON.

    `quick` skips reading the repository (its listing and the live verdict are still used) and parsing the
    Autorecover MOFs, and reads only the newest 4 MiB of each large .evtx log.
    Raises InputError (one line) when PATH is none of these or the zip is unsafe.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    forget_listings()
    if path.is_dir():
        layout = detect(path)
        if layout is None:
            raise InputError(
                f"{path}: holds no WMI evidence (no wmidoctor bundle, no Windows/System32 with hives, "
                "logs or repository, no hive, event log or export, repository or .reg export)"
            )
        return Loader(layout, path, quick).load()
    if path.suffix.lower() == ".json":
        return _saved_evidence(path)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return _load_zip(path, quick)
    single = single_file(path)
    if single is not None:
        return Loader(single, path, quick).load()
    raise InputError(
        f"{path}: not a bundle nor a WMI artifact (expected a folder, a .zip, a mounted Windows volume, "
        "an evidence .json, a registry hive or .reg export, an event log or a repository file)"
    )


def _saved_evidence(path: Path) -> Evidence:
    text = read_capped(path, "json").decode("utf-8-sig", errors="replace")
    if not EVIDENCE_SCHEMA.search(text[:4096]):
        raise InputError(f"{path}: not a wmidoctor evidence file (no schema wmidoctor.evidence/N)")
    try:
        evidence = Evidence.from_json(text)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a readable wmidoctor evidence file ({exc})") from None
    settle_edition(evidence)  # evidence saved before editions were derived
    return evidence


def _load_zip(path: Path, quick: bool) -> Evidence:
    from wmidoctor.artifacts.archive import extract

    with tempfile.TemporaryDirectory(prefix="wmidoctor-bundle-") as scratch:
        root = Path(scratch)
        damaged = extract(path, root)
        layout = detect(root, ZIP)
        if layout is None:
            raise InputError(f"{path}: the zip holds no wmidoctor bundle and no Windows volume")
        return Loader(layout, path, quick, damaged_members=damaged).load()


def _relative_sources(evidence: Evidence, root: Path) -> Evidence:
    """Locators relative to the bundle (`evtx:logs/System.evtx`), whatever folder it was read from."""
    prefixes = sorted({str(root) + os.sep, str(root.resolve()) + os.sep}, key=len, reverse=True)

    def relative(text: str) -> str:
        for prefix in prefixes:
            if prefix in text:
                text = text.replace(prefix, "")
        return text

    changed: Evidence = change_strings(evidence, relative)
    return changed


class Loader:
    """One load of one layout: fills a fresh Evidence and the status of every expected artifact."""

    def __init__(
        self, layout: Layout, shown_path: Path, quick: bool, damaged_members: dict[str, str] | None = None
    ) -> None:
        self.layout = layout
        self.quick = quick
        self.evidence = Evidence()
        self.manifest: Manifest | None = None
        collection = self.evidence.collection
        collection.path, collection.kind, collection.layout = str(shown_path), layout.kind, layout.description
        absent = "not on the volume" if layout.kind == VOLUME else "not in the bundle"
        self.status = {a.key: ArtifactStatus(a.name, "", MISSING, absent) for a in layout.expected}
        self.exports: list[ArtifactStatus] = []  # event-log exports beyond the artifact list, as read
        for key, found in layout.found.items():
            self.status[key].path = self._relative(found)
            self.status[key].status, self.status[key].reason = PRESENT, ""
        self._damaged_members(damaged_members or {})

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.layout.root).as_posix()
        except ValueError:
            return str(path)

    def _damaged_members(self, members: dict[str, str]) -> None:
        for artifact in self.layout.expected:
            for name in artifact.names:
                reason = next((r for m, r in members.items() if m.lower().endswith(name.lower())), None)
                if reason and artifact.key not in self.layout.found:
                    self.status[artifact.key] = ArtifactStatus(artifact.name, name, DAMAGED, f"in the zip: {reason}")

    def _set(self, key: str, status: ArtifactState, reason: str = "") -> None:
        entry = self.status[key]
        entry.status, entry.reason = status, reason

    def _artifacts(self, *kinds: str) -> list[tuple[Artifact, Path]]:
        return [
            (a, self.layout.found[a.key])
            for a in self.layout.expected
            if a.kind in kinds and a.key in self.layout.found
        ]

    def _source(self, path: Path) -> str:
        return self._relative(path)

    # --- the load --------------------------------------------------------------------------------

    def load(self) -> Evidence:
        self.read_json(QUERY, wmi_queries.FILLERS)
        self.read_manifest()  # first: it says which files a stopped collector step left unfit to read
        with self._repositories_aside() as repositories:
            events = self.analyse_events(jobs=max(1, (os.cpu_count() or 1) - 1) if repositories else None)
            self.read_repository(repositories)
        self.read_registry()
        self.read_json(LISTING, listings.FILLERS)
        self.read_commands()
        self.check_volume_files()
        self.match_mof_files()
        self.parse_autorecover_mofs()
        self.read_events(events)
        self.read_trace()
        self.finish()
        return _relative_sources(self.evidence, self.layout.root)

    def read_manifest(self) -> None:
        path = self.layout.path("Manifest")
        if path is None:
            return
        try:
            self.manifest = read_manifest(path)
        except ValueError as exc:
            self._set("Manifest", DAMAGED, str(exc))
            return
        self.manifest.fill(self.evidence, self._source(path))
        self._set("Manifest", PARSED)
        for artifact in self.layout.expected:
            entry = self.manifest.entry(artifact.names)
            if entry is None or self.status[artifact.key].status == DAMAGED:
                continue
            if artifact.key in self.layout.found:
                # A file a stopped step left (a log export, a command's output, a copy) may be cut short: never read
                # as evidence about the host. JSON results are written whole, with what failed inside them.
                if entry.cut_short and artifact.kind not in (QUERY, LISTING):
                    self._set(
                        artifact.key,
                        DAMAGED,
                        f"the collector's step {entry.status}: "
                        f"{entry.error or 'no reason given'}; the file may be incomplete and was not read",
                    )
                    del self.layout.found[artifact.key]
                continue
            self.status[artifact.key].status, self.status[artifact.key].reason = entry.missing_status()

    def _read_json_file(self, path: Path) -> Any:
        try:
            raw = read_capped(path, "json")
        except (OSError, InputError) as exc:  # over the cap, or a FIFO/device where a file should be
            raise ValueError(str(exc)) from None
        return json.loads(raw.decode("utf-8-sig"))

    def read_json(self, kind: str, fillers: Mapping[str, Callable[[Evidence, Any, str], None]]) -> None:
        for artifact, path in self._artifacts(kind):
            try:
                fillers[artifact.key](self.evidence, self._read_json_file(path), self._source(path))
            except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
                self._set(artifact.key, DAMAGED, f"{type(exc).__name__}: {exc}"[:300])
                continue
            self._set(artifact.key, PARSED)

    # --- repository ------------------------------------------------------------------------------

    @contextmanager
    def _repositories_aside(self) -> Iterator[dict[Path, Future[RepositoryRead]]]:
        """Each repository copy's full read started in another process when event logs will be read meanwhile
        (empty otherwise: the repository is then read here, in its turn)."""
        copies = [path for _, path in self._artifacts(REPOSITORY_COPY)]
        if self.quick or not copies or not self._log_paths() or (os.cpu_count() or 1) < 2:
            yield {}
            return
        from concurrent.futures import ProcessPoolExecutor  # ~40 ms to import: only when a read goes aside

        pool = ProcessPoolExecutor(max_workers=1)
        try:
            yield {path: pool.submit(read_repository_copy, path) for path in copies}
        finally:
            # not waited for: the process then frees what it read (a tenth of a second) beside this one's work
            pool.shutdown(wait=False, cancel_futures=True)

    def read_repository(self, pending: Mapping[Path, Future[RepositoryRead]]) -> None:
        for artifact, path in self._artifacts(REPOSITORY_COPY):
            if self.quick:
                self._set(artifact.key, *self._read_subscriptions(path))
                continue
            self._set(artifact.key, *self._take_repository(_read_here_or_aside(path, pending.get(path))))

    def _read_subscriptions(self, path: Path) -> tuple[ArtifactState, str]:
        """--quick: only the subscription classes (what the security checks need), no verification."""
        from wmidoctor.artifacts.repository import NotARepository, open_repository
        from wmidoctor.sources.repository import restrict_to_subscriptions, subscriptions

        skipped = "not read with --quick (only its event subscriptions were)"
        if self.evidence.subscriptions.collected:
            return SKIPPED, "not read with --quick"
        try:
            with open_repository(path) as repository:
                restrict_to_subscriptions(repository)
                section = subscriptions(repository)
        except (NotARepository, OSError, ValueError) as exc:
            return DAMAGED, str(exc)
        section.mark_collected(f"repository:{path} (subscription classes only, --quick)")
        self.evidence.subscriptions = section
        return SKIPPED, skipped

    def _take_repository(self, read: RepositoryRead) -> tuple[ArtifactState, str]:
        """From a repository read into a scratch Evidence, take what the live queries did not give (the live
        view wins; the repository adds files, the offline verdict and the rest)."""
        scratch, unreadable = read
        if scratch is None:
            return DAMAGED, unreadable
        for name in ("providers", "namespaces", "subscriptions", "quotas"):
            if not getattr(self.evidence, name).collected:
                setattr(self.evidence, name, getattr(scratch, name))
        merge_repository(self.evidence.repository, scratch.repository)
        verdicts = [v.verdict for v in scratch.repository.verifications]
        if "inconsistent" in verdicts:
            return DAMAGED, f"the offline reader finds it inconsistent ({len(scratch.repository.problems)} problems)"
        return PARSED, ""

    # --- registry --------------------------------------------------------------------------------

    def read_registry(self) -> None:
        found = self._artifacts(REG_EXPORT, HIVE)
        absent = [
            a
            for a in self.layout.expected
            if a.kind == REG_EXPORT and self.manifest and (e := self.manifest.entry(a.names)) and e.absent
        ]
        if not found and not absent:
            return
        from wmidoctor.artifacts.registry import Registry
        from wmidoctor.sources.registry import fill_evidence

        registry = Registry.open([path for _, path in found])
        for artifact in absent:  # the key does not exist on the host: an empty subtree, not "not collected"
            registry.exports.add_root(artifact.registry_key)
        fill_evidence(registry, self.evidence)
        identity_from_registry(registry, self.evidence)
        problems = registry.all_problems()
        for artifact, path in found:
            own = [p for p in problems if p.startswith(path.name)]
            self._set(artifact.key, DAMAGED if own else PARSED, "; ".join(own)[:500])

    # --- command outputs -------------------------------------------------------------------------

    def _exit_code(self, artifact: Artifact) -> int | None:
        entry = self.manifest.entry(artifact.names) if self.manifest else None
        return entry.exit_code if entry else None

    def read_commands(self) -> None:
        from wmidoctor.artifacts.cmdout.text import decode_output

        for artifact, path in self._artifacts(COMMAND):
            try:
                text = decode_output(read_capped(path, "command output"))
            except (OSError, InputError) as exc:
                self._set(artifact.key, DAMAGED, str(exc)[:300])
                continue
            source = self._source(path)
            try:
                if artifact.key == "VerifyRepository":
                    commands.fill_verify(self.evidence, text, source, self._exit_code(artifact))
                elif artifact.key in commands.KEYED_FILLERS:
                    commands.KEYED_FILLERS[artifact.key](self.evidence, text, source)
                else:
                    prefix, service = _service_artifact(artifact.key)
                    commands.SERVICE_FILLERS[prefix](self.evidence, service, text, source)
            except commands.CommandOutputError as exc:
                self._set(artifact.key, DAMAGED, str(exc))
                continue
            self._set(artifact.key, PARSED)

    # --- volume: Autorecover MOFs and provider binaries looked up on the disk ------------------------

    def check_volume_files(self) -> None:
        if self.layout.kind != VOLUME:
            return
        repository, providers = self.evidence.repository, self.evidence.providers
        hive = self._why_not("SoftwareHive")
        if "AutorecoverFiles" in self.layout.found:
            if not repository.autorecover_mofs:
                self._set("AutorecoverFiles", PRESENT, f"no Autorecover MOFs list to look up ({hive})")
            else:
                volume.autorecover_files(repository, self.layout.root)
                repository.mark_collected(f"volume:{repository.autorecover_source or 'Autorecover MOFs'}")
                self._set("AutorecoverFiles", PARSED)
        if "ProviderServerFiles" in self.layout.found:
            if not providers.com_servers:
                self._set(
                    "ProviderServerFiles",
                    PRESENT,
                    f"no provider COM registrations to look up ({hive}; providers come from the repository)",
                )
            else:
                answered = volume.server_binaries(providers, self.layout.root)
                self._set("ProviderServerFiles", PARSED, "" if answered else "no server path on the system volume")

    def _why_not(self, key: str) -> str:
        entry = self.status[key]
        return f"{entry.name} {entry.status}" + (f": {entry.reason}" if entry.reason else "")

    # --- flat folders: MOF files matched by name to the Autorecover MOFs list ----------------------

    def match_mof_files(self) -> None:
        """Give each listed MOF whose file name lies in the flat folder's MOF folder that file as its copy, so it
        is parsed. A listed MOF not there stays unknown (a flat copy need not hold every file), never missing."""
        folder = self.layout.path("MofFiles")
        if folder is None or self.layout.kind == VOLUME:
            return
        mofs = self.evidence.repository.autorecover_mofs
        if not mofs:
            keys = [k for k in ("SoftwareHive",) if k in self.status]
            self._set(
                "MofFiles",
                PRESENT,
                "no Autorecover MOFs list to match them against" + (f" ({self._why_not(keys[0])})" if keys else ""),
            )
            return
        by_name = {name.lower(): name for name in os.listdir(folder) if name.lower().endswith(".mof")}
        matched = 0
        for mof in mofs:
            name = by_name.get(ntpath.basename(mof.path.strip().strip('"')).lower())
            if name and not mof.copy:
                mof.copy, matched = self._relative(folder / name), matched + 1
        self._set(
            "MofFiles", PARSED if matched else PRESENT, f"{matched} of the {len(mofs)} listed MOFs found by file name"
        )

    # --- Autorecover MOFs through the MOF parser ------------------------------------------------

    def parse_autorecover_mofs(self) -> None:
        from wmidoctor.sources.mofs import parse_autorecover

        section = self.evidence.repository
        if section.autorecover_mofs:
            parse_autorecover(section, self.layout.root, self.layout.kind == VOLUME, self.quick)
            return
        keys = ("SoftwareHive", "RegWbem", "AutorecoverListing")
        section.autorecover_reason = "; ".join(self._why_not(k) for k in keys if k in self.status)

    # --- event logs ------------------------------------------------------------------------------

    def _log_paths(self) -> list[Path]:
        return [path for _, path in self._artifacts(EVENT_LOG)] + self.layout.event_files

    def analyse_events(self, jobs: int | None) -> tuple[Analysis, dict[str, str]] | None:
        """The event logs' analysis, read ahead of its turn, and with --quick what was left out of each log
        (None: no logs)."""
        paths = self._log_paths()
        if not paths:
            return None
        from wmidoctor.logs.run import analyse
        from wmidoctor.sources.quicklogs import analyse_newest

        if self.quick:
            return analyse_newest(paths)
        return analyse([str(path) for path in paths], jobs=jobs), {}

    def read_events(self, analysed: tuple[Analysis, dict[str, str]] | None) -> None:
        if analysed is None:
            return
        from wmidoctor.sources.events import events_section, traces_section

        analysis, shortened = analysed
        logs, exports = self._artifacts(EVENT_LOG), self.layout.event_files
        self.evidence.events = events_section(analysis)
        identity_from_events(analysis.logs, self.evidence)
        self.evidence.wmi_traces = traces_section(analysis)
        if shortened:
            section = self.evidence.events
            told = [section.reason] if section.status == PARTIAL else []
            section.status, section.reason = (
                PARTIAL,
                "; ".join(told + [f"{Path(label).name}: {what}" for label, what in shortened.items()]),
            )
        by_path = {stats.path: stats for stats in analysis.logs}
        for artifact, path in logs:
            stats = by_path.get(str(path))
            if stats is None:
                self._set(artifact.key, PRESENT, "no events in the file")
            elif stats.damaged:
                self._set(artifact.key, DAMAGED, "; ".join(stats.problems[:3]) or "damaged")
            else:
                self._set(artifact.key, PARSED, shortened.get(str(path), ""))
        for path in exports:
            self.exports.append(_export_status(self._relative(path), by_path.get(str(path))))

    def read_trace(self) -> None:
        from wmidoctor.sources.trace import read_trace_artifacts

        for key, status, reason in read_trace_artifacts(self.evidence, self._artifacts(TRACE)):
            self._set(key, status, reason)

    # --- summary ---------------------------------------------------------------------------------

    def finish(self) -> None:
        settle_edition(self.evidence)
        self.settle_repository()
        self.explain_not_collected()
        collection = self.evidence.collection
        collection.artifacts = list(self.status.values()) + self.exports
        counts = {s: sum(1 for a in collection.artifacts if a.status == s) for s in (PARSED, DAMAGED, PRESENT)}
        read = counts[PARSED] + counts[DAMAGED]
        if not read:
            collection.reason = "no artifact could be read"
            return
        collection.mark_collected(
            f"{self.layout.kind}:{collection.path}", f"{counts[DAMAGED]} damaged artifacts" if counts[DAMAGED] else None
        )

    def settle_repository(self) -> None:
        """The registry step marks the repository section partial when it comes first; a live verdict and
        a file listing read later complete it as far as a bundle without a repository copy can."""
        section = self.evidence.repository
        if section.status == PARTIAL and section.files and section.verifications:
            section.status, section.reason = COLLECTED, ""

    def explain_not_collected(self) -> None:
        """A section left empty says which artifacts would have fed it and what became of them, or, when this
        layout has none for it, what evidence would."""
        where = f"not in this {self.layout.description}"
        for name, section in self.evidence.sections().items():
            if section.collected or name == "collection":
                continue
            feeders = [a for a in self.layout.expected if name in a.feeds]
            if not feeders:
                section.reason = (
                    "only event logs were given"
                    if self.layout.kind == EVENTS
                    else f"not part of a {self.layout.kind} bundle"
                )
                continue
            parts = []
            for artifact in feeders:
                entry = self.status[artifact.key]
                if entry.status == PARSED:
                    continue  # read, but it holds nothing for this section
                parts.append(f"{artifact.name} {entry.status}" + (f" ({entry.reason})" if entry.reason else ""))
            needs = SECTION_SOURCES.get(name, "")
            section.reason = ("; ".join(parts) if parts else where + (f": needs {needs}" if needs else ""))[:400]


# A repository copy read into a scratch Evidence, or None and why it could not be opened.
RepositoryRead = tuple[Evidence | None, str]


def _read_here_or_aside(path: Path, aside: Future[RepositoryRead] | None) -> RepositoryRead:
    """The other process's read of the copy, or this process's when there was none or that process died."""
    if aside is not None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return aside.result()
        except BrokenProcessPool:
            pass
    return read_repository_copy(path)


def read_repository_copy(path: Path) -> RepositoryRead:
    """Read and verify the repository copy at `path` into a scratch Evidence (in whichever process runs it)."""
    from wmidoctor.artifacts.repository import NotARepository, open_repository
    from wmidoctor.sources.repository import fill_evidence

    try:
        repository = open_repository(path)
    except (NotARepository, OSError, ValueError) as exc:
        return None, str(exc)
    scratch = Evidence()
    with repository:
        fill_evidence(scratch, repository)
    return scratch, ""


def merge_repository(target: Repository, read: Repository) -> None:
    target.files = target.files or read.files
    target.verifications.extend(read.verifications)
    if target.corrupted_rec is None:
        target.corrupted_rec = read.corrupted_rec
    target.problems.extend(read.problems)
    for source in read.sources:
        target.mark_collected(source)


EVENT_EXPORT = "event export"


def _export_status(relative: str, stats: Any) -> ArtifactStatus:
    """How one event-log export read: its format (per-line shapes for JSON lines) and record count."""
    if stats is None:
        return ArtifactStatus(EVENT_EXPORT, relative, PRESENT, "not an event log or export (no events read)")
    shapes = ", ".join(f"{shape} {n}" for shape, n in stats.shapes.most_common())
    what = f"{stats.kind}: {shapes or stats.records_read} records"
    if stats.damaged:
        return ArtifactStatus(EVENT_EXPORT, relative, DAMAGED, f"{what}; " + "; ".join(stats.problems[:3]))
    return ArtifactStatus(EVENT_EXPORT, relative, PARSED, what)


def _service_artifact(key: str) -> tuple[str, str]:
    """`ScQueryExWinmgmt` -> ("ScQueryEx", "Winmgmt")."""
    for prefix in sorted(commands.SERVICE_FILLERS, key=len, reverse=True):
        if key.startswith(prefix):
            return prefix, key[len(prefix) :]
    raise KeyError(key)
