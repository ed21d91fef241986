"""Record loopback traffic to a pcap file while a test runs: a packet socket on `lo` (what tcpdump -i lo
does), keeping only IPv4 TCP segments to or from the ports the test names, so other processes' loopback
traffic never enters the file. Needs CAP_NET_RAW (root, as CI runs); the fixture skips without it."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

ETH_P_ALL = 0x0003


class LoopbackCapture:
    def __init__(self, ports: set[int]):
        self.ports = set(ports)
        self.packets: list[tuple[float, bytes]] = []
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.05)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="loopback-capture")

    def __enter__(self) -> LoopbackCapture:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # let the last FIN/ACKs arrive
        self.stopping.set()
        self.thread.join()
        self.sock.close()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                frame, address = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == socket.PACKET_OUTGOING:  # loopback shows each packet twice; keep the incoming copy
                continue
            if len(frame) < 38 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
                continue
            header = (frame[14] & 0x0F) * 4
            sport, dport = struct.unpack_from("!HH", frame, 14 + header)
            if sport in self.ports or dport in self.ports:
                self.packets.append((time.time(), frame))

    def write(self, path: Path) -> Path:
        import dpkt

        with path.open("wb") as out:
            writer = dpkt.pcap.Writer(out, linktype=dpkt.pcap.DLT_EN10MB)
            for ts, frame in self.packets:
                writer.writepkt(frame, ts)
        return path


def capture_available() -> str:
    """'' when a packet socket on lo can be opened, else why not."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)).close()
    except (PermissionError, OSError, AttributeError) as exc:
        return f"no packet socket on lo ({exc}); run as root to record the fakes"
    return ""
