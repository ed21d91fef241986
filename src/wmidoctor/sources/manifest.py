"""The collector's manifest.json: who collected what, when, and how each step went.

Shape (written by collect/Collect-WmiDoctor.ps1):
`{"schema": "wmidoctor.bundle/1", "tool": "Collect-WmiDoctor", "version": "0.1.0", "host": "PC01",
  "collected_at": "2024-05-01T13:02:11Z", "ui_culture": "en-US", "elevated": true,
  "personal_data": ["host name", ...],
  "artifacts": [{"name": "logs/System.evtx", "status": "ok", "error": "", "duration_ms": 812, "exit_code": 0}]}`
Artifact status: ok | failed | timeout | absent (the key or file does not exist on the host) | skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wmidoctor.artifacts.gate import read_capped
from wmidoctor.errors import InputError
from wmidoctor.evidence import Evidence
from wmidoctor.sources.wmi_queries import as_list
from wmidoctor.vocabulary import ArtifactState


@dataclass
class ManifestEntry:
    name: str
    status: str
    error: str = ""
    duration_ms: int | None = None
    exit_code: int | None = None

    @property
    def absent(self) -> bool:
        return self.status == "absent"

    @property
    def cut_short(self) -> bool:
        """The collector stopped this step (time limit) or it failed midway: a file it left may be incomplete."""
        return self.status in ("timeout", "failed")

    def missing_status(self) -> tuple[ArtifactState, str]:
        """(status, reason) for an artifact the manifest names but the bundle does not hold."""
        if self.status == "skipped":
            return "skipped", self.error or "skipped by the collector"
        if self.absent:
            return "missing", "absent on the host" + (f" ({self.error})" if self.error else "")
        if self.status == "ok":
            return "missing", "the collector wrote it but the bundle does not hold it"
        why = self.error or "no reason given"
        return "missing", f"collector step {self.status}: {why}"


@dataclass
class Manifest:
    data: dict[str, Any]
    entries: dict[str, ManifestEntry] = field(default_factory=dict)  # lower-case name -> entry

    def entry(self, names: tuple[str, ...]) -> ManifestEntry | None:
        return next((self.entries[n.lower()] for n in names if n.lower() in self.entries), None)

    def fill(self, evidence: Evidence, source: str) -> None:
        """Collection facts; the host name as identity when the WMI identity query did not fill it."""
        collection, identity = evidence.collection, evidence.identity
        collection.collector_version = str(self.data.get("version") or "")
        collection.collected_at = str(self.data.get("collected_at") or "")
        collection.personal_data = [str(p) for p in as_list(self.data.get("personal_data"))]
        collection.sources.append(source)
        if self.data.get("host") and not identity.collected:
            identity.host = str(self.data["host"])
            identity.language = str(self.data.get("ui_culture") or "")
            identity.mark_collected(source, "host name only (WMI identity not read)")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unsigned(code: int | None) -> int | None:
    """Exit codes as Windows documents them: collectors before 0.3 stored an HRESULT exit as a negative Int32."""
    return code & 0xFFFFFFFF if code is not None and code < 0 else code


def read_manifest(path: Path) -> Manifest:
    """Raise ValueError when the file is not a manifest in the collector's shape."""
    try:
        raw = read_capped(path, "manifest")  # a FIFO or device named manifest.json would block a plain read
    except OSError as exc:  # InputError for a file over the cap, NotARegularFile (an OSError too) for a FIFO
        raise ValueError(f"manifest.json cannot be read: {exc}") from None
    except InputError as exc:
        raise ValueError(str(exc)) from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("wmidoctor.bundle/"):
        raise ValueError("manifest.json has no schema wmidoctor.bundle/N")
    manifest = Manifest(data)
    for item in as_list(data.get("artifacts")):
        if isinstance(item, dict) and item.get("name"):
            entry = ManifestEntry(
                str(item["name"]),
                str(item.get("status") or ""),
                str(item.get("error") or ""),
                _int(item.get("duration_ms")),
                _unsigned(_int(item.get("exit_code"))),
            )
            manifest.entries[entry.name.lower()] = entry
    return manifest
