"""Walking a transport stage by stage: timing, per-stage deadlines inside one overall limit, and
"not reached" for everything after the first failure.

Deadlines are absolute (time.monotonic()) and are what every blocking call checks: a socket timeout
alone bounds one recv, not a conversation, so a server that trickles a byte a second would never trip
it. `current_deadline()` gives the deadline of the stage running on this thread to code that has no
walk at hand (the Kerberos exchange inside impacket, the DCE/RPC transport).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wmidoctor.remote.model import FAILED, NOT_REACHED, OK, SKIPPED, ProbeResult, StageResult
from wmidoctor.vocabulary import StageStatus

# The whole walk of one transport may take at most this many stage timeouts, however many stages
# are slow: a host that answers every stage just under the timeout still ends in bounded time.
BUDGET_IN_STAGE_TIMEOUTS = 3

_local = threading.local()


def current_deadline() -> float | None:
    """The monotonic deadline of the stage this thread is running, or None outside a stage."""
    return getattr(_local, "deadline", None)


def time_left(default: float = 10.0) -> float:
    """Seconds until the current stage's deadline (or `default` outside a stage); never negative."""
    deadline = current_deadline()
    return default if deadline is None else max(0.0, deadline - time.monotonic())


class StageFailure(Exception):
    """A stage failed. Either the wire carried a status (`carrier` fault, bind_nak, reply, krb_error, http,
    soap_fault, and `code` is that status exactly as sent) or the socket said what happened (`carrier`
    socket, `reason` a tag such as refused or no_answer, `code` the status a Windows client would show).
    The reason of a wire status is derived by the verdict rules, one place for probe and capture alike."""

    def __init__(
        self, detail: str, *, reason: str = "", code: int | None = None, layer: str = "", carrier: str = "socket"
    ):
        super().__init__(detail)
        self.detail = detail
        self.reason = reason
        self.code = code
        self.layer = layer
        self.carrier = carrier


def failed_stage(
    name: str, layer: str, failure: StageFailure, transport: str, facts: dict[str, object], elapsed_ms: float = 0.0
) -> StageResult:
    """A failed stage as every judge records it (the probe's walk and the capture reader alike): the wire's
    status kept raw, the reason derived by the verdict rules, the code a Windows client would show."""
    from wmidoctor.remote.verdicts import SOCKET, Observation, client_code, reason_for

    obs = Observation(
        stage=name,
        carrier=failure.carrier,
        code=failure.code if failure.carrier != SOCKET else None,
        transport=transport,
        reason=failure.reason,
        credentials_proved=bool(facts.get("credentials_proved")),
        privacy_retry=str(facts.get("privacy_retry", "")),
    )
    return StageResult(
        name=name,
        status=FAILED,
        elapsed_ms=round(elapsed_ms, 2),
        detail=failure.detail,
        layer=failure.layer or layer,
        carrier=failure.carrier,
        raw=failure.code if failure.carrier != SOCKET else None,
        reason=failure.reason if failure.carrier == SOCKET else reason_for(obs),
        code=failure.code if failure.carrier == SOCKET and failure.code is not None else client_code(obs),
    )


class Stopped(Exception):
    """Raised out of a stage after it failed, so that the walk ends there."""


@dataclass
class Step:
    timeout: float  # seconds this stage may still take when it starts
    deadline: float  # the same, as a monotonic instant
    detail: str = ""

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


Classifier = Callable[[str, BaseException], StageFailure]


class Walk:
    """Runs stages in order for one transport; `plan` names every stage with its layer.

    The walk's limit is `stage_timeout` x BUDGET_IN_STAGE_TIMEOUTS from `started` (the caller's start,
    so that name resolution counts); each stage gets at most `stage_timeout` of what is left.
    """

    def __init__(
        self,
        target: str,
        transport: str,
        plan: list[tuple[str, str]],
        stage_timeout: float,
        classify: Classifier,
        started: float | None = None,
    ):
        self.result = ProbeResult(target=target, transport=transport)
        self.plan = plan
        self.layers = dict(plan)
        self.stage_timeout = stage_timeout
        self.limit = stage_timeout * BUDGET_IN_STAGE_TIMEOUTS
        self.deadline = (started if started is not None else time.monotonic()) + self.limit
        self.classify = classify

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def record(
        self,
        name: str,
        status: StageStatus,
        elapsed_ms: float = 0.0,
        detail: str = "",
        failure: StageFailure | None = None,
    ) -> None:
        if failure is not None:
            stage = failed_stage(name, self.layers[name], failure, self.result.transport, self.result.facts, elapsed_ms)
        else:
            stage = StageResult(
                name=name, status=status, elapsed_ms=round(elapsed_ms, 2), detail=detail, layer=self.layers[name]
            )
        self.result.stages.append(stage)

    def fail(self, name: str, failure: StageFailure, elapsed_ms: float = 0.0) -> None:
        """Record `name` as failed and stop the walk."""
        self.record(name, FAILED, elapsed_ms, failure=failure)
        raise Stopped(name)

    def budget_failure(self, name: str) -> StageFailure:
        return StageFailure(
            f"the probe's overall time limit ({BUDGET_IN_STAGE_TIMEOUTS} x {self.stage_timeout:g} s"
            f" = {self.limit:g} s) was used up before {name} finished",
            reason="budget",
            code=HRESULT_TIMEOUT,
            layer=self.layers[name],
        )

    @contextmanager
    def stage(self, name: str) -> Iterator[Step]:
        """Time one stage; a StageFailure or any exception the classifier understands fails it."""
        remaining = self.remaining()
        if remaining <= 0:
            self.fail(name, self.budget_failure(name))
        timeout = min(self.stage_timeout, remaining)
        step = Step(timeout=timeout, deadline=time.monotonic() + timeout)
        by_budget = timeout < self.stage_timeout
        start = time.perf_counter()
        _local.deadline = step.deadline
        try:
            yield step
        except Stopped:
            raise
        except StageFailure as failure:
            self.fail(name, failure, (time.perf_counter() - start) * 1000)
        except Exception as exc:
            classified = self.classify(name, exc)
            if by_budget and classified.reason in ("no_answer", "deadline") and step.left() <= 0:
                classified = self.budget_failure(name)
            self.fail(name, classified, (time.perf_counter() - start) * 1000)
        finally:
            _local.deadline = None
        self.record(name, OK, (time.perf_counter() - start) * 1000, step.detail)

    def skip(self, name: str, why: str) -> None:
        self.record(name, SKIPPED, detail=why)

    def finish(self) -> ProbeResult:
        """Mark every planned stage not run as not reached, in plan order."""
        done = {s.name for s in self.result.stages}
        for name, layer in self.plan:
            if name not in done:
                self.result.stages.append(StageResult(name=name, status=NOT_REACHED, layer=layer))
        order = {name: i for i, (name, _) in enumerate(self.plan)}
        self.result.stages.sort(key=lambda s: order[s.name])
        return self.result


HRESULT_TIMEOUT = 0x800705B4  # ERROR_TIMEOUT as an HRESULT
