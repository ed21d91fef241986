"""One direction of a TCP connection put back in order: retransmissions dropped, overlaps trimmed,
out-of-order segments held (a bounded number) until the hole fills, and holes that never fill (lost
or snaplen-cut bytes) reported to the consumer as a gap so it can resynchronise."""

from __future__ import annotations

from typing import Protocol

HELD_SEGMENTS = 256
HELD_BYTES = 4 * 1024 * 1024
UNSYNCED_SEGMENTS = 8


class Consumer(Protocol):
    def feed(self, data: bytes, ts: float) -> None: ...

    def gap(self, missing: int) -> None: ...

    def unfinished(self) -> int:
        """Bytes of a message that began but did not end (0 when every message was whole)."""
        ...


class HalfStream:
    __slots__ = ("consumer", "held", "held_bytes", "missing", "next_seq", "out_of_order", "retransmitted", "synced")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.held: dict[int, tuple[bytes, int, float]] = {}  # seq -> (data, bytes missing after it, ts)
        self.held_bytes = 0
        self.consumer: Consumer | None = None
        self.retransmitted = 0
        self.out_of_order = 0
        self.missing = 0  # bytes never seen (lost, or cut by the snap length)
        self.synced = False  # where the stream starts is known (its SYN, or enough segments to judge)

    def start(self, isn: int) -> None:
        """A SYN: data starts at ISN + 1 (segments that came before it are put in order now)."""
        if not self.synced:
            self.next_seq = (isn + 1) & 0xFFFFFFFF
            self.synced = True
            self._drain()

    def add(self, seq: int, data: bytes, cut: int, ts: float) -> None:
        """A segment: `data` as captured, `cut` bytes of it not captured (snap length)."""
        if not self.synced:
            # No SYN yet (reordered, or the capture began mid-connection): hold a few segments, then start
            # from the earliest of them.
            if seq not in self.held:
                self.held[seq] = (data, cut, ts)
                self.held_bytes += len(data)
            if len(self.held) >= UNSYNCED_SEGMENTS:
                self._start_at_earliest()
            return
        assert self.next_seq is not None
        ahead = (seq - self.next_seq) & 0xFFFFFFFF
        if ahead >= 0x80000000:  # starts before what was delivered: a retransmission or an overlap
            behind = 0x100000000 - ahead
            if behind >= len(data) + cut:
                self.retransmitted += 1
                return
            if behind >= len(data):  # the new part is all in the cut tail
                self._deliver(b"", cut - (behind - len(data)), ts)
                return
            data = data[behind:]
            ahead = 0
        if ahead:
            if seq not in self.held:
                self.out_of_order += 1
                self.held[seq] = (data, cut, ts)
                self.held_bytes += len(data)
                if len(self.held) > HELD_SEGMENTS or self.held_bytes > HELD_BYTES:
                    self._skip_hole()
            return
        self._deliver(data, cut, ts)
        self._drain()

    def _deliver(self, data: bytes, cut: int, ts: float) -> None:
        assert self.next_seq is not None
        if data and self.consumer is not None:
            self.consumer.feed(data, ts)
        self.next_seq = (self.next_seq + len(data) + cut) & 0xFFFFFFFF
        if cut:
            self.missing += cut
            if self.consumer is not None:
                self.consumer.gap(cut)

    def _drain(self) -> None:
        while self.held:
            assert self.next_seq is not None
            for seq in list(self.held):
                ahead = (seq - self.next_seq) & 0xFFFFFFFF
                if ahead >= 0x80000000 or ahead == 0:
                    data, cut, ts = self.held.pop(seq)
                    self.held_bytes -= len(data)
                    self.add(seq, data, cut, ts)
                    break
            else:
                return

    def _skip_hole(self) -> None:
        """Give up waiting: jump to the earliest held segment and tell the consumer bytes are missing."""
        assert self.next_seq is not None
        first = min(self.held, key=lambda s: (s - self.next_seq) & 0xFFFFFFFF)  # type: ignore[operator]
        hole = (first - self.next_seq) & 0xFFFFFFFF
        self.missing += hole
        self.next_seq = first
        if self.consumer is not None:
            self.consumer.gap(hole)
        self._drain()

    def _start_at_earliest(self) -> None:
        base = next(iter(self.held))
        self.next_seq = min(self.held, key=lambda s: (s - base + 0x80000000) & 0xFFFFFFFF)
        self.synced = True
        self._drain()

    def flush(self) -> None:
        """At the end of the capture: deliver what is held, across the holes."""
        if not self.synced and self.held:
            self._start_at_earliest()
        while self.held:
            self._skip_hole()
