"""A TCP connection as the capture saw it: handshake, who reset or closed it, and the protocol messages
each direction carried (DCE/RPC PDUs, HTTP messages, TLS records), with bounded memory."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from wmidoctor.artifacts.pcap import dcerpc
from wmidoctor.artifacts.pcap.http import HttpMessage, HttpParser, TlsEvent, TlsParser
from wmidoctor.artifacts.pcap.kerberos import KdcReply, KerberosFramer
from wmidoctor.artifacts.pcap.stream import HalfStream

# a TCP connection as the reader keys it: (client address, client port, server address, server port)
FlowKey = tuple[bytes, int, bytes, int]

MESSAGES_KEPT = 2000  # per connection; a longer one keeps its first messages and counts the rest
RPC_BUFFER_MAX = 256 * 1024


@dataclass
class Flow:
    client: str
    server: str
    client_port: int
    server_port: int
    protocol: str = ""  # dcerpc | http | tls | kerberos | "" (nothing recognised, or no payload at all)
    first_ts: float = 0.0
    last_ts: float = 0.0
    syn_ts: float | None = None
    syns: int = 0
    synack_ts: float | None = None
    reset_by: str = ""  # client | server
    reset_ts: float | None = None
    fin_by: list[str] = field(default_factory=list)
    closed_ts: float | None = None
    pdus: list[dcerpc.Pdu] = field(default_factory=list)
    http: list[HttpMessage] = field(default_factory=list)
    tls: list[TlsEvent] = field(default_factory=list)
    kdc: list[KdcReply] = field(default_factory=list)
    messages_dropped: int = 0
    bytes_client: int = 0
    bytes_server: int = 0
    retransmitted: int = 0
    out_of_order: int = 0
    missing: int = 0
    malformed: int = 0  # PDUs that did not parse, or resynchronisations after lost bytes
    server_unfinished: int = 0  # bytes of a reply the server began and had not finished when the capture ends
    key: FlowKey = field(default=(b"", 0, b"", 0), repr=False, compare=False)

    @property
    def handshake_ms(self) -> float | None:
        if self.syn_ts is None or self.synack_ts is None:
            return None
        return round((self.synack_ts - self.syn_ts) * 1000, 3)

    @property
    def answered(self) -> bool:
        """The server took part: a SYN-ACK, or any byte or FIN from it."""
        return self.synack_ts is not None or self.bytes_server > 0 or "server" in self.fin_by

    @property
    def refused(self) -> bool:
        """The server reset the connection before it was set up (a closed port, or a firewall rejecting)."""
        return self.reset_by == "server" and self.synack_ts is None and self.bytes_server == 0

    @property
    def ended_by(self) -> str:
        if self.reset_by:
            return f"reset by the {self.reset_by}"
        if self.fin_by:
            return f"closed by the {self.fin_by[0]}"
        return "still open when the capture ends"


class RpcFramer:
    """Cuts one direction's bytes into PDUs; on lost bytes, waits for the next clean PDU header."""

    def __init__(self, flow: Flow, from_client: bool):
        self.flow, self.from_client = flow, from_client
        self.buffer = bytearray()
        self.synced = True
        self.skip = 0  # bytes still to drop of a PDU whose middle was lost

    def feed(self, data: bytes, ts: float) -> None:
        if self.skip:
            dropped = min(self.skip, len(data))
            self.skip -= dropped
            data = data[dropped:]
        buffer = self.buffer
        buffer += data
        if not self.synced:
            at = _find_header(buffer)
            if at < 0:
                del buffer[: max(0, len(buffer) - 15)]
                return
            del buffer[:at]
            self.synced = True
        while len(buffer) >= 16:
            if buffer[0] != 5 or buffer[1] != 0:
                self.flow.malformed += 1
                self.synced = False
                self.feed(b"", ts)
                return
            size = struct.unpack_from("<H", buffer, 8)[0]
            if size < 16:
                self.flow.malformed += 1
                del buffer[:2]
                self.synced = False
                self.feed(b"", ts)
                return
            if len(buffer) < size:
                if len(buffer) > RPC_BUFFER_MAX:
                    buffer.clear()
                return
            pdu_bytes = bytes(buffer[:size])
            del buffer[:size]
            try:
                pdu = dcerpc.parse(pdu_bytes, ts, self.from_client)
            except (struct.error, IndexError, ValueError):
                self.flow.malformed += 1
                continue
            if len(self.flow.pdus) < MESSAGES_KEPT:
                self.flow.pdus.append(pdu)
            else:
                self.flow.messages_dropped += 1

    def unfinished(self) -> int:
        return len(self.buffer)

    def gap(self, missing: int) -> None:
        """Bytes were lost: drop the PDU they belonged to; stay in step when its length is known."""
        self.flow.malformed += 1
        buffer = self.buffer
        if self.synced and len(buffer) >= 10 and buffer[0] == 5:
            size = struct.unpack_from("<H", buffer, 8)[0]
            if len(buffer) + missing <= size:
                self.skip = size - len(buffer) - missing - self.skip
                buffer.clear()
                return
        buffer.clear()
        self.skip = 0
        self.synced = False


def _find_header(buffer: bytearray) -> int:
    at = buffer.find(b"\x05\x00")
    while at >= 0:
        if dcerpc.looks_like_rpc(bytes(buffer[at : at + 16])):
            return at
        if len(buffer) - at < 16:
            return -1
        at = buffer.find(b"\x05\x00", at + 1)
    return -1


class Connection:
    """A flow being read: both half streams and the consumers the first payload chose."""

    __slots__ = ("flow", "halves")

    def __init__(self, flow: Flow):
        self.flow = flow
        self.halves = (HalfStream(), HalfStream())  # client -> server, server -> client

    def choose(self, protocol: str) -> None:
        flow = self.flow
        flow.protocol = protocol
        for from_client, half in zip((True, False), self.halves, strict=False):
            if protocol == "dcerpc":
                half.consumer = RpcFramer(flow, from_client)
            elif protocol == "http":
                half.consumer = _Bounded(HttpParser(from_client, flow.http), flow)
            elif protocol == "tls":
                half.consumer = TlsParser(from_client, flow.tls)
            elif protocol == "kerberos":
                half.consumer = KerberosFramer(flow.kdc, flow.client, flow.server, from_client)

    def finish(self) -> Flow:
        for half in self.halves:
            half.flush()
        flow = self.flow
        flow.retransmitted = sum(h.retransmitted for h in self.halves)
        flow.out_of_order = sum(h.out_of_order for h in self.halves)
        flow.missing = sum(h.missing for h in self.halves)
        server = self.halves[1].consumer
        flow.server_unfinished = server.unfinished() if server is not None else 0
        return flow


class _Bounded:
    """An HTTP parser whose message list stops growing at MESSAGES_KEPT."""

    def __init__(self, parser: HttpParser, flow: Flow):
        self.parser, self.flow = parser, flow

    def unfinished(self) -> int:
        return self.parser.unfinished()

    def feed(self, data: bytes, ts: float) -> None:
        if len(self.flow.http) >= MESSAGES_KEPT:
            self.flow.messages_dropped += 1
            return
        self.parser.feed(data, ts)

    def gap(self, missing: int) -> None:
        self.parser.gap(missing)
        self.flow.malformed += 1
