"""Real captures (OTRF Security-Datasets, MIT; ../shared/corpus/pcap): the report's client, target, user,
stages, authentication level and outcome, checked against an independent reading of the same packets done
here with nothing but struct (classic pcap, Ethernet, IPv4, TCP), and against what each capture is known
to show (MANIFEST.tsv)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wmidoctor.pcap.analyse import analyse

pytestmark = pytest.mark.corpus

WMI_IIDS = {"f309ad18-d86a-11d0-a075-00c04fb68820", "9556dc99-828c-11cf-a37e-00aa003240c7"}


@dataclass
class Independent:
    """What a plain reading of the packets shows."""

    first_syn: tuple[str, str, int] | None = None  # client, target, port of the first SYN to 135/5985
    syns: int = 0
    synacks: int = 0
    auth_levels: set[int] = field(default_factory=set)  # from bind/alter_context security trailers
    interfaces: set[str] = field(default_factory=set)  # first abstract syntax of each bind/alter_context
    kdc_bytes: bytes = b""  # payloads the KDC (TCP 88) sent


def _uuid(data: bytes) -> str:
    a, b, c = struct.unpack_from("<LHH", data)
    return f"{a:08x}-{b:04x}-{c:04x}-{data[8:10].hex()}-{data[10:16].hex()}"


def read_independently(path: Path) -> Independent:
    seen = Independent()
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1"  # little-endian microsecond pcap
    pos = 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        frame = data[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 15) * 4
        src, dst = ".".join(map(str, frame[26:30])), ".".join(map(str, frame[30:34]))
        tcp = 14 + ihl
        sport, dport = struct.unpack_from("!HH", frame, tcp)
        flags = frame[tcp + 13]
        total = struct.unpack_from("!H", frame, 16)[0]
        payload = frame[tcp + (frame[tcp + 12] >> 4) * 4 : 14 + total]
        if dport in (135, 5985) and flags & 0x12 == 0x02:
            seen.syns += 1
            seen.first_syn = seen.first_syn or (src, dst, dport)
        if sport in (135, 5985) and flags & 0x12 == 0x12:
            seen.synacks += 1
        if sport == 88:
            seen.kdc_bytes += payload
        if len(payload) >= 32 and payload[:2] == b"\x05\x00" and payload[2] in (11, 14):
            frag_len, auth_len = struct.unpack_from("<HH", payload, 8)
            if payload[24]:
                seen.interfaces.add(_uuid(payload[32:48]))
            if auth_len and frag_len <= len(payload):
                seen.auth_levels.add(payload[frag_len - auth_len - 8 + 1])
    return seen


CAPTURES = {
    # file stem: (kind, passed, failing stage, highest authentication level name)
    "otrf__covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621": ("WMI over DCOM", True, None, "privacy"),
    "otrf__empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_WORKSTATION5_2020-09-21001437": (
        "WMI over DCOM",
        True,
        None,
        "privacy",
    ),
    "otrf__empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_WORKSTATION6_2020-09-21001437": (
        "WMI over DCOM",
        True,
        None,
        "privacy",
    ),
    "otrf__covenant_dcom_executeexcel4macro_blocked_2020-09-17173147": ("DCOM", False, "tcp_135", None),
    "otrf__covenant_psremoting_command_2020-08-06115603": ("PowerShell remoting over WS-Man", True, None, None),
    "otrf__empire_dcom_shellwindows_WORKSTATION5_2020-09-18130751": ("DCOM (not WMI)", True, None, "integrity"),
    "otrf__empire_dcom_shellwindows_WORKSTATION6_2020-09-18130751": ("DCOM (not WMI)", True, None, "integrity"),
}
LEVELS = {2: "connect", 4: "packet", 5: "integrity", 6: "privacy"}


@pytest.mark.parametrize("stem", sorted(CAPTURES))
def test_report_matches_an_independent_reading(corpus, stem):
    path = corpus / "pcap" / f"{stem}.cap"
    kind, passed, failing, level = CAPTURES[stem]
    plain = read_independently(path)
    report = analyse(path)
    (finding,) = report.findings
    client, target, _ = plain.first_syn
    assert (finding.attempt.client, finding.attempt.target) == (client, target)
    assert finding.kind == kind and finding.passed is passed
    assert (finding.result.failing_stage.name if finding.result.failing_stage else None) == failing
    if level:
        assert LEVELS[max(plain.auth_levels)] == level and level in finding.attempt.levels
        assert set(finding.attempt.levels) == {LEVELS[x] for x in plain.auth_levels}
    is_wmi = bool(plain.interfaces & WMI_IIDS)
    assert is_wmi == (kind == "WMI over DCOM")
    answered = [c for c in finding.attempt.connections if c.answered and c.port in (135, 5985)]
    assert len(answered) == plain.synacks
    # the user: from the KDC's ticket when the capture holds it, and then it is in the KDC's bytes
    users = [i for i in finding.attempt.identities if i.user]
    for identity in users:
        assert identity.mechanism == "Kerberos" and identity.user.encode() in plain.kdc_bytes
    if b"RPCSS" in plain.kdc_bytes:
        assert users, "the KDC issued an RPCSS ticket to the client; the user should be named"


def test_blocked_capture_counts_the_unanswered_syns_and_gives_the_firewall_verdict(corpus):
    path = corpus / "pcap" / "otrf__covenant_dcom_executeexcel4macro_blocked_2020-09-17173147.cap"
    plain = read_independently(path)
    (finding,) = analyse(path).findings
    stage = finding.result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("tcp_135", "no_answer", 0x800706BA)
    assert sum(c.syns for c in finding.attempt.connections) == plain.syns and plain.synacks == 0
    verdict = finding.result.verdict
    assert verdict.where == "network" and verdict.symbol == "RPC_S_SERVER_UNAVAILABLE"
    assert "firewall" in verdict.cause


def test_wmi_session_at_packet_privacy_says_the_stubs_are_sealed(corpus):
    path = corpus / "pcap" / "otrf__covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621.cap"
    (finding,) = analyse(path).findings
    stages = {s.name: s for s in finding.result.stages}
    assert all(s.status == "ok" for name, s in stages.items() if name not in ("dns", "fetch"))
    assert stages["fetch"].status == "skipped"  # ExecMethod returns its result with the call: no enumerator
    assert "sealed" in stages["query"].detail and "ExecMethod" in stages["query"].detail
    login = next(c for c in finding.attempt.calls if c.method == "NTLMLogin")
    assert login.status == 0 and "root\\cimv2" in login.detail  # at packet level, so the reply is readable
    sealed = [c for c in finding.attempt.calls if c.sealed]
    assert sealed and all(c.status is None and c.auth_level == "privacy" for c in sealed)


def test_powershell_remoting_session_authenticated_with_kerberos(corpus):
    path = corpus / "pcap" / "otrf__covenant_psremoting_command_2020-08-06115603.cap"
    report = analyse(path)
    (finding,) = report.findings
    assert finding.attempt.mechanisms == ["Kerberos"]
    assert any(s.startswith("HTTP/") for s in finding.attempt.kerberos_services)
    assert all(h.encrypted for h in finding.attempt.http if h.request_bytes)
    assert any("truncated" in w for w in report.info.warnings)  # the file ends inside a record
