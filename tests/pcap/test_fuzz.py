"""Random bytes where the reader expects protocols: DCE/RPC PDUs with valid headers and random bodies,
HTTP and TLS on the WS-Man port, Kerberos on 88, DNS on 53, and random frames. Nothing may raise."""

from __future__ import annotations

import random
import struct

import dpkt

from wmidoctor.pcap.analyse import analyse


def _frame(rng: random.Random, sport: int, dport: int, payload: bytes, proto: int = 6, flags: int = 0x18) -> bytes:
    if proto == 6:
        l4 = struct.pack("!HHLLBBHHH", sport, dport, rng.randrange(1 << 32), 0, 5 << 4, flags, 65535, 0, 0) + payload
    else:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, bytes((127, 0, 0, 1)), bytes((127, 0, 0, 2))
    )
    return bytes(12) + b"\x08\x00" + ip + l4


def _rpc(rng: random.Random) -> bytes:
    ptype = rng.choice([0, 2, 3, 11, 12, 13, 14, 15, 16])
    body = rng.randbytes(rng.randrange(0, 300))
    auth_len = rng.choice([0, 0, len(body) // 2, len(body) + 50])
    header = struct.pack("<BBBB4sHHL", 5, 0, ptype, 3, b"\x10\x00\x00\x00", 16 + len(body), auth_len, rng.randrange(10))
    return header + body


def test_random_protocol_bodies_never_raise(tmp_path):
    rng = random.Random(20261203)
    path = tmp_path / "fuzz.pcap"
    with path.open("wb") as out:
        writer = dpkt.pcap.Writer(out)
        for index in range(3000):
            kind = rng.randrange(7)
            if kind == 0:
                frame = _frame(rng, 50000, 135, _rpc(rng) + _rpc(rng))
            elif kind == 1:
                frame = _frame(rng, 135, 50000, _rpc(rng))
            elif kind == 2:
                frame = _frame(
                    rng,
                    50001,
                    5985,
                    b"POST /wsman HTTP/1.1\r\nAuthorization: Negotiate "
                    + rng.randbytes(40).hex().encode()
                    + b"\r\nContent-Length: 5\r\n\r\n"
                    + rng.randbytes(rng.randrange(20)),
                )
            elif kind == 3:
                frame = _frame(rng, 5986, 50002, b"\x16\x03\x01" + rng.randbytes(rng.randrange(2, 60)))
            elif kind == 4:
                frame = _frame(
                    rng, 88, 50003, struct.pack("!I", 40) + rng.choice([b"\x6b", b"\x6d", b"\x7e"]) + rng.randbytes(39)
                )
            elif kind == 5:
                frame = _frame(rng, 53, 50004, rng.randbytes(rng.randrange(12, 80)), proto=17)
            else:
                frame = rng.randbytes(rng.randrange(0, 120))
            writer.writepkt(frame, 1_700_000_000 + index * 0.001)
    report = analyse(path, wsman_ports=frozenset({5986}))
    assert report.info.records == 3000
    for finding in report.findings:
        finding.to_data()


def test_random_blocks_after_a_valid_pcapng_header_end_with_a_warning(tmp_path):
    rng = random.Random(11)
    for attempt in range(20):
        path = tmp_path / f"ng{attempt}.pcapng"
        with path.open("wb") as out:
            dpkt.pcapng.Writer(out, linktype=1)  # section header and interface description only
        with path.open("ab") as out:
            out.write(rng.randbytes(rng.randrange(1, 400)))
        report = analyse(path)
        assert report.info.format == "pcapng" and report.findings == []
