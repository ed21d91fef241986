"""The repository as namespaces, classes and instances, decoded lazily and tolerantly.

Keys in the index are hashes of upper-cased names (UTF-16LE; SHA-256 on Vista and later, MD5 on XP):
  NS_<namespace>/CD_<class>.<ref>               class definition
  NS_<namespace>/CR_<superclass>/C_<class>       derivation (who derives from whom)
  NS_<namespace>/CI_<class>/IL_<key>.<ref>       instance, listed under its own class
  NS_<namespace>/KI_<key class>/I_<key>.<ref>    the same instance, listed under the class defining its key
Instances are enumerated from the CI/IL keys, one per key, so instances of classes whose key is inherited
(e.g. __Win32Provider, keyed by __Provider.Name) are never collapsed.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

from wmidoctor.artifacts.gate import open_regular
from wmidoctor.artifacts.repository.decode import (
    DecodeError,
    default_of,
    read_class_record,
    read_instance_record,
    split_nd_value,
)
from wmidoctor.artifacts.repository.index import INDEX_FILE, IndexWalk, walk_index
from wmidoctor.artifacts.repository.locate import OBJECTS_FILE, find_repository, repository_files
from wmidoctor.artifacts.repository.mapping import XP, Mappings, detect_layout, read_mappings
from wmidoctor.artifacts.repository.model import NOT_SET, ClassDef, Instance, ObjectRef, Problem
from wmidoctor.artifacts.repository.objects import ObjectStore, RecordError

ROOT_NAMESPACE = "ROOT"
SYSTEM_CLASS_NAMESPACE = "__SystemClass"  # where the system classes (__NAMESPACE, __Provider...) live
NAMESPACE_CLASS = "__NAMESPACE"


def _map_file(path: Path | None) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped read-only (nothing is ever written); b"" when absent or empty."""
    if path is None:
        return b""
    with open_regular(path) as handle:
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return b""


def parse_ref(text: str) -> ObjectRef | None:
    """`<hash>.<page>.<record>.<size>` -> ObjectRef, None when the key part carries no location."""
    pieces = text.split(".")
    if len(pieces) != 4:
        return None
    try:
        return ObjectRef(int(pieces[1]), int(pieces[2]), int(pieces[3]))
    except ValueError:
        return None


