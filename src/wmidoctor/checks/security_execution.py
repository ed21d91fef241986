"""Security: WMI used to run programs, locally or from another host (ATT&CK T1047), and WMIC used as a
script proxy through a remote XSL stylesheet (T1220).

Reads process creation (Sysmon 1, Security 4688) of children of WmiPrvSE.exe / scrcons.exe / WMIC.exe, and
ties each to the network logon (Security 4624 type 3) whose session it runs in and to the CIMWin32 load
(WMI-Activity 5857) in its parent: together that is Win32_Process.Create called from another host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wmidoctor.checks.fixes import advice
from wmidoctor.checks.security import evidence_read, summary_locator
from wmidoctor.checks.security_chains import judge_chains
from wmidoctor.checks.security_indicators import extract, summary
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.chains import CONSUMER_HOSTS, NetworkLogon, ProcessStart, ProviderLoad, image_name
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import EvidenceRef, Finding
from wmidoctor.knowledge.persistence import child_kind

T1047_URL = "https://attack.mitre.org/techniques/T1047/"
T1220_URL = "https://attack.mitre.org/techniques/T1220/"
ALARMING_CHILDREN = ("shell", "script-host", "lolbin")
_FORMAT = re.compile(r"(?i)/format:\s*(\"[^\"]*\"|'[^']*'|\S+)")
_REMOTE = re.compile(r"(?i)^[\"']?(https?://|ftp://|\\\\)")
_NODE = re.compile(r"(?i)/node:\s*(\"[^\"]*\"|\S+)")


@dataclass
class Execution:
    process: ProcessStart
    kind: str  # shell | script-host | lolbin | management | unknown
    severity: str
    why: str
    logon: NetworkLogon | None = None
    loads: list[ProviderLoad] = field(default_factory=list)
    consumer: str = ""  # the subscription whose run this is, when one explains it
    indicators: dict[str, list[str]] = field(default_factory=dict)

    @property
    def techniques(self) -> list[str]:
        if self.consumer:
            return ["T1546.003"]
        return ["T1047"] + (["T1021.003"] if self.logon else [])

    def item(self) -> dict[str, Any]:
        p = self.process
        return {
            "kind": "wmi-process-start",
            "severity": self.severity,
            "attack": self.techniques,
            "child_kind": self.kind,
            "image": p.image,
            "command_line": p.command_line,
            "pid": p.pid,
            "parent": p.parent_image,
            "parent_pid": p.parent_pid,
            "user": p.user,
            "logon_id": p.logon_id,
            "time": p.time,
            "host": p.host,
            "consumer": self.consumer,
            "network_logon": (
                {
                    "user": self.logon.user,
                    "address": self.logon.address,
                    "logon_id": self.logon.logon_id,
                    "package": self.logon.package,
                    "time": self.logon.time,
                }
                if self.logon
                else None
            ),
            "provider_loads": [f"{load.provider} in PID {load.host_pid} at {load.time}" for load in self.loads],
            "indicators": self.indicators,
            "locator": p.source,
        }


def _same_host(a: str, b: str) -> bool:
    return not a or not b or a.split(".")[0].lower() == b.split(".")[0].lower()


def _seconds(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _same_start(a: ProcessStart, b: ProcessStart) -> bool:
    """Sysmon 1 and Security 4688 of one start: same host and image, and the same process id, or (an export
    may drop Sysmon's ProcessId) the same parent, logon and second."""
    if not _same_host(a.host, b.host) or image_name(a.image) != image_name(b.image):
        return False
    if a.pid and b.pid:
        return a.pid == b.pid and a.parent_pid == b.parent_pid
    return a.parent_pid == b.parent_pid and a.logon_id == b.logon_id and abs(_seconds(a.time) - _seconds(b.time)) <= 2


def _once(processes: list[ProcessStart]) -> list[ProcessStart]:
    """Each process start once, though Sysmon 1 and Security 4688 both describe it (the first is kept)."""
    kept: list[ProcessStart] = []
    for p in processes:
        if not any(_same_start(p, k) for k in kept[-200:]):
            kept.append(p)
    return kept


def executions(ev: Evidence) -> list[Execution]:
    """Every process a WMI host started, classified and tied to its network logon and provider loads."""
    traces = ev.wmi_traces
    consumers = {id(run): j.chain.consumer_name for j in judge_chains(ev) for run in j.chain.runs}
    logons: dict[tuple[str, str], NetworkLogon] = {}
    for network_logon in traces.logons:
        logons.setdefault((network_logon.host.split(".")[0].lower(), network_logon.logon_id), network_logon)
    found = []
    for p in _once(traces.processes):
        if image_name(p.parent_image) not in CONSUMER_HOSTS:
            continue
        known = child_kind(image_name(p.image))
        kind = known.kind if known else "unknown"
        logon = logons.get((p.host.split(".")[0].lower(), p.logon_id)) if p.logon_id else None
        loads = [
            load for load in traces.provider_loads if load.host_pid == p.parent_pid and _same_host(load.host, p.host)
        ]
        indicators = extract(p.command_line)
        if kind in ALARMING_CHILDREN:
            severity, why = "error", known.reason if known else ""
        elif kind == "unknown" and logon is not None:
            severity, why = "error", "an executable WMI does not start on its own, in the session of a network logon"
        elif kind == "unknown":
            severity, why = "warning", "an executable WMI's provider host does not start on its own"
        else:
            severity, why = "info", known.reason if known else ""
        found.append(Execution(p, kind, severity, why, logon, loads, consumers.get(id(p), ""), indicators))
    rank = {"error": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda e: (rank[e.severity], e.process.time))


def _execution_refs(e: Execution) -> list[EvidenceRef]:
    p = e.process
    head = (
        f"{e.severity.upper()} ({', '.join(e.techniques)}): {p.parent_image} (PID {p.parent_pid or '?'}) started "
        f"{p.image} (PID {p.pid or '?'}) as {p.user or '?'} at {p.time}"
        + (f" on {p.host}" if p.host else "")
        + f" [{e.kind}: {e.why}]"
    )
    if e.consumer:
        head += f'; the run of subscription consumer "{e.consumer}" (see security.subscriptions)'
    refs = [ref(p.source, head), ref(p.source, f"command line in full: {p.command_line}")]
    if e.logon:
        refs.append(
            ref(
                e.logon.source,
                f"network logon (type 3) of {e.logon.user} from "
                f"{e.logon.address or 'an unrecorded address'} ({e.logon.package or '?'}), "
                f"logon id {e.logon.logon_id}, at {e.logon.time}: the session the process "
                "runs in, so the call came from that host",
            )
        )
    for load in e.loads:
        refs.append(
            ref(
                load.source,
                f"WMI-Activity 5857: {load.provider} loaded in PID {load.host_pid} at {load.time} "
                "(the provider of Win32_Process.Create)",
            )
        )
    if e.indicators:
        refs.append(ref(p.source, f"indicators: {summary(e.indicators)}"))
        refs += [ref(p.source, f"decoded: {d}") for d in e.indicators.get("decoded", [])]
    return refs


def wmi_execution(ev: Evidence, v: Verdict) -> Finding:
    found = executions(ev)
    read = evidence_read(ev)
    if not found:
        return v.ok(f"No process started by WmiPrvSE.exe or scrcons.exe ({read}).")
    evidence = [ref(summary_locator(ev), f"evidence read: {read}")]
    for e in found:
        evidence += _execution_refs(e)
    items = [e.item() for e in found]
    remote = [e for e in found if e.logon and e.severity == "error"]
    worst = found[0].severity
    fixes = [
        advice(
            "Isolate the host and find the source: the network logon names the account and the address the "
            "call came from; look there for the tool that made it"
        ),
        advice(
            "Reset the credentials of the account used, and restrict remote WMI (DCOM) to the admin hosts "
            "that need it (Windows Firewall rule group 'Windows Management Instrumentation (WMI)')"
        ),
    ]
    causes = [
        "remote execution through Win32_Process.Create or a WMI consumer (MITRE ATT&CK T1047), e.g. by "
        "Impacket wmiexec, Covenant, Empire or Cobalt Strike"
        if remote
        else "a program run through WMI (Win32_Process.Create or a consumer) with attacker traits (T1047)",
        "an administration tool that starts programs through WMI",
    ]
    summary_text = (
        f"{len(found)} process{'es' if len(found) != 1 else ''} started by WMI's provider host"
        + (f", {len(remote)} in the session of a network logon (remote Win32_Process.Create)" if remote else "")
        + "."
    )
    if worst == "error":
        return v.fail(
            summary_text, evidence, severity="error", causes=causes, fixes=fixes, references=[T1047_URL], items=items
        )
    if worst == "warning":
        return v.warn(
            summary_text, evidence, causes=list(reversed(causes)), fixes=fixes[:1], references=[T1047_URL], items=items
        )
    return v.info(
        summary_text + " All are management or error-reporting tools.", evidence, references=[T1047_URL], items=items
    )


register_check(
    wmi_execution,
    "security.wmi-execution",
    "WMI's provider host started no shell, script host or unknown program",
    severity="error",
    needs=("wmi_traces",),
)


def _format_value(command_line: str) -> str:
    match = _FORMAT.search(command_line)
    return match.group(1).strip("\"'") if match else ""


def wmic_xsl(ev: Evidence, v: Verdict) -> Finding:
    processes = _once(ev.wmi_traces.processes)
    evidence: list[EvidenceRef] = []
    items = []
    worst = ""
    for p in processes:
        if image_name(p.image) != "wmic.exe":
            continue
        stylesheet = _format_value(p.command_line)
        node = _NODE.search(p.command_line)
        remote_sheet = bool(stylesheet) and bool(_REMOTE.match(stylesheet))
        local_sheet = (
            bool(stylesheet)
            and stylesheet.lower().endswith(".xsl")
            and not remote_sheet
            and "\\wbem\\" not in stylesheet.lower()
        )
        children = [
            c
            for c in processes
            if image_name(c.parent_image) == "wmic.exe"
            and c.parent_pid == p.pid
            and p.pid
            and _same_host(c.host, p.host)
        ]
        if not (remote_sheet or local_sheet or children or (node and "call create" in p.command_line.lower())):
            continue
        if remote_sheet or (stylesheet and children):
            severity, what, technique = (
                "error",
                "WMIC formatted its output with a remote XSL stylesheet: the "
                "stylesheet's embedded JScript/VBScript runs inside the signed WMIC.exe",
                "T1220",
            )
        elif node:
            severity, what, technique = "warning", f"WMIC created a process on {node.group(1)}", "T1047"
        else:
            severity, what, technique = "warning", "WMIC used a custom stylesheet or started a process itself", "T1220"
        worst = "error" if "error" in (worst, severity) else severity
        indicators = extract(p.command_line)
        evidence.append(
            ref(
                p.source,
                f"{severity.upper()} ({technique}): {what}: {p.parent_image} started "
                f"{p.image} as {p.user or '?'} at {p.time}: {p.command_line}",
            )
        )
        if indicators:
            evidence.append(ref(p.source, f"indicators: {summary(indicators)}"))
        for c in children:
            evidence.append(
                ref(
                    c.source,
                    f"WMIC itself started {c.image} `{c.command_line}` at {c.time} (never part of formatting output)",
                )
            )
        items.append(
            {
                "kind": "wmic",
                "severity": severity,
                "attack": [technique],
                "image": p.image,
                "command_line": p.command_line,
                "stylesheet": stylesheet,
                "user": p.user,
                "time": p.time,
                "host": p.host,
                "children": [
                    {"image": c.image, "command_line": c.command_line, "time": c.time, "locator": c.source}
                    for c in children
                ],
                "indicators": indicators,
                "locator": p.source,
            }
        )
    if not items:
        return v.ok(
            f"No WMIC run with a remote or custom stylesheet, and WMIC started no process ({evidence_read(ev)})."
        )
    fixes = [
        advice(
            "Fetch and read the stylesheet the command line names (from an isolated machine) to see what "
            "its script did; look for the processes and connections it made"
        ),
        advice(
            "Block WMIC where it is not needed (it is deprecated: Windows offers it as an optional "
            "feature that can be removed) or alert on WMIC.exe with /format: and a URL"
        ),
    ]
    runs = "1 WMIC run" if len(items) == 1 else f"{len(items)} WMIC runs"
    summary_text = f"{runs} used a stylesheet or started processes on this or another host."
    if worst == "error":
        return v.fail(
            summary_text,
            evidence,
            severity="error",
            fixes=fixes,
            references=[T1220_URL],
            items=items,
            causes=["defence evasion: script run through a signed Microsoft binary (MITRE ATT&CK T1220)"],
        )
    return v.warn(
        summary_text,
        evidence,
        fixes=fixes,
        references=[T1220_URL],
        items=items,
        causes=["an administrator's custom report format", "script proxy execution (T1220)"],
    )


register_check(
    wmic_xsl,
    "security.wmic-xsl",
    "WMIC ran no remote XSL stylesheet (script proxy)",
    severity="error",
    needs=("wmi_traces",),
)
