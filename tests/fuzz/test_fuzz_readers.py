"""Fuzz targets for the readers (Hypothesis; seeds drawn from ../shared/corpus). Each reader must either read
or report damage through its documented error type: no other exception, no hang, no unbounded growth.
CI runs each target briefly (profile `ci`); `./run fuzz` runs them for long (profile `long`)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.strategies import bytes_or_mutated, mutated

from wmidoctor.artifacts.evtx.event import LogStats
from wmidoctor.artifacts.evtx.normalise import from_json
from wmidoctor.artifacts.evtx.reader import read_log
from wmidoctor.artifacts.mof.parser import parse_bytes
from wmidoctor.artifacts.registry.regfile import RegFileError, decode_text, parse_reg_text
from wmidoctor.artifacts.registry.security import SecurityDescriptorError, parse_binary
from wmidoctor.artifacts.repository.index import PAGE_SIZE, PageError, parse_page
from wmidoctor.evidence.model import Evidence

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def _seed(relative: str, limit: int = 256 * 1024) -> bytes:
    path = CORPUS / relative
    return path.read_bytes()[:limit] if path.exists() else b""


@pytest.fixture(autouse=True)
def _corpus_seeds(corpus):
    return corpus


OLE_REG = _seed("registry/HKLM_SOFTWARE_Microsoft_Ole.reg")
MOF = _seed("mof/win32/snippets_implementing-cross-namespace-permanent-event-subscriptions__1.mof")
EVTX = _seed("evtx/evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx", 1 << 20)
JSONL = _seed("siem/otrf__covenant_persistwmi_2019-12-05044734.json", 64 * 1024)
INDEX = _seed("repository/win10-dissect-cim/INDEX.BTR", PAGE_SIZE * 4)
XML_EVENT = (
    b'<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="P"/>'
    b'<EventID>5858</EventID><TimeCreated SystemTime="2023-01-01T00:00:00Z"/><EventRecordID>7'
    b"</EventRecordID><Channel>C</Channel><Computer>H</Computer></System><UserData><Op><A>1</A></Op>"
    b"</UserData></Event>"
)


def _all(provider: str, event_id: int) -> bool:
    return True


@given(bytes_or_mutated(OLE_REG))
def test_reg_export_text(data):
    problems: list[str] = []
    try:
        parse_reg_text(decode_text(data), problems=problems, source="fuzz.reg")
    except RegFileError:  # not an export at all: the documented refusal
        return
    assert len(problems) < 10_000


@given(st.binary(max_size=512))
def test_security_descriptor(data):
    try:
        sd = parse_binary(data)
    except SecurityDescriptorError:
        return
    assert isinstance(sd.sddl, str)


@given(bytes_or_mutated(MOF))
def test_mof(data):
    document = parse_bytes(data, "fuzz.mof")
    assert all(d.code.startswith("MOF-") for d in document.diagnostics)


@given(bytes_or_mutated(XML_EVENT * 3))
def test_xml_event_export(data):
    stats = LogStats("fuzz.xml")
    list(read_log("fuzz.xml", stats, _all, stream=io.BytesIO(b"<" + data)))
    assert stats.records_read >= 0


@given(mutated(EVTX))
def test_evtx(data):
    stats = LogStats("fuzz.evtx")
    list(read_log("fuzz.evtx", stats, _all, stream=io.BytesIO(data)))
    assert stats.records_read >= 0


@given(mutated(JSONL))
def test_jsonl_export(data):
    """A SIEM JSON-lines export, mutated: lines become damage, never an exception."""
    stats = LogStats("fuzz.json")
    list(read_log("fuzz.json", stats, _all, stream=io.BytesIO(data)))
    assert stats.records_read >= 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["System", "EventData", "UserData", "Event", "x"]), JSON_VALUES, max_size=4))
def test_evtx_record_normalisation(record):
    event = from_json({"Event": record}, "fuzz")
    assert event is None or isinstance(event.event_id, int)


SECTIONS = st.sampled_from(["identity", "events", "dcom", "subscriptions", "connectivity", "repository"])


@given(st.dictionaries(SECTIONS, JSON_VALUES, max_size=3))
def test_saved_evidence(sections):
    data = json.loads(Evidence().to_json())
    data.update(sections)
    with contextlib.suppress(ValueError):
        Evidence.from_data(data)


@given(bytes_or_mutated(INDEX[:PAGE_SIZE]))
def test_repository_index_page(data):
    page = data.ljust(PAGE_SIZE, b"\0")[:PAGE_SIZE]
    with contextlib.suppress(PageError):
        parse_page(page, 0, 0)
