"""A capture file in, one finding per attempt out: what the wire showed, the stages reached, and the
verdict from remote.verdicts (the rules `probe` uses)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from wmidoctor.artifacts.pcap.capture import CaptureInfo
from wmidoctor.artifacts.pcap.reader import KERBEROS_PORT, RPC_PORTS, WSMAN_PORTS, Options, Reader
from wmidoctor.pcap.attempts import Attempt, Folder
from wmidoctor.pcap.stages import is_wmi, to_result
from wmidoctor.remote.model import ProbeResult
from wmidoctor.remote.verdicts import verdict_for


@dataclass
class Finding:
    """One attempt: client -> target over one transport."""

    attempt: Attempt
    result: ProbeResult
    kind: str
    local_account: bool = False

    @property
    def passed(self) -> bool:
        return self.result.passed

    def to_data(self) -> dict:
        attempt = self.attempt
        data = {
            "client": attempt.client,
            "target": attempt.target,
            "transport": attempt.transport,
            "kind": self.kind,
            "first_ts": attempt.first_ts,
            "last_ts": attempt.last_ts,
            "users": [asdict(i) for i in attempt.identities],
            "target_names": attempt.server_names,
            "kerberos_services": attempt.kerberos_services,
            "kdc_errors": attempt.kdc_errors,
            "kdc_unanswered": [asdict(s) for s in attempt.kdc_unanswered],
            "authentication": attempt.mechanisms,
            "authentication_levels": attempt.levels,
            "local_account": self.local_account,
            "dns": [
                {"name": a.name, "addresses": a.addresses, "rcode": a.rcode, "server": a.server} for a in attempt.dns
            ],
            "connections": [asdict(c) for c in attempt.connections],
            "binds": [asdict(b) for b in attempt.binds],
            "calls": [asdict(c) for c in attempt.calls],
            "http": [{k: v for k, v in asdict(h).items() if k != "fault_xml"} for h in attempt.http],
            "tls": [asdict(t) for t in attempt.tls],
            "faults": [f"0x{c.fault:08x} to {c.interface}::{c.method}" for c in attempt.calls if c.fault is not None],
            "ended": attempt.last_event,
            "events_not_kept": attempt.not_kept,
            "later_attempts_merged": attempt.merged,
        }
        result = self.result.to_data()
        for key in ("target", "transport", "first_row"):  # the attempt's own fields say these
            result.pop(key)
        return {**data, **result, "passed": self.passed}


@dataclass
class CaptureReport:
    info: CaptureInfo
    findings: list[Finding] = field(default_factory=list)
    segments: int = 0

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.findings)

    def to_data(self) -> dict:
        info = self.info
        return {
            "file": info.path,
            "format": info.format,
            "compressed": info.compressed,
            "link_type": info.link_name,
            "records": info.records,
            "bytes": info.bytes_read,
            "tcp_udp_segments": self.segments,
            "duration_s": round(info.last_ts - info.first_ts, 3)
            if info.first_ts is not None and info.last_ts is not None
            else None,
            "warnings": info.warnings,
            "attempts": [f.to_data() for f in self.findings],
        }


def analyse(
    path: str | Path,
    rpc_ports: frozenset[int] = frozenset(),
    wsman_ports: frozenset[int] = frozenset(),
    kdc_ports: frozenset[int] = frozenset(),
) -> CaptureReport:
    """Read one capture (raises capture.NotACapture when it is none) and judge every attempt in it."""
    options = Options(RPC_PORTS | rpc_ports, WSMAN_PORTS | wsman_ports, frozenset({KERBEROS_PORT}) | kdc_ports)
    reader = Reader(path, options)
    folder = Folder(options.wsman_ports, options.kdc_ports)
    for item in reader.read():
        folder.add(item)
    report = CaptureReport(reader.info, segments=reader.segments)
    for attempt in folder.attempts():
        report.findings.append(judge(attempt, options.rpc_ports))
    return report


def judge(attempt: Attempt, rpc_ports: frozenset[int] = RPC_PORTS) -> Finding:
    result = to_result(attempt, rpc_ports)
    local = _local_account(attempt)
    result.verdict = verdict_for(result, local)
    if attempt.transport == "wsman":
        kind = "PowerShell remoting over WS-Man" if any("PSVersion" in h.request for h in attempt.http) else "WS-Man"
    else:
        kind = "WMI over DCOM" if is_wmi(attempt) else "DCOM (not WMI)" if _other_dcom(attempt) else "DCOM"
    return Finding(attempt, result, kind, local)


def _other_dcom(attempt: Attempt) -> bool:
    """Activation of a class other than WMI's, or objects used on a dynamic port without any WMI interface."""
    activated = [c.detail for c in attempt.calls if c.method in ("RemoteCreateInstance", "RemoteGetClassObject")]
    return any(d and "WbemLevel1Login" not in d for d in activated) or any(
        c.interface in ("IDispatch", "IRemUnknown2", "IRemUnknown") for c in attempt.calls
    )


def _local_account(attempt: Attempt) -> bool:
    """The NTLM account is the target's own (its domain is the target's computer name), as probe judges it."""
    from wmidoctor.remote.credentials import Credentials

    names = {attempt.server_names.get("netbios", ""), attempt.server_names.get("dns", "")} - {""}
    if not names:
        return False
    return any(
        Credentials(user=i.user, domain=i.domain or ".").is_local_account(names) for i in attempt.identities if i.user
    )
