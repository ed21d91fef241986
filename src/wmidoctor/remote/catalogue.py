"""The catalogue of the probe's stages as Markdown (docs/probe-stages.md is its output), from the stage table.

Regenerate after changing a stage:  python -m wmidoctor.remote.catalogue > docs/probe-stages.md
"""

from __future__ import annotations

from wmidoctor.knowledge.probe_stages import probe_stages

REGENERATE = "python -m wmidoctor.remote.catalogue > docs/probe-stages.md"
TRANSPORTS = {"dcom": "WMI over DCOM", "wsman": "WMI over WS-Man (WinRM)"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [
        "# Probe stages",
        "",
        f"<!-- Generated from knowledge/probe_stages.tsv: do not edit. Regenerate with `{REGENERATE}`. -->",
        "",
        "`wmidoctor probe` walks these stages in order and stops at the first that fails; the verdict names that "
        "stage, the code the wire carried and the cause. `wmidoctor pcap` reads the same stages out of a capture. "
        "A stage passes when what it sent was answered as a healthy host answers; what that proves is below.",
        "",
    ]
    for transport, title in TRANSPORTS.items():
        lines += [f"## {title}", "", "| Stage | Layer | Sent | A pass proves | Source |", "|---|---|---|---|---|"]
        lines += [
            f"| `{s.stage}` | {s.layer} | {_cell(s.sent)} | {_cell(s.proves)} | {_cell(s.source)} |"
            for s in probe_stages()
            if s.transport == transport
        ]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
