"""Event-log exports from SIEMs and collection tools (JSON lines, JSON documents, Log Analytics CSV) read
into the same `Event` as .evtx.

Shapes recognised per line are listed in `shapes.SHAPES`; a reader knows export formats, not what an
event means for WMI.
"""

from wmidoctor.artifacts.jsonl.csvrows import looks_like_csv_export
from wmidoctor.artifacts.jsonl.lines import MAX_LINE_BYTES, looks_like_json
from wmidoctor.artifacts.jsonl.reader import read_jsonl
from wmidoctor.artifacts.jsonl.shapes import SHAPES

__all__ = ["MAX_LINE_BYTES", "SHAPES", "looks_like_csv_export", "looks_like_json", "read_jsonl"]
