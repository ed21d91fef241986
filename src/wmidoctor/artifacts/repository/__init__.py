"""Our own reader and verifier of the WMI (CIM) repository: INDEX.BTR, OBJECTS.DATA, MAPPING*.MAP.

Entry points: `open_repository(path)` gives a `Repository` (namespaces, classes, instances, decoded
lazily and tolerantly), `verify(repository)` gives a `VerifyReport` (the integrity pass). Damage never
raises out of the reader: it becomes a `Problem` with the page, record, namespace or class it touched.
"""

from wmidoctor.artifacts.repository.locate import NotARepository, find_repository
from wmidoctor.artifacts.repository.model import ClassDef, Instance, Method, Problem, Property, Qualifier
from wmidoctor.artifacts.repository.reader import Repository, open_repository
from wmidoctor.artifacts.repository.verify import VerifyReport, verify

__all__ = [
    "ClassDef",
    "Instance",
    "Method",
    "NotARepository",
    "Problem",
    "Property",
    "Qualifier",
    "Repository",
    "VerifyReport",
    "find_repository",
    "open_repository",
    "verify",
]
