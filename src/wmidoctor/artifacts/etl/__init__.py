"""ETL trace files: our own walk of the buffer container and a decoder of manifest-based events.

Why our own reader: etl-parser (Apache-2.0) reads the same container but builds every record through
`construct`, under 1 MB/s on the corpus files; this walk uses `struct` on one buffer at a time. etl-parser
remains the test oracle for record counts (tests/trace). dissect.etl is AGPL and is not used.
"""

from wmidoctor.artifacts.etl.container import Clock, EtlStats, walk
from wmidoctor.artifacts.etl.manifest import compile_template, guid_bytes
from wmidoctor.artifacts.etl.reader import EtlReading, ManifestProvider, read_etl

ETL_SUFFIX = ".etl"

__all__ = [
    "ETL_SUFFIX",
    "Clock",
    "EtlReading",
    "EtlStats",
    "ManifestProvider",
    "compile_template",
    "guid_bytes",
    "read_etl",
    "walk",
]
