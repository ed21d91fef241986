"""`wmidoctor pcap` on a large mixed capture: MB/s read on one core, and peak memory at 1x and 10x input.

The capture is built in a temporary folder: every corpus capture (real WMI, WS-Man and DCOM sessions)
replayed again and again with shifted clocks, between non-WMI filler on loopback addresses (bulk TCP,
short HTTP exchanges, DNS answers, other UDP), about one byte in ten being corpus traffic.
The baseline, measured in the same run on the same file, is dpkt's own pcap reader iterating over the
records and doing nothing with them: the floor any reader built on a capture library pays.
Peak RSS is taken in a fresh child process per input size.

    python benchmarks/bench_pcap.py [--mb 100]
"""

from __future__ import annotations

import random
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import CORPUS, best_of, corpus_available, cpu_count, figure, peak_rss_mb

MB = 1024 * 1024


def _frame(
    src: int,
    dst: int,
    sport: int,
    dport: int,
    proto: int,
    payload: bytes,
    seq: int = 0,
    ack: int = 0,
    flags: int = 0x18,
) -> bytes:
    """Ethernet + IPv4 + TCP/UDP with loopback addresses (127.0.x.y)."""
    if proto == 6:
        l4 = struct.pack("!HHLLBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    else:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(l4),
        0,
        0x4000,
        64,
        proto,
        0,
        bytes((127, 0, src >> 8, src & 255)),
        bytes((127, 0, dst >> 8, dst & 255)),
    )
    return b"\x00" * 12 + b"\x08\x00" + ip + l4


def _dns_answer(name: str) -> bytes:
    import dpkt

    answer = dpkt.dns.DNS(id=1, qr=dpkt.dns.DNS_R, opcode=0, rcode=0)
    answer.qd = [dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)]
    answer.an = [dpkt.dns.DNS.RR(name=name, type=dpkt.dns.DNS_A, rdata=bytes((127, 0, 9, 9)), ttl=60)]
    return bytes(answer)


