"""XML that comes from the network (WS-Man answers) or from evidence (SIEM exports, XML event exports) is never
allowed a DTD: entity expansion (billion laughs) and external entities are refused, not expanded. Hostile inputs
are made by the tests."""

from __future__ import annotations

import io

import pytest
from defusedxml import DefusedXmlException

from wmidoctor.artifacts.evtx.event import LogStats
from wmidoctor.artifacts.evtx.xmlexport import read_xml
from wmidoctor.artifacts.jsonl.shapes import data_xml_fields
from wmidoctor.remote.wsman import decode_fault

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 9))
    + "]>"
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
FAULT = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Sender'
    '</s:Value></s:Code><s:Reason><s:Text xml:lang="en">&{entity};</s:Text></s:Reason></s:Fault></s:Body>'
    "</s:Envelope>"
)


@pytest.mark.parametrize("prologue, entity", [(LAUGHS, "lol8"), (EXTERNAL, "secret")])
def test_a_ws_man_answer_with_a_dtd_is_refused(prologue, entity):
    with pytest.raises(DefusedXmlException):
        decode_fault(prologue + FAULT.format(entity=entity))


def test_a_siem_event_xml_field_with_a_dtd_gives_no_fields():
    hostile = LAUGHS + '<EventData><Data Name="Query">&lol8;</Data></EventData>'
    assert data_xml_fields(hostile) == {}
    assert data_xml_fields('<EventData><Data Name="Query">select</Data></EventData>') == {"Query": "select"}


def test_an_xml_event_export_cannot_declare_entities():
    """An export is read inside a synthetic root, where a DOCTYPE is not well-formed: the file is damage."""
    stats = LogStats(path="hostile.xml", kind="xml")
    events = list(
        read_xml(
            io.BytesIO((LAUGHS + "<Events><Event>&lol8;</Event></Events>").encode()),
            "hostile.xml",
            stats,
            lambda provider, event_id: True,
        )
    )
    assert events == []
    assert stats.unreadable
    assert any("malformed" in problem for problem in stats.problems)
