"""The TCP dynamic port range: netsh output parsed (English and by position), read from a bundle, judged."""

from __future__ import annotations

import pytest
from config_factories import dynamic_ports
from diagnose_factories import healthy

from snapshots import judged
from wmidoctor.artifacts.cmdout import parse_dynamic_ports
from wmidoctor.checks.rpc_policy import port_ranges
from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.sources.commands import CommandOutputError, fill_dynamic_ports

ENGLISH = (
    "\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\n"
    "Start Port      : 49152\r\nNumber of Ports : 16384\r\n\r\n"
)
GERMAN = (
    "\r\nProtokoll tcp Dynamischer Portbereich\r\n---------------------------------\r\n"
    "Startport       : 10000\r\nAnzahl der Ports : 5000\r\n\r\n"
)


def test_english_output_is_read_by_label():
    ports = parse_dynamic_ports(ENGLISH)
    assert (ports.start, ports.count, ports.language, ports.start_line, ports.count_line) == (49152, 16384, "en", 4, 5)


def test_translated_output_is_read_by_position_and_noted():
    ports = parse_dynamic_ports(GERMAN)
    assert (ports.start, ports.count, ports.language) == (10000, 5000, "")
    ev = Evidence()
    fill_dynamic_ports(ev, GERMAN, "bundle:commands/netsh-dynamicport-tcp.txt")
    assert ev.rpc_policy.dynamic_port_count.value == 5000 and ev.rpc_policy.collected
    assert "read by position" in ev.rpc_policy.problems[0]


def test_output_without_the_two_numbers_is_damaged():
    with pytest.raises(CommandOutputError):
        fill_dynamic_ports(Evidence(), "The requested operation requires elevation.\r\n", "bundle:x")


def run(ev: Evidence):
    return judged("rpc.dynamic-ports", ev)


@pytest.mark.parametrize(
    ("start", "count", "status"),
    [(49152, 16384, "pass"), (10000, 20000, "info"), (1025, 3976, "warn"), (49152, 1000, "warn")],
)
def test_range_verdicts(start, count, status):
    ev = healthy()
    dynamic_ports(ev, start, count)
    finding = run(ev)
    assert finding.status == status
    if status != "pass":
        assert finding.fixes[-1].command == "netsh int ipv4 set dynamicport tcp start=49152 num=16384"
        assert finding.fixes[-1].undo == f"netsh int ipv4 set dynamicport tcp start={start} num={count}"


def test_rpc_internet_ports_inside_the_dynamic_range_warn():
    ev = healthy()
    ev.rpc_policy.ports = Setting(["50000-50100"], "registry:HKLM\\SOFTWARE\\Microsoft\\Rpc\\Internet!Ports")
    finding = run(ev)
    assert finding.status == "warn" and "overlaps" in finding.summary
    assert "Ports=50000-50100" in " ".join(e.detail for e in finding.evidence)
    ev.rpc_policy.ports = Setting(["5000-5100"], "registry:...!Ports")
    assert run(ev).status == "pass"


def test_not_collected_range_is_skipped_and_ports_text_parsed():
    ev = healthy()
    ev.rpc_policy.dynamic_port_start = None
    assert run(ev).status == "skipped"
    assert port_ranges(["5000-5100", "5200", "junk"]) == [(5000, 5100), (5200, 5200)]
