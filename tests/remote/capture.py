"""A small reader of real captures for the fidelity tests: TCP streams reassembled by sequence number
(dpkt reads the pcap), split into connection-oriented DCE/RPC PDUs."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Pdu:
    kind: int
    flags: int
    call_id: int
    data: bytes

    @property
    def auth_len(self) -> int:
        return struct.unpack_from("<H", self.data, 10)[0]

    @property
    def opnum(self) -> int:
        return struct.unpack_from("<H", self.data, 22)[0]

    @property
    def stub(self) -> bytes:
        """A request's or response's body, without header, object UUID and auth trailer."""
        start = 24 + (16 if self.kind == 0 and self.flags & 0x80 else 0)
        end = len(self.data) - (self.auth_len + 8 if self.auth_len else 0)
        if self.auth_len:
            end -= self.data[end + 2]  # auth_pad_length
        return self.data[start:end]


@dataclass
class Conversation:
    """One TCP connection: the PDUs the client sent and those the server sent, in order."""

    server_port: int
    client: list[Pdu] = field(default_factory=list)
    server: list[Pdu] = field(default_factory=list)


def _streams(path: Path) -> dict[tuple, bytes]:
    import dpkt

    segments: dict[tuple, dict[int, bytes]] = {}
    with path.open("rb") as handle:
        reader = dpkt.pcap.Reader(handle)
        try:
            for _, frame in reader:
                ip = dpkt.ethernet.Ethernet(frame).data
                if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP) or not ip.data.data:
                    continue
                tcp = ip.data
                key = (ip.src, tcp.sport, ip.dst, tcp.dport)
                segments.setdefault(key, {}).setdefault(tcp.seq, bytes(tcp.data))
        except dpkt.NeedData:  # a capture cut short in its last record
            pass
    streams = {}
    for key, parts in segments.items():
        data, expected = b"", None
        for seq in sorted(parts):
            chunk = parts[seq]
            if expected is not None and seq < expected:  # a retransmission overlapping what we have
                chunk = chunk[expected - seq :]
            data += chunk
            expected = seq + len(parts[seq])
        streams[key] = data
    return streams


def split_pdus(data: bytes) -> list[Pdu]:
    pdus, at = [], 0
    while at + 16 <= len(data) and data[at] == 5:
        length = struct.unpack_from("<H", data, at + 8)[0]
        if length < 16 or at + length > len(data):
            break
        pdu = data[at : at + length]
        pdus.append(Pdu(pdu[2], pdu[3], struct.unpack_from("<L", pdu, 12)[0], pdu))
        at += length
    return pdus


def conversations(path: Path) -> list[Conversation]:
    """Every DCE/RPC connection in the capture (client side = the side that sent the first bind)."""
    streams = _streams(path)
    found = []
    for (src, sport, dst, dport), data in streams.items():
        pdus = split_pdus(data)
        if not pdus or pdus[0].kind != 11:  # the client opens with a bind
            continue
        conversation = Conversation(server_port=dport, client=pdus)
        conversation.server = split_pdus(streams.get((dst, dport, src, sport), b""))
        found.append(conversation)
    return found
