"""The one judgement of a subscription chain: its risk (knowledge.persistence), payload and indicators.

`diagnose` (checks.security), `logs` and `repo persistence` all call `judge_chains`, so a chain gets the
same verdict whichever verb shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wmidoctor.checks.security_indicators import extract
from wmidoctor.evidence.chains import Chain, assemble, image_name
from wmidoctor.evidence.model import Evidence
from wmidoctor.knowledge.persistence import Assessment, allowed, assess
from wmidoctor.knowledge.subscriptions import payload

PAYLOAD_PROPERTIES = ("CommandLineTemplate", "ExecutablePath", "ScriptText", "ScriptFileName", "Destination")


@dataclass
class JudgedChain:
    chain: Chain
    assessment: Assessment
    payload: str  # the command line or script, in full
    indicators: dict[str, list[str]]

    @property
    def verdict(self) -> str:
        return self.assessment.verdict

    @property
    def severity(self) -> str:
        return self.assessment.severity

    def item(self) -> dict[str, Any]:
        """Stable machine-readable fields (JSON report, JSON lines)."""
        c = self.chain
        return {
            "kind": "wmi-subscription",
            "verdict": self.verdict,
            "severity": self.severity,
            "score": self.assessment.score,
            "attack": self.assessment.techniques,
            "namespace": c.namespace,
            "filter": c.filter_name,
            "query": c.query,
            "event_namespace": c.event_namespace,
            "consumer_class": c.consumer_class,
            "consumer": c.consumer_name,
            "payload": self.payload,
            "properties": dict(c.properties),
            "creator": c.creator,
            "state": c.state,
            "bound": c.bound,
            "timers": list(c.timers),
            "allow_listed": self.assessment.allowed.product if self.assessment.allowed else "",
            "reasons": [
                {"rule": r.id, "reason": r.reason, "technique": r.technique, "source": r.source}
                for r in self.assessment.matched
            ],
            "indicators": self.indicators,
            "hosts": sorted({s.host for s in c.sightings if s.host}),
            "seen": [
                {
                    "source": s.what,
                    "part": s.kind,
                    "operation": s.operation,
                    "time": s.time,
                    "user": s.user,
                    "host": s.host,
                    "locator": s.source,
                }
                for s in sorted(c.sightings, key=lambda s: s.time)
            ],
            "runs": [
                {
                    "image": r.image,
                    "command_line": r.command_line,
                    "user": r.user,
                    "time": r.time,
                    "parent": r.parent_image,
                    "locator": r.source,
                }
                for r in c.runs
            ],
        }

    def headline(self) -> str:
        """`root\\subscription: filter "F" (query) -> ActiveScriptEventConsumer "C" by SID [present]`."""
        c = self.chain
        where = f"{c.namespace}: " if c.namespace else ""
        trigger = f'filter "{c.filter_name}"' if c.filter_name else "no filter bound"
        query = f" ({c.query}" + (f", in {c.event_namespace}" if c.event_namespace else "") + ")" if c.query else ""
        by = f" created by {c.creator}" if c.creator else ""
        return f'{where}{trigger}{query} -> {c.consumer_class or "consumer"} "{c.consumer_name}"{by} [{c.state}]'


def chain_payload(chain: Chain) -> str:
    """The command line or script the consumer runs; for other consumers their target properties."""
    text = payload(chain.consumer_class, chain.properties)
    if text:
        return text
    if chain.properties.get("Destination"):
        return chain.properties["Destination"]
    return ""


def judge(chain: Chain) -> JudgedChain:
    text = chain_payload(chain)
    parts = {
        "consumer_class": chain.consumer_class,
        "payload": text,
        "filter": chain.query,
        "timer": "; ".join(chain.timers),
        "namespace": chain.namespace,
        "creator": chain.creator,
        "run": " ".join(image_name(r.image) for r in chain.runs),
    }
    allow = allowed(
        chain.namespace,
        chain.consumer_class,
        chain.consumer_name,
        chain.filter_name,
        chain.creator,
        text if payload(chain.consumer_class, chain.properties) else "",
    )
    return JudgedChain(chain, assess(parts, allow), text, extract("\n".join(filter(None, (text, chain.query)))))


def judge_chains(ev: Evidence) -> list[JudgedChain]:
    """Every chain the evidence describes, judged; the most alarming first."""
    rank = {"error": 0, "warning": 1, "info": 2}
    judged = [judge(chain) for chain in assemble(ev)]
    return sorted(judged, key=lambda j: (rank[j.severity], -j.assessment.score))