class Repository:
    """An opened repository. Nothing is decoded until asked; every result is cached."""

    def __init__(self, folder: Path):
        self.path = folder
        self.files = repository_files(folder)
        self.layout = detect_layout(self.files)
        self.problems: list[Problem] = []
        self._seen_problems: set[Problem] = set()
        digest = hashlib.md5 if self.layout == XP else hashlib.sha256
        self._digest = digest
        self._hashes: dict[str, str] = {}  # name -> its index hash: the same few names are hashed again and again
        self.hash_chars = 32 if self.layout == XP else 64
        for required in (INDEX_FILE, OBJECTS_FILE):
            if required not in self.files:
                self.problem(Problem("file-missing", f"{required} is missing", file=required))
        self.mappings: Mappings = read_mappings(self.files, self.layout)
        for problem in self.mappings.problems:
            self.problem(problem)
        self.index_data = _map_file(self.files.get(INDEX_FILE))
        self.objects_data = _map_file(self.files.get(OBJECTS_FILE))
        self.store = ObjectStore(self.objects_data, self.mappings.objects)
        self._walk: IndexWalk | None = None
        self._class_refs: dict[str, dict[str, ObjectRef]] = {}
        self._instance_refs: dict[tuple[str, str], list[ObjectRef]] = {}
        self._subclasses: dict[tuple[str, str], list[str]] = {}
        self._classes: dict[tuple[str, str], ClassDef | None] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._namespaces: list[str] | None = None

    # --- problems --------------------------------------------------------------------------------

    def problem(self, problem: Problem) -> None:
        if problem not in self._seen_problems:
            self._seen_problems.add(problem)
            self.problems.append(problem)

    def _record_problem(self, exc: RecordError, namespace: str = "", class_name: str = "") -> None:
        self.problem(
            Problem(
                exc.kind,
                exc.detail,
                file=OBJECTS_FILE,
                page=exc.page,
                record=exc.record,
                namespace=namespace,
                class_name=class_name,
            )
        )

    # --- index -----------------------------------------------------------------------------------

    def hash(self, name: str) -> str:
        found = self._hashes.get(name)
        if found is None:
            found = self._hashes[name] = self._digest(name.upper().encode("utf-16-le")).hexdigest().upper()
        return found

    @property
    def walk(self) -> IndexWalk:
        if self._walk is None:
            if self.mappings.index is None:
                self._walk = IndexWalk()
            else:
                self._walk = walk_index(self.index_data, self.mappings.index, self.layout)
            for problem in self._walk.problems:
                self.problem(problem)
            self._organise(self._walk.keys)
        return self._walk

    def _organise(self, keys: list[str]) -> None:
        """Sort the index keys into lookups by namespace hash and class hash."""
        class_refs: dict[str, dict[str, ObjectRef]] = defaultdict(dict)
        instance_refs: dict[tuple[str, str], list[ObjectRef]] = defaultdict(list)
        subclasses: dict[tuple[str, str], list[str]] = defaultdict(list)
        for key in keys:
            parts = key.split("/")
            if not parts[0].startswith("NS_"):
                continue
            namespace = parts[0][3:]
            if len(parts) == 2 and parts[1].startswith("CD_"):
                ref = parse_ref(parts[1])
                if ref is not None:
                    class_refs[namespace][parts[1][3:].split(".", 1)[0]] = ref
            elif len(parts) == 3 and parts[1].startswith("CI_") and parts[2].startswith("IL_"):
                ref = parse_ref(parts[2])
                if ref is not None:
                    instance_refs[(namespace, parts[1][3:])].append(ref)
            elif len(parts) == 3 and parts[1].startswith("CR_") and parts[2].startswith("C_"):
                subclasses[(namespace, parts[1][3:])].append(parts[2][2:])
        self._class_refs, self._instance_refs, self._subclasses = (
            dict(class_refs),
            dict(instance_refs),
            dict(subclasses),
        )

    def restrict_index(self, keys: list[str]) -> None:
        """Answer from these index keys only (found by artifacts.repository.targeted) instead of walking the
        whole index: a fast read of a few classes. Classes, instances and namespaces whose keys are not
        among them are absent; nothing is verified."""
        self._walk = IndexWalk(keys=list(keys))
        self._organise(self._walk.keys)

    def class_refs(self, namespace: str) -> dict[str, ObjectRef]:
        self.walk  # noqa: B018 - builds the lookups
        return self._class_refs.get(self.hash(namespace), {})

    def instance_refs(self, namespace: str, class_name: str) -> list[ObjectRef]:
        self.walk  # noqa: B018
        return self._instance_refs.get((self.hash(namespace), self.hash(class_name)), [])

    # --- objects ---------------------------------------------------------------------------------

    def read(self, ref: ObjectRef, namespace: str = "", class_name: str = "") -> bytes | None:
        try:
            return self.store.read(ref)
        except RecordError as exc:
            self._record_problem(exc, namespace, class_name)
            return None

    # --- classes ---------------------------------------------------------------------------------

    def _class_by_hash(self, namespace: str, class_hash: str, seen: frozenset[str] = frozenset()) -> ClassDef | None:
        """Decode a class (its superclass chain first); system classes fall back to __SystemClass."""
        ns_hash = self.hash(namespace)
        cache_key = (ns_hash, class_hash)
        if cache_key in self._classes:
            return self._classes[cache_key]
        ref = self.class_refs(namespace).get(class_hash)
        if ref is None:
            if namespace != SYSTEM_CLASS_NAMESPACE:
                found = self._class_by_hash(SYSTEM_CLASS_NAMESPACE, class_hash, seen)
                self._classes[cache_key] = found
                return found
            return None
        self._classes[cache_key] = None  # guards against a derivation cycle in damaged data
        class_def = self._decode_class(namespace, class_hash, ref, seen | {class_hash})
        self._classes[cache_key] = class_def
        return class_def

    def _decode_class(self, namespace: str, class_hash: str, ref: ObjectRef, seen: frozenset[str]) -> ClassDef | None:
        record = self.read(ref, namespace)
        if record is None:
            return None
        try:
            decoded = read_class_record(record, partial(self._class_damage, namespace, ref))
        except DecodeError as exc:
            self._class_damage(namespace, ref, exc)
            return None
        part = decoded.part
        parent: ClassDef | None = None
        if decoded.superclass:
            super_hash = self.hash(decoded.superclass)
            parent = None if super_hash in seen else self._class_by_hash(namespace, super_hash, seen)
            if parent is None:
                self.problem(
                    Problem(
                        "superclass-missing",
                        f"superclass {decoded.superclass} cannot be read",
                        namespace=namespace,
                        class_name=part.name,
                    )
                )
        # An inherited property the part does not restate stays the parent's own object unless this class
        # gives it a default of its own: then a copy carries that default.
        properties = dict(parent.properties) if parent else {}
        properties.update(part.properties)
        nd_table, value_table = split_nd_value(part, len(properties))
        try:
            for name, prop in properties.items():
                inherited = parent.properties[name].default if parent and name in parent.properties else NOT_SET
                default = default_of(nd_table, value_table, part.heap, prop, inherited)
                if name in part.properties:
                    prop.default = default
                elif default is not prop.default:
                    properties[name] = replace(prop, default=default)
        except DecodeError as exc:
            self._class_damage(namespace, ref, exc, "default values", part.name)
        derivation = (
            [decoded.superclass, *parent.derivation]
            if parent and decoded.superclass
            else ([decoded.superclass] if decoded.superclass else [])
        )
        self._names[(self.hash(namespace), class_hash)] = part.name
        return ClassDef(
            namespace,
            part.name,
            decoded.superclass,
            decoded.timestamp,
            part.qualifiers,
            properties,
            part.methods,
            len(value_table),
            derivation,
        )

    def _class_damage(
        self, namespace: str, ref: ObjectRef, exc: DecodeError, what: str = "class definition", class_name: str = ""
    ) -> None:
        """A class record that does not decode, found when it is read or, for the parts decoded on first use
        (qualifiers, method parameters), when they are first asked for."""
        self._undecodable("class-undecodable", what, namespace, ref, exc, class_name)

    def _undecodable(
        self, kind: str, what: str, namespace: str, ref: ObjectRef, exc: DecodeError, class_name: str
    ) -> None:
        self.problem(
            Problem(
                kind,
                f"{what} does not decode: {exc}",
                file=OBJECTS_FILE,
                page=ref.page,
                record=ref.record,
                namespace=namespace,
                class_name=class_name,
            )
        )

    def class_def(self, namespace: str, class_name: str) -> ClassDef | None:
        """The class with every inherited property, or None when absent or unreadable."""
        return self._class_by_hash(namespace, self.hash(class_name))

    def classes(self, namespace: str, with_instances: bool = False) -> list[ClassDef]:
        """Every class stored in the namespace, decoded (unreadable ones are left out and recorded);
        `with_instances` adds the system classes (stored once, in __SystemClass) that have instances here."""
        found = []
        hashes = list(self.class_refs(namespace))
        if with_instances:
            ns_hash = self.hash(namespace)
            hashes += [c for (n, c) in self._instance_refs if n == ns_hash and c not in set(hashes)]
        for class_hash in hashes:
            class_def = self._class_by_hash(namespace, class_hash)
            if class_def is not None:
                found.append(class_def)
        return sorted(found, key=lambda c: c.name.lower())

    def subclasses(self, namespace: str, class_name: str, deep: bool = True) -> list[str]:
        """Names of the classes deriving from `class_name` in the namespace (from the derivation keys)."""
        self.walk  # noqa: B018
        # System classes derive from each other in __SystemClass; the namespace adds its own subclasses.
        ns_hashes = (self.hash(namespace), self.hash(SYSTEM_CLASS_NAMESPACE))
        names: list[str] = []
        pending = [self.hash(class_name)]
        visited: set[str] = set()
        while pending:
            current = pending.pop()
            children = [c for h in ns_hashes for c in self._subclasses.get((h, current), [])]
            for child in children:
                if child in visited:
                    continue
                visited.add(child)
                class_def = self._class_by_hash(namespace, child)
                if class_def is not None:
                    names.append(class_def.name)
                if deep:
                    pending.append(child)
        return sorted(names, key=str.lower)

    # --- instances -------------------------------------------------------------------------------

    def instance_count(self, namespace: str, class_name: str) -> int:
        return len(self.instance_refs(namespace, class_name))

    def instances(self, namespace: str, class_name: str) -> list[Instance]:
        """Every stored instance of exactly this class (one per index key); damaged ones are recorded."""
        refs = self.instance_refs(namespace, class_name)
        if not refs:
            return []
        class_def = self.class_def(namespace, class_name)
        if class_def is None:
            self.problem(
                Problem(
                    "class-missing",
                    f"{len(refs)} instances stored but their class cannot be read",
                    namespace=namespace,
                    class_name=class_name,
                )
            )
            return []
        keys = [
            name for name, prop in sorted(class_def.properties.items(), key=lambda item: item[1].index) if prop.is_key
        ]
        result = []
        for ref in refs:
            record = self.read(ref, namespace, class_def.name)
            if record is None:
                continue
            try:
                decoded = read_instance_record(record, class_def.properties, class_def.value_area_size, self.hash_chars)
            except DecodeError as exc:
                self._undecodable("instance-undecodable", "instance", namespace, ref, exc, class_def.name)
                continue
            result.append(Instance(namespace, class_def.name, decoded.values, keys, decoded.created, decoded.modified))
        return result

    def instances_deep(self, namespace: str, class_name: str) -> Iterator[Instance]:
        """Instances of the class and of every class deriving from it."""
        for name in [class_name, *self.subclasses(namespace, class_name)]:
            yield from self.instances(namespace, name)

    # --- namespaces ------------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """Every namespace reachable from ROOT through __NAMESPACE instances, ROOT first, tree order."""
        if self._namespaces is None:
            found: list[str] = []
            seen: set[str] = set()
            pending = [ROOT_NAMESPACE]
            while pending:
                namespace = pending.pop()
                if namespace.upper() in seen:
                    continue
                seen.add(namespace.upper())
                found.append(namespace)
                children = [
                    str(i.values.get("Name"))
                    for i in self.instances(namespace, NAMESPACE_CLASS)
                    if isinstance(i.values.get("Name"), str)
                ]
                pending.extend(f"{namespace}\\{child}" for child in sorted(children, key=str.lower, reverse=True))
            self._namespaces = found
        return self._namespaces

    def canonical_namespace(self, namespace: str) -> str | None:
        wanted = namespace.replace("/", "\\").strip("\\").upper()
        return next((n for n in self.namespaces() if n.upper() == wanted), None)

    def close(self) -> None:
        for data in (self.index_data, self.objects_data):
            if isinstance(data, mmap.mmap):
                with contextlib.suppress(BufferError):  # a view still refers to it: the GC closes it
                    data.close()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_repository(path: str | Path) -> Repository:
    """Open the repository at or below `path` (folder, bundle, mounted volume); NotARepository if none."""
    return Repository(find_repository(path))
