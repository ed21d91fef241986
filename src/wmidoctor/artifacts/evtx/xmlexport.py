"""Read XML exports of event logs (`wevtutil qe /f:xml`, Event Viewer "Save as XML") as a stream.

Exports come as a bare sequence of <Event> elements or wrapped in a root (<Events>); either way the
text is fed to an incremental parser inside a synthetic root, and each <Event> is normalised and
dropped as soon as it closes, so memory does not grow with the file. XML declarations anywhere in the
stream (concatenated exports) are removed first.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from wmidoctor.artifacts.evtx.event import Event, LogStats
from wmidoctor.artifacts.evtx.normalise import from_element

_DECLARATION = re.compile(r"<\?xml[^>]*\?>")
_BLOCK = 1 << 16  # what is fed to the parser at once: its elements are all alive until read back


def _decoder(head: bytes) -> codecs.IncrementalDecoder:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return codecs.getincrementaldecoder("utf-16")(errors="replace")
    return codecs.getincrementaldecoder("utf-8-sig")(errors="replace")


def _texts(stream: BinaryIO) -> Iterator[str]:
    """Decoded text without XML declarations (a tag split across blocks is held back until it is whole)."""
    head = stream.read(_BLOCK)
    decoder = _decoder(head)
    carry = ""
    block = head
    while block:
        text = carry + decoder.decode(block)
        cut = text.rfind("<")  # a tag cut by the block end (perhaps a declaration) waits for the next block
        if cut != -1 and ">" not in text[cut:]:
            text, carry = text[:cut], text[cut:]
        else:
            carry = ""
        yield _DECLARATION.sub("", text)
        block = stream.read(_BLOCK)
    yield _DECLARATION.sub("", carry + decoder.decode(b"", final=True))


def looks_like_xml(head: bytes) -> bool:
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        head = head.removeprefix(bom)
    text = head.replace(b"\x00", b"").lstrip()
    return text.startswith(b"<")


def _is_event(element: Element) -> bool:
    return element.tag.rpartition("}")[2] == "Event"


def _elements(parser: XMLPullParser[Element]) -> Iterator[tuple[str, Element]]:
    """The parser's "start" and "end" events, the only kinds it is asked for, with their element."""
    for item in parser.read_events():
        if len(item) == 2 and isinstance(item[1], Element):
            yield item[0], item[1]


MAX_DEPTH = 64  # an exported <Event> nests about six levels; deeper is not an export


def read_xml(
    stream: BinaryIO, name: str, stats: LogStats, select: Callable[[str, int], bool], since: str = "", until: str = ""
) -> Iterator[Event]:
    """Yield the selected events of one XML export; count every event in `stats`.

    Every element that closes directly under the synthetic root or under a wrapper is dropped at once, <Event>
    or not, so a file of other elements costs no more memory than one of events."""
    locator = f"xml:{name}"
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    parser.feed("<wmidoctor-export>")
    open_elements: list[Element] = []
    try:
        for text in _texts(stream):
            parser.feed(text)
            for kind, element in _elements(parser):
                if kind == "start":
                    open_elements.append(element)
                    if len(open_elements) > MAX_DEPTH + 1:
                        stats.add_problem(f"XML nests deeper than {MAX_DEPTH} levels, reading stopped")
                        stats.unreadable = stats.records_read == 0
                        return
                    continue
                open_elements.pop()
                event = None
                is_event = _is_event(element)
                if is_event:
                    stats.records_read += 1
                    event = from_element(element, locator)
                parent = open_elements[-1] if open_elements else None
                if (
                    parent is not None
                    and (len(open_elements) == 1 or not _is_event(parent))
                    and len(open_elements) <= 2
                ):  # directly under the synthetic root or a wrapper (<Events>)
                    element.clear()
                    parent.remove(element)
                if not is_event:
                    continue
                if event is None:
                    stats.records_skipped += 1
                    stats.add_problem("an <Event> without a <System> block was skipped")
                    continue
                second = event.time[:19]
                stats.see_record(event.time)
                if (since and second < since) or (until and second > until):
                    continue
                stats.counts[(event.channel, event.provider, event.event_id)] += 1
                stats.see_time(event.time)
                if select(event.provider, event.event_id):
                    yield event
        parser.feed("</wmidoctor-export>")
        parser.close()
    except ParseError as exc:
        stats.add_problem(f"XML is malformed from here on, reading stopped: {exc}")
        if stats.records_read == 0:
            stats.unreadable = True
