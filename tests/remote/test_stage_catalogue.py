"""The probe's stage table (knowledge/probe_stages.tsv) is the stage plans the probe walks, and
docs/probe-stages.md is what it generates."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.knowledge.probe_stages import probe_stages
from wmidoctor.remote import dcom, wsman
from wmidoctor.remote.catalogue import REGENERATE, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "probe-stages.md"


def test_the_table_names_every_stage_of_each_plan_in_order_with_its_layer() -> None:
    for transport, plan in (("dcom", dcom.PLAN), ("wsman", wsman.PLAN)):
        rows = [(s.stage, s.layer) for s in probe_stages() if s.transport == transport]
        assert rows == list(plan), transport


def test_every_stage_says_what_it_sends_what_it_proves_and_where_that_is_documented() -> None:
    for stage in probe_stages():
        assert stage.sent and stage.proves and stage.source, stage


def test_docs_probe_stages_md_is_what_the_table_generates() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), f"docs/probe-stages.md is stale: run `{REGENERATE}`"
