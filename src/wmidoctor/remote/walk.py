"""Walking a transport stage by stage: timing, per-stage timeouts inside one overall budget, and
"not reached" for everything after the first failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wmidoctor.remote.model import FAILED, NOT_REACHED, OK, SKIPPED, ProbeResult, StageResult

# The whole walk of one transport may take at most this many stage timeouts, however many stages
# are slow: a host that answers every stage just under the timeout still ends in bounded time.
BUDGET_IN_STAGE_TIMEOUTS = 3


class StageFailure(Exception):
    """A stage failed for a known reason. `reason` is a short machine tag the verdicts key on."""

    def __init__(self, detail: str, *, reason: str, code: int | None = None, layer: str = ""):
        super().__init__(detail)
        self.detail = detail
        self.reason = reason
        self.code = code
        self.layer = layer


class Stopped(Exception):
    """Raised out of a stage after it failed, so that the walk ends there."""


@dataclass
class Step:
    timeout: float
    detail: str = ""


Classifier = Callable[[str, BaseException], StageFailure]


class Walk:
    """Runs stages in order for one transport; `plan` names every stage with its layer."""

    def __init__(self, target: str, transport: str, plan: list[tuple[str, str]], stage_timeout: float,
                 classify: Classifier):
        self.result = ProbeResult(target=target, transport=transport)
        self.plan = plan
        self.layers = dict(plan)
        self.stage_timeout = stage_timeout
        self.deadline = time.monotonic() + stage_timeout * BUDGET_IN_STAGE_TIMEOUTS
        self.classify = classify

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def record(self, name: str, status: str, elapsed_ms: float = 0.0, detail: str = "",
               failure: StageFailure | None = None) -> None:
        stage = StageResult(name=name, status=status, elapsed_ms=round(elapsed_ms, 2), detail=detail,
                            layer=self.layers[name])
        if failure is not None:
            stage.code, stage.detail, stage.reason = failure.code, failure.detail, failure.reason
            stage.layer = failure.layer or stage.layer
        self.result.stages.append(stage)

    def fail(self, name: str, failure: StageFailure, elapsed_ms: float = 0.0) -> None:
        """Record `name` as failed and stop the walk."""
        self.record(name, FAILED, elapsed_ms, failure=failure)
        raise Stopped(name)

    @contextmanager
    def stage(self, name: str) -> Iterator[Step]:
        """Time one stage; a StageFailure or any exception the classifier understands fails it."""
        remaining = self.remaining()
        if remaining <= 0:
            self.fail(name, StageFailure(
                f"the probe's overall time limit ({BUDGET_IN_STAGE_TIMEOUTS} x {self.stage_timeout:g} s) was "
                "used up by earlier slow stages", reason="budget", layer=self.layers[name]))
        step = Step(timeout=min(self.stage_timeout, remaining))
        start = time.perf_counter()
        try:
            yield step
        except Stopped:
            raise
        except StageFailure as failure:
            self.fail(name, failure, (time.perf_counter() - start) * 1000)
        except Exception as exc:
            self.fail(name, self.classify(name, exc), (time.perf_counter() - start) * 1000)
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
