"""The evidence itself: damage that makes checks impossible is said once, as damaged evidence, not as a host fault.

Damage in configuration evidence (a hive, a .reg export, collector output) leaves checks unable to judge what
they need, so it is a warning: the diagnosis is incomplete. Damage in event logs is an evidence-quality note
(info): reading goes on past damaged chunks and records, and the event checks count what could be read.
"""

from __future__ import annotations

from wmidoctor.checks.spec import CHECKS, Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix

# Sections the configuration checks read; their problems are damage in hives, exports or collector output.
CONFIGURATION_SECTIONS = (
    "services",
    "dcom",
    "firewall",
    "remote_uac",
    "rpc_policy",
    "providers",
    "namespaces",
    "quotas",
)
LOG_SECTIONS = ("events",)
SHOWN = 5


def _checks_reading(sections: list[str]) -> list[str]:
    return sorted(spec.id for spec in CHECKS.values() if set(spec.needs) & set(sections))


def integrity(ev: Evidence, v: Verdict) -> Finding:
    sections = ev.sections()
    damaged_config = [name for name in CONFIGURATION_SECTIONS if sections[name].collected and sections[name].problems]
    damaged_logs = [name for name in LOG_SECTIONS if sections[name].collected and sections[name].problems]
    artifacts = [a for a in ev.collection.artifacts if a.status == "damaged"]
    evidence = [ref(a.path or a.name, f"damaged: {a.reason[:200]}") for a in artifacts]
    problems = list(dict.fromkeys(p for name in damaged_config for p in sections[name].problems))
    evidence += [ref(f"section:{name}", f"{len(sections[name].problems)} unreadable items") for name in damaged_config]
    if damaged_config:
        affected = _checks_reading(damaged_config)
        evidence += [ref("damage", p[:200]) for p in problems[:SHOWN]]
        return v.warn(
            f"The evidence is damaged: {len(problems)} unreadable items in what feeds the "
            f"{', '.join(damaged_config)} section(s). Checks reading them ({', '.join(affected)}) judge "
            "only what could be read, and say 'not known' where the damage may hide the answer. This is a "
            "fault of the copy, not a WMI fault of the host.",
            evidence,
            causes=[
                "the file was copied from a running system without its transaction logs, or cut short",
                "the evidence was deliberately or accidentally corrupted after collection",
            ],
            fixes=[
                Fix(
                    step="Collect the artifact again (for a hive, with its .LOG1/.LOG2 files beside it, "
                    "or with the collector, which exports the keys through the registry API)",
                    risk="none",
                    undo="nothing to undo",
                )
            ],
        )
    if damaged_logs or artifacts:
        log_problems = [p for name in damaged_logs for p in sections[name].problems]
        evidence += [ref("damage", p[:200]) for p in log_problems[:SHOWN]]
        return v.info(
            f"Parts of the evidence are damaged ({len(artifacts)} artifacts); reading went on past the "
            "damage and the checks counted what could be read.",
            evidence,
        )
    if not ev.collection.artifacts:
        return v.ok("The evidence was saved whole (no per-artifact record to check).")
    return v.ok(f"All {sum(1 for a in ev.collection.artifacts if a.status == 'parsed')} artifacts read were whole.")


register_check(
    integrity, "evidence.integrity", "The evidence could be read whole", severity="warning", needs=("collection",)
)
