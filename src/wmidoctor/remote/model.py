"""What a probe produces: one StageResult per stage, one ProbeResult per transport, and a ProbeVerdict
(why it failed, what to change)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Final

from wmidoctor.vocabulary import Fix, StageStatus

OK: Final = "ok"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"
NOT_REACHED: Final = "not_reached"


def code_label(code: int | None, reason: str | None) -> str:
    """A failing stage's code as fleet tables show it: 0x%08X, or the reason tag when no code came back."""
    return f"0x{code:08X}" if code is not None else (reason or "")


@dataclass
class StageResult:
    name: str
    status: StageStatus
    elapsed_ms: float = 0.0
    code: int | None = None  # the status the wire carried (HRESULT, Win32, NTSTATUS, RPC, Kerberos, HTTP)
    detail: str = ""
    layer: str = ""  # network | rpc | dcom | authentication | wmi | wsman | http
    reason: str = ""  # a short tag for the verdict rules: refused, no_answer, bind_nak, logon_failure, ...
    carrier: str = ""  # what carried the status: fault | bind_nak | reply | krb_error | http | soap_fault | socket
    raw: int | None = None  # the status exactly as the wire carried it (fault status, reject reason, KRB code, HTTP)


@dataclass
class ProbeVerdict:
    """Why a transport failed and what to change, on which machine (`where`: target | client | network)."""

    stage: str
    layer: str
    code: int | None
    code_hex: str
    symbol: str
    meaning: str
    cause: str
    where: str
    fixes: list[Fix] = field(default_factory=list)
    proof: str = ""  # what the probe proved on the way (e.g. "credentials accepted by an authenticated call")
    ambiguous: bool = False  # True when the wire cannot tell the causes named apart


@dataclass
class ProbeResult:
    target: str
    transport: str  # dcom | wsman
    stages: list[StageResult] = field(default_factory=list)
    verdict: ProbeVerdict | None = None
    first_row: str = ""  # a short summary of the first object the query returned
    # What the walk learnt about the account, for the verdict: credentials_proved (an authenticated call
    # succeeded), privacy_retry ("ok" | "denied" when a refused call was retried at packet privacy).
    facts: dict[str, object] = field(default_factory=dict)
    error: str = ""  # the probe itself failed on this host (an unexpected exception): its message

    @property
    def status(self) -> str:
        """ok | failed | error (the probe broke on this host: no verdict about the host)."""
        return "error" if self.error else ("ok" if self.failing_stage is None else "failed")

    @property
    def failing_stage(self) -> StageResult | None:
        return next((s for s in self.stages if s.status == FAILED), None)

    @property
    def passed(self) -> bool:
        return self.failing_stage is None and not self.error

    @property
    def elapsed_ms(self) -> float:
        return sum(s.elapsed_ms for s in self.stages)

    def to_data(self) -> dict:
        data = asdict(self)
        failing = self.failing_stage
        data["failing_stage"] = failing.name if failing else None
        data["code"] = failing.code if failing else None
        if self.verdict is not None:
            # the probe's rules judge the cause, not each fix's risk: its documents carry what to do and type
            data["verdict"]["fixes"] = [{"step": fix.step, "command": fix.command} for fix in self.verdict.fixes]
        return data
