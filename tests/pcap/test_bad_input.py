"""Damaged and unusual captures: every variant of a real capture is read without a traceback, and the
variants that keep the packets (gzip, pcapng, raw IP, Linux cooked, reordered and retransmitted
segments) give the same verdicts as the original. A file that is no capture exits 2 with one line."""

from __future__ import annotations

import contextlib
import gzip
import random
import struct

import dpkt
import pytest

from wmidoctor.pcap.analyse import analyse

pytestmark = pytest.mark.corpus

BASE = "otrf__covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621.cap"
BLOCKED = "otrf__covenant_dcom_executeexcel4macro_blocked_2020-09-17173147.cap"


def frames(path) -> list[tuple[float, bytes]]:
    out: list[tuple[float, bytes]] = []
    with path.open("rb") as handle, contextlib.suppress(dpkt.NeedData):  # the corpus file ends inside a record
        out.extend(dpkt.pcap.Reader(handle))
    return out


def write(path, packets, linktype: int = 1, snaplen: int = 65535):
    with path.open("wb") as out:
        writer = dpkt.pcap.Writer(out, linktype=linktype, snaplen=snaplen)
        for ts, frame in packets:
            writer.writepkt(frame, ts)
    return path


def outline(path, **options) -> list[tuple]:
    """What a verdict comparison needs: per attempt, the stage statuses and the verdict's stage and code."""
    report = analyse(path, **options)
    return [
        (
            f.attempt.client,
            f.attempt.target,
            f.kind,
            [(s.name, s.status, s.reason) for s in f.result.stages],
            f.result.verdict.stage if f.result.verdict else None,
        )
        for f in report.findings
    ]


@pytest.fixture
def base(corpus):
    return corpus / "pcap" / BASE


def test_gzip_and_pcapng_give_the_same_report(base, tmp_path):
    expected = outline(base)
    zipped = tmp_path / "capture.pcap.gz"
    zipped.write_bytes(gzip.compress(base.read_bytes()))
    assert outline(zipped) == expected
    ng = tmp_path / "capture.pcapng"
    with ng.open("wb") as out:
        writer = dpkt.pcapng.Writer(out, linktype=1)
        for ts, frame in frames(base):
            writer.writepkt(frame, ts)
    assert outline(ng) == expected


def test_raw_ip_and_linux_cooked_link_types(base, tmp_path):
    expected = outline(base)
    packets = [(ts, f) for ts, f in frames(base) if f[12:14] == b"\x08\x00"]
    raw = write(tmp_path / "raw.pcap", [(ts, f[14:]) for ts, f in packets], linktype=101)
    assert outline(raw) == expected
    cooked = [(ts, struct.pack("!HHH8sH", 0, 1, 6, f[6:12] + b"\0\0", 0x0800) + f[14:]) for ts, f in packets]
    assert outline(write(tmp_path / "sll.pcap", cooked, linktype=113)) == expected


def test_reordered_and_retransmitted_segments_are_put_back_in_order(base, tmp_path):
    expected = outline(base)
    packets = frames(base)
    rng = random.Random(7)
    shuffled: list[tuple[float, bytes]] = []
    index = 0
    while index < len(packets):
        pair = packets[index : index + 2]
        if rng.random() < 0.5:
            pair.reverse()  # swap neighbours
        shuffled += pair
        if rng.random() < 0.3:
            shuffled.append(pair[0])  # and send one again
        index += 2
    report = analyse(write(tmp_path / "shuffled.pcap", shuffled))
    assert outline(tmp_path / "shuffled.pcap") == expected
    assert sum(c.retransmitted for f in report.findings for c in f.attempt.connections) > 0


def test_snaplen_cut_packets_are_reported_not_fatal(base, tmp_path):
    cut = [(ts, f[:160]) for ts, f in frames(base)]
    report = analyse(write(tmp_path / "cut.pcap", cut, snaplen=160))
    (finding,) = report.findings
    assert finding.attempt.target and finding.result.stages[1].status == "ok"  # TCP 135 is still seen open
    assert sum(c.missing for c in finding.attempt.connections) > 0


def test_truncated_file_keeps_what_it_holds_and_warns(corpus, tmp_path):
    data = (corpus / "pcap" / BLOCKED).read_bytes()
    path = tmp_path / "truncated.pcap"
    path.write_bytes(data[: len(data) - 37])
    report = analyse(path)
    assert report.info.warnings and "truncated" in report.info.warnings[0]
    assert report.findings and report.findings[0].result.failing_stage.name == "tcp_135"


def test_garbage_after_a_valid_header_is_reported_per_file(tmp_path, cli):
    path = tmp_path / "garbage.pcap"
    rng = random.Random(3)
    path.write_bytes(
        b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00"
        + bytes(8)
        + b"\xff\xff\x00\x00\x01\x00\x00\x00"
        + bytes(rng.randrange(256) for _ in range(5000))
    )
    result = cli("pcap", str(path))
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr
    assert "warning" in result.stdout


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, this is not a capture\n", gzip.compress(b"nor is this", mtime=0)],
    ids=["empty", "text", "gzip-of-text"],
)
def test_a_file_that_is_not_a_capture_exits_2_with_one_line(tmp_path, cli, content):
    path = tmp_path / "notes.pcap"
    path.write_bytes(content)
    result = cli("pcap", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "not a capture" in result.stderr


def test_ipv6_inside_vlan_tags_gives_the_same_stages(base, tmp_path):
    """The same packets as IPv6 (IPv4-mapped loopback addresses) in 802.1Q-tagged frames."""
    mapped: dict[bytes, bytes] = {}

    def six(address: bytes) -> bytes:
        return mapped.setdefault(address, bytes(10) + b"\xff\xff" + bytes((127, 0, 0, len(mapped) + 1)))

    converted = []
    for ts, frame in frames(base):
        if frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 15) * 4
        total = struct.unpack_from("!H", frame, 16)[0]
        l4 = frame[14 + ihl : 14 + total]
        header = struct.pack("!IHBB", 6 << 28, len(l4), frame[23], 64) + six(frame[26:30]) + six(frame[30:34])
        converted.append((ts, frame[:12] + b"\x81\x00\x00\x07" + b"\x86\xdd" + header + l4))
    expected = [(kind, stages, verdict) for _, _, kind, stages, verdict in outline(base)]
    got = outline(write(tmp_path / "v6.pcap", converted))
    assert [(kind, stages, verdict) for _, _, kind, stages, verdict in got] == expected
    assert got[0][0].startswith("::ffff:127.0.0.") and got[0][1].startswith("::ffff:127.0.0.")


def test_pcapng_keeps_timestamps_and_reports_a_cut_block(base, tmp_path):
    ng = tmp_path / "capture.pcapng"
    with ng.open("wb") as out:
        writer = dpkt.pcapng.Writer(out, linktype=1)  # dpkt writes it: an implementation other than ours
        for ts, frame in frames(base):
            writer.writepkt(frame, ts)
    whole = analyse(ng)
    plain = analyse(base)
    assert abs(whole.info.first_ts - plain.info.first_ts) < 1e-6 and whole.info.records == plain.info.records
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(ng.read_bytes()[:-50])
    report = analyse(cut)
    assert report.info.records == plain.info.records - 1 and "damaged" in report.info.warnings[0]
    assert report.findings
