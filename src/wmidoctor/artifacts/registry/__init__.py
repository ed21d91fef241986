"""Registry evidence readers: offline hives (with log replay), .reg exports, security descriptors.

Callers use `Registry.open(paths)` and canonical key paths; whether a key came from a hive or an export
is recorded only as its `source`.
"""

from wmidoctor.artifacts.registry.model import RegKey, RegValue, canonical_path
from wmidoctor.artifacts.registry.view import Registry

__all__ = ["RegKey", "RegValue", "Registry", "canonical_path"]