def filler_block(rng: random.Random, size: int) -> list[bytes]:
    """About `size` bytes of unrelated traffic, as whole connections (SYN, data, FIN) and datagrams."""
    frames: list[bytes] = []
    total = 0
    flow = 0
    while total < size:
        flow += 1
        client, server = 1 + flow % 200, 300 + flow % 50
        sport = 20000 + flow % 30000
        kind = rng.random()
        if kind < 0.6:  # bulk download on 443
            port, pieces = 443, [(False, rng.randbytes(1448)) for _ in range(rng.randrange(20, 120))]
        elif kind < 0.85:  # short HTTP
            port = 80
            pieces = [
                (True, b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"),
                (False, b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n" + rng.randbytes(900)),
            ]
        else:  # datagrams: DNS answers and other UDP
            for _ in range(10):
                payload = _dns_answer(f"host{flow % 97}.example") if rng.random() < 0.3 else rng.randbytes(300)
                frame = _frame(server, client, 53 if len(payload) < 200 else 4500, sport, 17, payload)
                frames.append(frame)
                total += len(frame)
            continue
        cseq, sseq = rng.randrange(1 << 32), rng.randrange(1 << 32)
        frames.append(_frame(client, server, sport, port, 6, b"", cseq, 0, 0x02))
        frames.append(_frame(server, client, port, sport, 6, b"", sseq, cseq + 1, 0x12))
        cseq, sseq = cseq + 1, sseq + 1
        for from_client, data in pieces:
            if from_client:
                frames.append(_frame(client, server, sport, port, 6, data, cseq & 0xFFFFFFFF, sseq & 0xFFFFFFFF))
                cseq += len(data)
            else:
                frames.append(_frame(server, client, port, sport, 6, data, sseq & 0xFFFFFFFF, cseq & 0xFFFFFFFF))
                sseq += len(data)
            total += len(frames[-1])
        frames.append(_frame(client, server, sport, port, 6, b"", cseq & 0xFFFFFFFF, sseq & 0xFFFFFFFF, 0x11))
        frames.append(_frame(server, client, port, sport, 6, b"", sseq & 0xFFFFFFFF, (cseq + 1) & 0xFFFFFFFF, 0x11))
    return frames


def corpus_frames() -> list[tuple[float, bytes]]:
    """Every corpus capture's frames, each capture's clock starting at 0."""
    from wmidoctor.artifacts.pcap.capture import CaptureInfo, frames

    out: list[tuple[float, bytes]] = []
    for path in sorted((CORPUS / "pcap").glob("*.cap")):
        records = list(frames(path, CaptureInfo(str(path))))
        start = records[0][0]
        out += [(ts - start, frame) for ts, frame in records]
    return out


def build(path: Path, megabytes: int, seed: int = 1) -> int:
    """Write a mixed capture of about `megabytes` MiB; returns its size in bytes."""
    rng = random.Random(seed)
    wmi = corpus_frames()
    wmi_bytes = sum(len(f) for _, f in wmi)
    filler = filler_block(rng, 9 * wmi_bytes)  # one byte in ten from the corpus
    block = sorted(
        [(i * 0.0001, f) for i, f in enumerate(filler)] + [(ts % 60, f) for ts, f in wmi], key=lambda item: item[0]
    )
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    clock = 1_700_000_000.0
    written = len(header)
    with path.open("wb") as out:
        out.write(header)
        while written < megabytes * MB:
            chunk = bytearray()
            for ts, frame in block:
                stamp = clock + ts
                seconds = int(stamp)
                chunk += struct.pack("<IIII", seconds, int((stamp - seconds) * 1e6), len(frame), len(frame)) + frame
            out.write(chunk)
            written += len(chunk)
            clock += 120
    return written


def ours(path: Path) -> int:
    from wmidoctor.pcap.analyse import analyse

    return len(analyse(path).findings)


def dpkt_floor(path: Path) -> int:
    import dpkt

    count = 0
    with path.open("rb") as handle:
        for _ in dpkt.pcap.Reader(handle):
            count += 1
    return count


def as_pcapng(path: Path) -> Path:
    import dpkt

    target = path.with_suffix(".pcapng")
    with path.open("rb") as source, target.open("wb") as out:
        writer = dpkt.pcapng.Writer(out, linktype=1)
        for ts, frame in dpkt.pcap.Reader(source):
            writer.writepkt(frame, ts)
    return target


def as_gzip(path: Path) -> Path:
    import gzip
    import shutil

    target = path.with_suffix(".gz")
    with path.open("rb") as source, gzip.open(target, "wb", compresslevel=1) as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    return target


def rss_child(megabytes: int, folder: Path) -> float:
    """Peak RSS of a fresh process analysing a capture of this size (built beforehand, by this process)."""
    path = folder / f"rss-{megabytes}.pcap"
    build(path, megabytes)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--rss", str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    finally:
        path.unlink()
    return float(out.stdout.split()[-1])


def main(megabytes: int) -> None:
    if not corpus_available():
        return
    with tempfile.TemporaryDirectory(prefix="bench-pcap-") as folder:
        path = Path(folder) / "mixed.pcap"
        start = time.perf_counter()
        size = build(path, megabytes)
        print(f"mixed capture: {size / MB:.0f} MiB built in {time.perf_counter() - start:.1f} s; {cpu_count()} CPU(s)")
        attempts = ours(path)
        elapsed = best_of(lambda: ours(path), repeat=2)
        floor = best_of(lambda: dpkt_floor(path), repeat=2)
        print(f"attempts found: {attempts}")
        figure("pcap analysis, mixed capture (MB/s)", size / MB / elapsed, "MB/s", target=">= 50")
        figure(
            "pcap analysis vs dpkt record loop (MB/s)",
            size / MB / elapsed,
            "MB/s",
            size / MB / floor,
            "dpkt.pcap.Reader iteration only",
        )
        for variant in (as_pcapng(path), as_gzip(path)):
            seconds = best_of(lambda v=variant: ours(v), repeat=1)
            figure(
                f"pcap analysis, same capture as {variant.suffix[1:]} (MB/s of pcap)",
                size / MB / seconds,
                "MB/s",
                size / MB / elapsed,
                "plain pcap",
            )
            variant.unlink()
        path.unlink()
        one = rss_child(megabytes, Path(folder))
        ten = rss_child(megabytes * 10, Path(folder))
    figure(f"peak RSS, {megabytes} MiB capture (MiB)", one, "MiB")
    figure(f"peak RSS, {megabytes * 10} MiB capture (MiB)", ten, "MiB", one, "x1", target="flat (ratio ~1)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rss":
        ours(Path(sys.argv[2]))
        print(f"{peak_rss_mb():.1f}")
    else:
        main(int(sys.argv[sys.argv.index("--mb") + 1]) if "--mb" in sys.argv else 100)
