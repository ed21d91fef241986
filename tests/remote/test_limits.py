"""True time limits: every stage and walk ends within its stated limit against hosts that stall (never
answer a call), trickle (send an answer a byte at a time) or are slow at every stage.

These are bounds the probe promises (its --timeout contract), not performance figures: the assertions
allow a generous margin for a loaded machine and would still catch an unbounded wait.
"""

from __future__ import annotations

import time

import pytest
from tests.remote.fakes.msrpc import Scenario
from tests.remote.fakes.wsman import FakeWsman, WsmanScenario

from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host

pytestmark = pytest.mark.network

USER = Credentials(user="probe", domain="CORP", password="Secret-1")
STAGE = 0.5
MARGIN = 0.6  # seconds of scheduling slack on a shared 2-core machine


def timed(port: int, transport: str, **options) -> tuple[float, object, ProbeOptions]:
    opts = ProbeOptions(transports=(transport,), timeout=STAGE, **options)
    start = time.monotonic()
    (result,) = probe_host(Target("127.0.0.1", port), USER, opts)
    return time.monotonic() - start, result, opts


@pytest.mark.parametrize(
    ("method", "stage"),
    [
        ("ServerAlive2", "endpoint_mapper"),
        ("RemoteCreateInstance", "activation"),
        ("NTLMLogin", "namespace_login"),
        ("ExecQuery", "query"),
        ("Next", "fetch"),
    ],
)
def test_dcom_stall_ends_the_stage_at_its_limit(fake_host, method, stage):
    elapsed, result, opts = timed(fake_host(Scenario(stall=(method,))).port, "dcom")
    failing = result.failing_stage
    assert failing.name == stage and failing.reason in ("no_answer", "budget"), failing
    assert elapsed <= opts.walk_limit + MARGIN
    assert failing.elapsed_ms <= (STAGE + MARGIN) * 1000


@pytest.mark.parametrize(
    ("method", "stage"), [("ServerAlive2", "endpoint_mapper"), ("NTLMLogin", "namespace_login"), ("Next", "fetch")]
)
def test_dcom_trickle_cannot_stretch_a_stage(fake_host, method, stage):
    elapsed, result, opts = timed(fake_host(Scenario(trickle=(method,), trickle_gap=0.05)).port, "dcom")
    failing = result.failing_stage
    assert (failing.name, failing.reason) == (stage, "deadline"), failing
    assert elapsed <= opts.walk_limit + MARGIN
    assert failing.elapsed_ms <= (STAGE + MARGIN) * 1000


def test_a_host_slow_at_every_stage_ends_at_the_walk_limit(fake_host):
    """Each answer comes within the stage's time-out, but together they exceed the walk's limit."""
    elapsed, result, opts = timed(fake_host(Scenario(reply_delay=0.3)).port, "dcom")
    assert result.failing_stage.reason == "budget", result.stages
    assert "overall time limit" in result.failing_stage.detail
    assert elapsed <= opts.walk_limit + MARGIN


@pytest.mark.parametrize("where", ["identify", "enumerate"])
def test_wsman_stall_and_trickle_are_bounded(where):
    for scenario in (WsmanScenario(stall=where), WsmanScenario(trickle=where, trickle_gap=0.05)):
        with FakeWsman(scenario) as fake:
            elapsed, result, opts = timed(fake.port, "wsman")
        failing = result.failing_stage
        assert failing.name == where and failing.reason in ("no_answer", "deadline", "budget"), failing
        assert elapsed <= opts.walk_limit + MARGIN


def test_both_transports_end_within_the_hosts_limit(fake_host):
    """A fleet host is walked over each transport in turn: its limit is the sum of the walks' limits."""
    server = fake_host(Scenario(stall=("ServerAlive2",)))
    opts = ProbeOptions(timeout=STAGE, wsman_port=server.port)  # the WS-Man port answers no HTTP either
    start = time.monotonic()
    results = probe_host(Target("127.0.0.1", server.port), USER, opts)
    assert time.monotonic() - start <= opts.host_limit + MARGIN
    assert [r.passed for r in results] == [False, False]
