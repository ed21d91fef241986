"""Run the probe while recording loopback, read the capture back, and compare the two verdicts: the helpers of the
capture tests against the fakes and the MIT KDC."""

from __future__ import annotations

from dataclasses import dataclass

from wmidoctor.pcap.analyse import CaptureReport, analyse
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import ProbeResult
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host

GOOD = Credentials(user="probe", password="Secret-1")
WRONG = Credentials(user="probe", password="not-the-password")


@dataclass
class Run:
    probe: ProbeResult
    capture: CaptureReport

    @property
    def finding(self):
        (finding,) = [f for f in self.capture.findings if f.attempt.transport == self.probe.transport]
        return finding


def probe_and_record(
    record,
    tmp_path,
    port: int,
    transport: str,
    creds: Credentials = GOOD,
    extra_ports: tuple[int, ...] = (),
    timeout: float = 3.0,
) -> Run:
    with record(port, *extra_ports) as capture:
        (result,) = probe_host(Target("127.0.0.1", port), creds, ProbeOptions(transports=(transport,), timeout=timeout))
    path = capture.write(tmp_path / f"{transport}.pcap")
    ports = frozenset({port})
    report = analyse(
        path,
        rpc_ports=ports if transport == "dcom" else frozenset(),
        wsman_ports=ports if transport == "wsman" else frozenset(),
    )
    return Run(result, report)


def assert_same_verdict(run: Run, *, code_visible: bool = True) -> None:
    probe_stage, seen = run.probe.failing_stage, run.finding.result.failing_stage
    assert probe_stage is not None and seen is not None, (run.probe.stages, run.finding.result.stages)
    assert (seen.name, seen.reason) == (probe_stage.name, probe_stage.reason), seen
    expected, got = run.probe.verdict, run.finding.result.verdict
    assert got.stage == expected.stage and got.where == expected.where and got.cause == expected.cause
    assert got.fixes == expected.fixes
    if code_visible:
        assert (got.code, got.symbol) == (expected.code, expected.symbol)
