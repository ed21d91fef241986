"""Connectivity: the stage-by-stage probes recorded with the evidence, when there are any."""

from __future__ import annotations

from wmidoctor.checks.events import hex_code
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding
from wmidoctor.knowledge.codes import short_meaning


def probes(ev: Evidence, v: Verdict) -> Finding:
    probes = ev.connectivity.probes
    if not probes:
        return v.skip("no probe results in the evidence")
    failed = [p for p in probes if p.failing_stage]
    evidence = [
        ref(
            p.source,
            f"{p.target} over {p.transport}: "
            + (
                f"failed at {p.failing_stage}"
                + (f" with {hex_code(p.code)} {short_meaning(p.code)}" if p.code is not None else "")
                if p.failing_stage
                else "all stages passed"
            ),
        )
        for p in probes
    ]
    if not failed:
        return v.ok(f"{len(probes)} probes passed every stage.", evidence)
    first = failed[0]
    return v.fail(
        f"{len(failed)} of {len(probes)} probes failed; {first.target} stopped at {first.failing_stage}.",
        evidence,
        causes=[
            "see the check of the failing stage's layer (firewall, dcom, namespaces) and "
            "`wmidoctor explain` for the code"
        ],
        fixes=[
            advice(
                "Re-run the probe after each fix to see the next stage pass", command=f"wmidoctor probe {first.target}"
            )
        ],
        codes=[hex_code(p.code) for p in failed if p.code is not None],
    )


register_check(
    probes, "connectivity.probes", "Remote WMI probes reach every stage", severity="error", needs=("connectivity",)
)
