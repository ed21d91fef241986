"""Read a capture into the connections that matter for remote WMI, as a stream.

Kept: TCP connections whose first bytes are DCE/RPC, HTTP or TLS, or whose port is an RPC or WS-Man
port (135, 5985, 5986, the dynamic ports the capture's own RPC replies name, and any the caller adds),
and connection attempts between two hosts that already talk RPC; DNS answers. Everything else costs a
header slice and a dictionary lookup. Each connection is yielded when it closes (or at the end of the
capture), so memory follows the connections open at one time, not the size of the file.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from wmidoctor.artifacts.pcap import capture, dcerpc, http, kerberos
from wmidoctor.artifacts.pcap.flows import Connection, Flow, FlowKey
from wmidoctor.artifacts.pcap.packets import ACK, FIN, RST, SYN, TCP, Segment, address_text, decode

RPC_PORTS = frozenset({135})
WSMAN_PORTS = frozenset({5985, 5986, 47001})
KERBEROS_PORT = 88
PENDING_MAX = 20000  # SYNs to unknown ports waiting for their first payload
IGNORED_MAX = 200000  # connections judged unrelated, remembered until they close
LEARNED_MAX = 10000  # (server, port) pairs named by RPC replies


@dataclass
class DnsAnswer:
    ts: float
    name: str
    addresses: list[str] = field(default_factory=list)
    rcode: int = 0  # 3 = NXDOMAIN
    server: str = ""
    client: str = ""


@dataclass
class Options:
    rpc_ports: frozenset[int] = RPC_PORTS
    wsman_ports: frozenset[int] = WSMAN_PORTS
    kdc_ports: frozenset[int] = frozenset({KERBEROS_PORT})


class Reader:
    """Iterate over `read()` for Flow and DnsAnswer items; `info` describes the file when done."""

    def __init__(self, path: str | Path, options: Options | None = None):
        self.path = Path(path)
        self.options = options or Options()
        self.info = capture.CaptureInfo(str(path))
        self.open: dict[FlowKey, Connection] = {}
        self.pending: OrderedDict[FlowKey, tuple[float, int, int]] = OrderedDict()  # key -> (ts, isn, syns)
        self.ignored: set[FlowKey] = set()
        self.learned: set[tuple[bytes, int]] = set()
        self.rpc_pairs: set[tuple[bytes, bytes]] = set()
        self.synacks: dict[FlowKey, float] = {}  # SYN-ACKs of pending connections
        self.segments = 0

    def read(self) -> Iterator[Flow | DnsAnswer | kerberos.KdcReply]:
        frames = capture.frames(self.path, self.info)
        first = next(frames, None)  # raises NotACapture before anything is yielded
        if first is None:
            return
        link = self.info.link_type
        if capture.LINK_NAMES.get(link) is None:
            self.info.warnings.append(f"link type {link} is not one this reader unwraps: no packet decoded")
            for _ in frames:
                pass
            return
        ignored, kdc_ports = self.ignored, self.options.kdc_ports
        for ts, frame in chain((first,), frames):
            segment = decode(link, frame)
            if segment is None:
                continue
            self.segments += 1
            if segment.proto == TCP:
                if (segment.src, segment.sport, segment.dst, segment.dport) in ignored:  # the common case: cheap
                    if segment.flags & (FIN | RST):
                        self._forget(segment)
                    continue
                yield from self._tcp(ts, segment)
            elif segment.sport == 53 and segment.payload:
                answer = _dns(ts, segment)
                if answer is not None:
                    yield answer
            elif segment.sport in kdc_ports and segment.payload:
                reply = kerberos.decode(segment.payload, ts, address_text(segment.dst), address_text(segment.src))
                if reply is not None:
                    yield reply
        for connection in list(self.open.values()):
            yield connection.finish()
        self.open.clear()

    # --- TCP ----------------------------------------------------------------------------------------
    def _tcp(self, ts: float, seg: Segment) -> Iterator[Flow]:
        forward = (seg.src, seg.sport, seg.dst, seg.dport)
        connection = self.open.get(forward)
        from_client = True
        if connection is None:
            connection = self.open.get((seg.dst, seg.dport, seg.src, seg.sport))
            from_client = False
        flags = seg.flags
        if connection is None:
            connection, from_client = self._new(ts, seg, forward)
            if connection is None:
                return
        elif flags & SYN and not flags & ACK and from_client and connection.flow.bytes_client:
            # the same four-tuple again (port reuse, or a capture replayed): a new connection
            yield self.open.pop(forward).finish()
            connection, from_client = self._new(ts, seg, forward)
            if connection is None:
                return
        flow = connection.flow
        flow.last_ts = ts
        half = connection.halves[0 if from_client else 1]
        if flags & SYN:
            half.start(seg.seq)
            if from_client and not flags & ACK:
                flow.syns += 1
                if flow.syn_ts is None:
                    flow.syn_ts = ts
            elif not from_client and flags & ACK and flow.synack_ts is None:
                flow.synack_ts = ts
        payload = seg.payload
        if payload or seg.missing:
            if from_client:
                flow.bytes_client += len(payload) + seg.missing
            else:
                flow.bytes_server += len(payload) + seg.missing
            if not flow.protocol and payload:
                connection.choose(_protocol(payload, flow.server_port, self.options))
                if (
                    not flow.protocol
                    and flow.server_port not in self.options.rpc_ports | self.options.wsman_ports
                    and (seg.src, seg.dst) not in self.rpc_pairs
                    and (seg.dst, seg.src) not in self.rpc_pairs
                ):
                    del self.open[flow.key]
                    self._ignore(flow.key)
                    return
            before = len(flow.pdus)
            half.add(seg.seq, payload, seg.missing, ts)
            if flow.protocol == "dcerpc" and len(flow.pdus) > before:
                self._learn(flow, before)
        if flags & RST:
            flow.reset_by = "client" if from_client else "server"
            flow.reset_ts = ts
        elif flags & FIN and (side := "client" if from_client else "server") not in flow.fin_by:
            flow.fin_by.append(side)
        if flags & RST or len(flow.fin_by) == 2:
            flow.closed_ts = ts
            yield self.open.pop(flow.key).finish()

    def _new(self, ts: float, seg: Segment, forward: FlowKey) -> tuple[Connection | None, bool]:
        """A connection not seen before: kept when it matters, remembered as pending or ignored otherwise."""
        flags = seg.flags
        options = self.options
        if not flags & SYN and not seg.payload:
            return None, True  # a bare ACK, FIN or RST of a connection already closed (or never seen open)
        if flags & SYN and not flags & ACK:
            client, server, sport, dport, from_client = seg.src, seg.dst, seg.sport, seg.dport, True
        elif flags & SYN:  # a SYN-ACK whose SYN was not captured
            client, server, sport, dport, from_client = seg.dst, seg.src, seg.dport, seg.sport, False
        else:  # mid-stream: the lower port is taken as the server's
            if seg.dport <= seg.sport or seg.dport in options.rpc_ports | options.wsman_ports:
                client, server, sport, dport, from_client = seg.src, seg.dst, seg.sport, seg.dport, True
            else:
                client, server, sport, dport, from_client = seg.dst, seg.src, seg.dport, seg.sport, False
        key = (client, sport, server, dport)
        known = (
            dport in options.rpc_ports
            or dport in options.wsman_ports
            or dport in options.kdc_ports
            or (server, dport) in self.learned
            or (client, server) in self.rpc_pairs
        )
        if not known:
            if flags & SYN and not flags & ACK and not seg.payload:
                held = self.pending.pop(key, None)
                self.pending[key] = (held[0], seg.seq, held[2] + 1) if held else (ts, seg.seq, 1)
                if len(self.pending) > PENDING_MAX:
                    self.synacks.pop(self.pending.popitem(last=False)[0], None)
                return None, True
            if not seg.payload:
                held = self.pending.get(key)
                if held is not None and flags & SYN and flags & ACK:
                    self.pending[key] = held  # still waiting for a payload
                    self.synacks.setdefault(key, ts)
                return None, True
            if not _protocol(seg.payload, dport, options):
                self.pending.pop(key, None)
                self.synacks.pop(key, None)
                self._ignore(key)
                return None, True
        flow = Flow(address_text(client), address_text(server), sport, dport, first_ts=ts, last_ts=ts)
        flow.key = key
        connection = Connection(flow)
        held = self.pending.pop(key, None)
        if held is not None:
            flow.syn_ts, flow.syns, flow.first_ts = held[0], held[2], held[0]
            connection.halves[0].start(held[1])
            flow.synack_ts = self.synacks.pop(key, None)
        self.open[key] = connection
        return connection, from_client

    def _ignore(self, key: FlowKey) -> None:
        """Remember a connection as unrelated, under both directions (one set lookup per packet after this)."""
        if len(self.ignored) > IGNORED_MAX:
            self.ignored.clear()
        self.ignored.add(key)
        self.ignored.add((key[2], key[3], key[0], key[1]))

    def _forget(self, seg: Segment) -> None:
        self.ignored.discard((seg.src, seg.sport, seg.dst, seg.dport))
        self.ignored.discard((seg.dst, seg.dport, seg.src, seg.sport))

    def _learn(self, flow: Flow, start: int) -> None:
        """Ports named in RPC replies (OXID bindings, EPM towers) are watched from now on."""
        key = flow.key
        if len(self.rpc_pairs) < LEARNED_MAX:
            self.rpc_pairs.add((key[0], key[2]))
        for pdu in flow.pdus[start:]:
            for port in pdu.ports:
                if len(self.learned) < LEARNED_MAX:
                    self.learned.add((key[2], port))


def _protocol(payload: bytes, port: int, options: Options) -> str:
    """What a connection carries, from its first payload: HTTP and TLS count only on a WS-Man port or,
    for HTTP, when the first message is addressed to WS-Management."""
    if port in options.kdc_ports:
        return "kerberos"
    if dcerpc.looks_like_rpc(payload):
        return "dcerpc"
    wsman_port = port in options.wsman_ports
    if http.looks_like_http(payload) and (wsman_port or b"wsman" in payload[:4096].lower()):
        return "http"
    if wsman_port and http.looks_like_tls(payload):
        return "tls"
    return ""


def _dns(ts: float, seg: Segment) -> DnsAnswer | None:
    """A DNS response's question and A/AAAA answers (dpkt's decoder); None for anything else."""
    import dpkt

    try:
        message = dpkt.dns.DNS(seg.payload)
    except (dpkt.UnpackError, IndexError, ValueError):
        return None
    if message.qr != dpkt.dns.DNS_R or not message.qd:
        return None
    answer = DnsAnswer(
        ts, message.qd[0].name, rcode=message.rcode, server=address_text(seg.src), client=address_text(seg.dst)
    )
    for record in message.an:
        if (record.type == dpkt.dns.DNS_A and len(record.rdata) == 4) or record.type == dpkt.dns.DNS_AAAA:
            answer.addresses.append(address_text(record.rdata))
    return answer
