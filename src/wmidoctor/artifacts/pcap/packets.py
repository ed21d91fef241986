"""Frames to TCP segments and UDP datagrams, by slicing headers with struct.

Only the fields the conversation reader needs are taken, and everything that is not TCP or UDP over
IPv4/IPv6 is dropped after a few byte comparisons: on a capture of mostly unrelated traffic this is
where the time goes, so no packet object is built per frame.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

from wmidoctor.artifacts.pcap.capture import ETHERNET, IPV4, IPV6, LINUX_SLL, LINUX_SLL2, LOOP, NULL, RAW

TCP, UDP = 6, 17
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_VLAN = {b"\x81\x00", b"\x88\xa8", b"\x91\x00"}
_IPV6_EXTENSIONS = {0, 43, 60}  # hop-by-hop, routing, destination options: skipped to reach TCP/UDP
_unpack_tcp = struct.Struct("!HHLLBB").unpack_from
# Ethernet + IPv4 without options + TCP in one call: total length, fragment field, protocol, addresses, TCP fields.
_unpack_fast = struct.Struct("!2xH2xHxB2x4s4sHHLLBB").unpack_from
_unpack_ports = struct.Struct("!HH").unpack_from


class Segment(NamedTuple):
    src: bytes  # packed address
    dst: bytes
    proto: int
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes
    missing: int  # payload bytes the IP header announces but the capture does not hold (snaplen)


def ip_offset(link_type: int, frame: bytes) -> int:
    """Where the IP header starts in a frame of this link type, or -1 when the frame carries no IP."""
    if link_type == ETHERNET:
        offset, ethertype = 14, frame[12:14]
        while ethertype in _VLAN:
            ethertype, offset = frame[offset + 2 : offset + 4], offset + 4
        return offset if ethertype in (b"\x08\x00", b"\x86\xdd") else -1
    if link_type in (RAW, 12, 14, IPV4, IPV6):
        return 0
    if link_type == LINUX_SLL:
        return 16 if frame[14:16] in (b"\x08\x00", b"\x86\xdd") else -1
    if link_type == LINUX_SLL2:
        return 20 if frame[0:2] in (b"\x08\x00", b"\x86\xdd") else -1
    if link_type in (NULL, LOOP):
        return 4
    return -1


def decode(link_type: int, frame: bytes) -> Segment | None:
    """The TCP or UDP segment in a frame; None for anything else (or a frame too short to tell)."""
    if link_type == ETHERNET and frame[12:14] == b"\x08\x00" and frame[14] == 0x45 and len(frame) >= 54:
        total, fragment, proto, src, dst, sport, dport, seq, ack, data_offset, flags = _unpack_fast(frame, 14)
        if proto == TCP and not fragment & 0x1FFF:
            body = 34 + (data_offset >> 4) * 4
            end = 14 + total
            if end <= body:
                end = len(frame) if total == 0 else body
            payload = frame[body:end]
            return Segment(src, dst, TCP, sport, dport, seq, ack, flags, payload, max(0, end - body - len(payload)))
    offset = ip_offset(link_type, frame)
    if offset < 0 or len(frame) < offset + 20:
        return None
    version = frame[offset] >> 4
    if version == 4:
        header = (frame[offset] & 0x0F) * 4
        proto = frame[offset + 9]
        if proto not in (TCP, UDP) or frame[offset + 6] & 0x1F or frame[offset + 7]:
            return None  # other protocols, and fragments after the first
        total = (frame[offset + 2] << 8) | frame[offset + 3]
        src, dst = frame[offset + 12 : offset + 16], frame[offset + 16 : offset + 20]
        start, end = offset + header, offset + total
    elif version == 6:
        if len(frame) < offset + 40:
            return None
        proto = frame[offset + 6]
        start = offset + 40
        end = start + ((frame[offset + 4] << 8) | frame[offset + 5])
        while proto in _IPV6_EXTENSIONS and len(frame) >= start + 2:
            proto, start = frame[start], start + (frame[start + 1] + 1) * 8
        if proto not in (TCP, UDP):
            return None
        src, dst = frame[offset + 8 : offset + 24], frame[offset + 24 : offset + 40]
    else:
        return None
    if proto == TCP:
        if len(frame) < start + 20:
            return None
        sport, dport, seq, ack, data_offset, flags = _unpack_tcp(frame, start)
        body = start + (data_offset >> 4) * 4
    else:
        if len(frame) < start + 8:
            return None
        sport, dport = _unpack_ports(frame, start)
        seq = ack = flags = 0
        body = start + 8
    if end <= body:  # no payload, or an IP length of 0 (TSO captures): trust the frame
        end = len(frame) if end < start else body
    payload = frame[body:end]
    return Segment(src, dst, proto, sport, dport, seq, ack, flags, payload, max(0, end - body - len(payload)))


def address_text(packed: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)
