"""An attempt seen in a capture, as the same stage outcomes `probe` records (remote.model.StageResult in
the stage plans of remote.dcom and remote.wsman), so that remote.verdicts judges both alike.

Where the capture cannot show a stage (a sealed stub, a DNS lookup made before the capture started)
the stage says so in its detail; a stage the conversation never got to is "not reached".
"""

from __future__ import annotations

import re

from wmidoctor.artifacts.pcap.http import TlsEvent
from wmidoctor.pcap.attempts import RESOLVERS, Attempt, BindSeen, CallSeen, ConnectionSeen, HttpSeen
from wmidoctor.remote import dcom, wsman
from wmidoctor.remote.dcom import WBEM_S_FALSE
from wmidoctor.remote.model import NOT_REACHED, OK, SKIPPED, ProbeResult, StageResult
from wmidoctor.remote.verdicts import (
    BIND_NAK,
    FAULT,
    HTTP,
    KRB_ERROR,
    REPLY,
    SOAP_FAULT,
    SOCKET,
    WBEM_E_ACCESS_DENIED,
    WBEM_S_TIMEDOUT,
)
from wmidoctor.remote.walk import StageFailure, failed_stage
from wmidoctor.vocabulary import StageStatus

RPC_ACCESS_DENIED = 5  # the fault status rpc_s_access_denied

ENDPOINT_INTERFACES = ("EPM", "IObjectExporter", "IRemoteSCMActivator", "IActivation")
ACTIVATION_METHODS = ("RemoteCreateInstance", "RemoteGetClassObject", "RemoteActivation")
LOGIN_METHODS = ("NTLMLogin", "WBEMLogin")
FINAL_TOKENS = ("NTLM AUTHENTICATE", "Kerberos AP-REQ")  # the client's last leg of an authentication exchange


class _Stages:
    """Stages in plan order; everything after the first failure is not reached. A failure is recorded as the
    probe's walk records it (remote.walk.failed_stage): what the wire carried, the reason by the verdict rules."""

    def __init__(self, plan: list[tuple[str, str]], transport: str):
        self.plan = plan
        self.transport = transport
        self.layers = dict(plan)
        self.stages: list[StageResult] = []
        self.facts: dict[str, object] = {}
        self.stopped = False

    def add(self, name: str, status: StageStatus, detail: str = "", *, elapsed_ms: float | None = None) -> None:
        if self.stopped:
            return
        self.stages.append(StageResult(name, status, round(elapsed_ms or 0.0, 2), None, detail, self.layers[name]))

    def fail(
        self,
        name: str,
        detail: str,
        *,
        carrier: str = SOCKET,
        code: int | None = None,
        reason: str = "",
        layer: str = "",
    ) -> None:
        if self.stopped:
            return
        failure = StageFailure(detail, carrier=carrier, code=code, reason=reason, layer=layer)
        self.stages.append(failed_stage(name, self.layers[name], failure, self.transport, self.facts))
        self.stopped = True

    def finish(self) -> list[StageResult]:
        done = {s.name for s in self.stages}
        order = {name: i for i, (name, _) in enumerate(self.plan)}
        stages = self.stages + [StageResult(n, NOT_REACHED, layer=layer) for n, layer in self.plan if n not in done]
        return sorted(stages, key=lambda s: order[s.name])


def to_result(attempt: Attempt, rpc_ports: frozenset[int] = frozenset({135})) -> ProbeResult:
    stages = _Stages(dcom.PLAN if attempt.transport == "dcom" else wsman.PLAN, attempt.transport)
    _dns(attempt, stages)
    if attempt.transport == "dcom":
        _dcom(attempt, stages, rpc_ports)
    else:
        _wsman(attempt, stages)
    return ProbeResult(target=attempt.target, transport=attempt.transport, stages=stages.finish(), facts=stages.facts)


def _dns(attempt: Attempt, stages: _Stages) -> None:
    if attempt.dns:
        answer = attempt.dns[0]
        stages.add("dns", OK, f"{answer.name} -> {', '.join(answer.addresses[:3])} (answered by {answer.server})")
    else:
        stages.add("dns", SKIPPED, f"no DNS answer for {attempt.target} in the capture (a cached or literal address)")


# --- DCOM -------------------------------------------------------------------------------------------------
def is_wmi(attempt: Attempt) -> bool:
    from wmidoctor.artifacts.pcap.interfaces import WMI_INTERFACES

    return any(name in WMI_INTERFACES for bind in attempt.binds for name in bind.interfaces) or any(
        "WbemLevel1Login" in call.detail for call in attempt.calls
    )


def _connection_failure(connections: list[ConnectionSeen], what: str) -> tuple[str, str] | None:
    """(reason, detail) when no connection to this port was answered; None when one was. The span
    of the attempts is in the detail; as elapsed time it would read as a timing of the target."""
    if not connections or any(c.answered for c in connections):
        return None
    syns = sum(c.syns for c in connections)
    if any(c.refused for c in connections):
        return "refused", f"{what} refused (RST from the target): nothing listens there, or a firewall rejects"
    span = max(c.end_ts for c in connections) - min(c.ts for c in connections)
    return "no_answer", (
        f"{what}: {syns} SYN{'s' if syns != 1 else ''} over {span:.1f} s, never answered "
        "(dropped by a firewall, or the host is down)"
    )


def _connected(connections: list[ConnectionSeen], what: str) -> str:
    answered = [c for c in connections if c.answered]
    first = answered[0]
    timing = f"handshake {first.handshake_ms:g} ms" if first.handshake_ms is not None else "handshake not captured"
    return f"{what} open ({timing}; {len(answered)} connection{'s' if len(answered) != 1 else ''})"


def _dcom(attempt: Attempt, stages: _Stages, rpc_ports: frozenset[int]) -> None:
    activations = [c for c in attempt.calls if c.method in ACTIVATION_METHODS]
    learned = {p for c in activations for p in c.ports}
    # Connections to the endpoint mapper: those that bind the resolver or the activator first, and bare
    # connection attempts to an RPC endpoint port that was not named as a dynamic port.
    endpoint = [
        c
        for c in attempt.connections
        if c.first_interface in ENDPOINT_INTERFACES
        or (not c.first_interface and c.port in rpc_ports and c.port not in learned)
    ]
    streams = {c.stream for c in endpoint}
    ports = sorted({c.port for c in endpoint})
    port_text = "TCP " + "/".join(map(str, ports)) if ports else "TCP 135"
    if not endpoint:
        stages.add("tcp_135", SKIPPED, "no connection to the endpoint mapper in the capture (it started later)")
    else:
        failure = _connection_failure(endpoint, port_text)
        if failure:
            reason, detail = failure
            stages.fail("tcp_135", detail, reason=reason)
            return
        stages.add(
            "tcp_135",
            OK,
            _connected(endpoint, port_text),
            elapsed_ms=next(c.handshake_ms for c in endpoint if c.answered) or 0.0,
        )

    binds = [b for b in attempt.binds if b.stream in streams and b.kind == "bind"]
    calls = [c for c in attempt.calls if c.stream in streams]
    if endpoint:
        first = binds[0] if binds else None
        if first is None:
            stages.fail(
                "endpoint_mapper",
                "the connection opened but no RPC bind was answered in the capture",
                reason="no_answer",
            )
            return
        # RPCSS answered if the first bind got any reply; an authenticated bind's refusal is judged below.
        if (first.result == "no answer" or not first.auth_type) and not _bind_answered(
            first, stages, "endpoint_mapper", endpoint
        ):
            return
        # RestrictRemoteClients: RPCSS answers the unauthenticated resolver call with fault 5
        refused = next(
            (c for c in calls if c.interface in RESOLVERS and c.auth_level in ("", "none") and c.fault is not None),
            None,
        )
        if refused is not None:
            stages.fail(
                "endpoint_mapper",
                f"{refused.interface}::{refused.method} without authentication: RPC fault 0x{refused.fault:08x}",
                carrier=FAULT,
                code=refused.fault,
                layer="rpc",
            )
            return
        stages.add("endpoint_mapper", OK, _rpcss_detail(first, calls), elapsed_ms=first.latency_ms)

    _kdc(attempt, stages)
    dynamic = [c for c in attempt.connections if c.stream not in streams]
    if _authentication_and_activation(attempt, stages, binds, calls, activations, endpoint) and dynamic:
        _dynamic(attempt, stages, dynamic)


def _kdc(attempt: Attempt, stages: _Stages) -> None:
    """Tickets asked of a KDC (TCP/UDP 88) for this attempt: the probe's kdc stage."""
    refused = next((int(m.group(1)) for text in attempt.kdc_errors if (m := re.match(r"KRB-ERROR (\d+)", text))), None)
    if refused is not None:
        stages.fail(
            "kdc", f"the KDC answered {attempt.kdc_errors[0]}", carrier=KRB_ERROR, code=refused, layer="authentication"
        )
    elif attempt.kerberos_services:
        stages.add("kdc", OK, f"ticket for {attempt.kerberos_services[0]}")
    elif attempt.kdc_unanswered:
        silence = attempt.kdc_unanswered[0]
        if silence.refused:
            stages.fail("kdc", f"the KDC at {silence.kdc} refused the connection", reason="refused", layer="network")
        else:
            stages.fail(
                "kdc",
                f"no answer from the KDC at {silence.kdc} in the capture",
                reason="no_answer",
                layer="authentication",
            )
    else:
        stages.add("kdc", SKIPPED, "no Kerberos exchange with a KDC in the capture (NTLM, or a cached ticket)")


def _authentication_and_activation(
    attempt: Attempt,
    stages: _Stages,
    binds: list[BindSeen],
    calls: list[CallSeen],
    activations: list[CallSeen],
    endpoint: list[ConnectionSeen],
) -> bool:
    """Judged as the probe judges them: rpc_s_access_denied on the first authenticated call means the
    credentials were refused; once an authenticated call was answered, the credentials are proved and a
    refusal of the activation is a launch/activation refusal. True when the walk goes on to the dynamic port."""
    auth_binds = [b for b in binds if b.auth_type]
    if not auth_binds and not activations:
        stages.add("authentication", SKIPPED, "no authenticated bind to the activator in the capture")
        return True
    bind = auth_binds[0] if auth_binds else None
    if bind is not None and not _bind_answered(bind, stages, "authentication", endpoint):
        return False
    refused = next((b for b in binds if b.kerberos_error is not None), None)
    if refused is not None and not activations:
        _kerberos_refused(refused, stages)
        return False
    activation = activations[0] if activations else None
    first_call = next(
        (c for c in calls if c.auth_level not in ("", "none") and c.method not in ACTIVATION_METHODS), None
    )
    stages.facts["credentials_proved"] = first_call is not None and first_call.outcome == "response"
    if first_call is not None and first_call.outcome == "fault" and first_call.fault == RPC_ACCESS_DENIED:
        stages.fail(
            "authentication",
            f"the server refused the credentials (RPC fault rpc_s_access_denied to the "
            f"authenticated {first_call.interface}::{first_call.method}){_who(attempt)}",
            carrier=FAULT,
            code=RPC_ACCESS_DENIED,
            layer="authentication",
        )
        return False
    stages.add("authentication", OK, _auth_detail(attempt, bind), elapsed_ms=bind.latency_ms if bind else None)
    return activation is None or _activation(activation, stages)


def _bind_answered(bind: BindSeen, stages: _Stages, stage: str, connections: list[ConnectionSeen]) -> bool:
    """Record the stage as failed when the bind got no bind_ack; True when it did."""
    from wmidoctor.artifacts.pcap.dcerpc import BIND_NAK_REASONS

    if bind.result == "bind_nak":
        text = BIND_NAK_REASONS.get(bind.nak_reason or 0, f"reason {bind.nak_reason}")
        if bind.kerberos_error is not None:
            text += f"; Kerberos error {bind.kerberos_error}"
        stages.fail(
            stage,
            f"the server refused the bind to {', '.join(bind.interfaces[:1])} "
            f"(bind_nak reason {bind.nak_reason}: {text})",
            carrier=BIND_NAK,
            code=bind.nak_reason,
            layer="rpc",
        )
        return False
    if bind.result.startswith("rejected"):
        stages.fail(
            stage,
            f"the server rejected the interface {', '.join(bind.interfaces[:1])}: {bind.result}",
            reason="bind_rejected",
            layer="rpc",
        )
        return False
    if bind.result == "no answer":
        closed = [
            c
            for c in connections
            if c.port == bind.port and ("reset by the server" in c.ended_by or "closed by the server" in c.ended_by)
        ]
        if closed:
            stages.fail(stage, "the server closed the connection after the bind", reason="closed")
        else:
            stages.fail(
                stage,
                f"no answer to the bind ({', '.join(bind.interfaces[:1])}): something other than "
                "RPC listens, or a middlebox holds the traffic",
                reason="no_answer",
            )
        return False
    return True


def _kerberos_refused(bind: BindSeen, stages: _Stages) -> None:
    """The target answered the bind's Kerberos AP-REQ with a KRB-ERROR: the probe's Kerberos reasons."""
    code = bind.kerberos_error or 0
    stages.fail(
        "authentication",
        f"Kerberos: the target answered the bind's ticket with KRB-ERROR {code}",
        carrier=KRB_ERROR,
        code=code,
        layer="authentication",
    )


def _rpcss_detail(bind: BindSeen, calls: list[CallSeen]) -> str:
    alive = next((c for c in calls if c.interface in ("IObjectExporter", "EPM") and c.outcome == "response"), None)
    answer = "accepted" if bind.result == "accepted" else f"answered ({bind.result})"
    text = f"RPCSS {answer} the bind to {', '.join(bind.interfaces[:1])}"
    if alive is not None:
        text += f"; {alive.interface}::{alive.method} answered in {alive.latency_ms:g} ms"
    return text


def _who(attempt: Attempt) -> str:
    if attempt.identities:
        identity = attempt.identities[-1]
        return f" for {identity.principal}" + (f" from {identity.workstation}" if identity.workstation else "")
    return ""


def _auth_detail(attempt: Attempt, bind: BindSeen | None) -> str:
    mechanism = bind.auth_type if bind else (attempt.mechanisms[0] if attempt.mechanisms else "?")
    level = bind.auth_level if bind else "?"
    who = _who(attempt).strip()
    if not who and attempt.kerberos_services:
        who = f"Kerberos ticket for {attempt.kerberos_services[0]} (the user is inside the encrypted authenticator)"
    return f"{mechanism} at level {level}; {who or 'no user name visible'}"


def _activation(call: CallSeen, stages: _Stages) -> bool:
    what = f"{call.method}{' of ' + call.detail.removeprefix('class ') if call.detail else ''}"
    if call.outcome == "no reply":
        stages.fail("activation", **_unanswered(what, call.reply_unfinished))
        return False
    if call.outcome == "fault":
        stages.fail(
            "activation", f"{what}: RPC fault 0x{call.fault or 0:08x}", carrier=FAULT, code=call.fault or 0, layer="rpc"
        )
        return False
    if call.status:
        stages.fail("activation", f"{what} returned 0x{call.status:08x}", carrier=REPLY, code=call.status, layer="dcom")
        return False
    ports = f"; the reply names TCP {', '.join(map(str, call.ports[:4]))}" if call.ports else ""
    sealed = " (stub sealed: judged on the PDU type)" if call.sealed else ""
    stages.add(
        "activation", OK, f"{what} answered in {call.latency_ms:g} ms{ports}{sealed}", elapsed_ms=call.latency_ms
    )
    return True


def _dynamic(attempt: Attempt, stages: _Stages, dynamic: list[ConnectionSeen]) -> None:
    ports = sorted({c.port for c in dynamic})
    streams = {c.stream for c in dynamic}
    what = "TCP " + "/".join(map(str, ports))
    failure = _connection_failure(dynamic, what)
    if failure:
        reason, detail = failure
        stages.fail("dynamic_port", detail, reason=reason)
        return
    stages.add(
        "dynamic_port",
        OK,
        _connected(dynamic, what),
        elapsed_ms=next(c.handshake_ms for c in dynamic if c.answered) or 0.0,
    )
    dynamic_binds = [b for b in attempt.binds if b.stream in streams]
    first = dynamic_binds[0] if dynamic_binds else None
    if first is not None and not _bind_answered(first, stages, "namespace_login", dynamic):
        return
    if not is_wmi(attempt):
        names = sorted({n for b in dynamic_binds for n in b.interfaces})
        for stage in ("namespace_login", "query"):
            stages.add(stage, SKIPPED, f"not a WMI conversation (interfaces bound: {', '.join(names[:5]) or 'none'})")
        return
    _login([c for c in attempt.calls if c.stream in streams], stages)


def _login(calls: list[CallSeen], stages: _Stages) -> None:
    """The namespace login on the dynamic port, then the query (`calls`: every call on the dynamic ports)."""
    logins = [c for c in calls if c.method in LOGIN_METHODS]
    if not logins:
        return
    first = logins[0]
    namespace = f" to {first.detail.removeprefix('namespace ')}" if first.detail else ""
    if first.outcome == "fault":
        stages.fail(
            "namespace_login",
            f"{first.method}{namespace}: RPC fault 0x{first.fault or 0:08x}",
            carrier=FAULT,
            code=first.fault or 0,
            layer="rpc",
        )
        return
    if first.status:
        stages.fail(
            "namespace_login",
            f"{first.method}{namespace} returned 0x{first.status:08x}",
            carrier=REPLY,
            code=first.status,
        )
        return
    if first.outcome == "no reply":
        stages.fail("namespace_login", **_unanswered(f"{first.method}{namespace}", first.reply_unfinished))
        return
    sealed = " (stub sealed: judged on the PDU type)" if first.sealed else ""
    stages.add(
        "namespace_login",
        OK,
        f"{first.method}{namespace} answered in {first.latency_ms:g} ms{sealed}",
        elapsed_ms=first.latency_ms,
    )
    _query(
        [
            c
            for c in calls
            if c.ts > first.ts
            and c.interface in ("IWbemServices", "IEnumWbemClassObject", "IWbemWCOSmartEnum", "IWbemCallResult")
        ],
        stages,
        [c for c in calls if c.ts > first.ts and c.sealed],
    )


# The enumerator's calls (rows fetched after the query) are the probe's fetch stage.
FETCH_INTERFACES = ("IEnumWbemClassObject", "IWbemWCOSmartEnum")


def _query(calls: list[CallSeen], stages: _Stages, retries: list[CallSeen]) -> None:
    """ExecQuery (stage query) and the rows fetched after it (stage fetch), as the probe walks them. A query
    refused with 0x80041003 and then accepted when the client retried at packet privacy shows that the
    namespace requires encryption, as the probe's own retry does."""
    if not calls:
        return
    queries = [c for c in calls if c.interface not in FETCH_INTERFACES]
    fetches = [c for c in calls if c.interface in FETCH_INTERFACES]
    denied = next((c for c in queries if c.status == WBEM_E_ACCESS_DENIED), None)
    if denied is not None:  # the retry runs on a sealed connection of its own: matched by its opnum
        retried = [c for c in retries if c.ts > denied.ts and c.auth_level == "privacy" and c.opnum == denied.opnum]
        if denied.auth_level != "privacy" and retried:
            stages.facts["privacy_retry"] = (
                "ok" if any(c.outcome == "response" and c.status in (None, 0) for c in retried) else "denied"
            )
    if queries and not _calls_answered("query", queries, stages):
        return
    if fetches:
        _calls_answered("fetch", fetches, stages)
    elif queries:
        stages.add(
            "fetch", SKIPPED, "no rows fetched through an enumerator (a method call, or results returned with the call)"
        )


def _calls_answered(stage: str, calls: list[CallSeen], stages: _Stages) -> bool:
    for call in calls:
        name = f"{call.interface}::{call.method}"
        if call.outcome == "fault":
            stages.fail(
                stage, f"{name}: RPC fault 0x{call.fault or 0:08x}", carrier=FAULT, code=call.fault or 0, layer="rpc"
            )
            return False
        if call.status == WBEM_S_TIMEDOUT and call.method == "Next":
            stages.fail(
                stage,
                f"{name}: no row in time (WBEM_S_TIMEDOUT): the provider is slow or hung",
                carrier=REPLY,
                code=call.status,
                layer="wmi",
            )
            return False
        if call.status not in (None, 0, WBEM_S_FALSE):
            stages.fail(stage, f"{name} returned 0x{call.status:08x}", carrier=REPLY, code=call.status, layer="wmi")
            return False
    answered = [c for c in calls if c.outcome == "response"]
    if not answered:
        first = calls[0]
        stages.fail(stage, **_unanswered(f"{first.interface}::{first.method}", first.reply_unfinished))
        return False
    methods = ", ".join(dict.fromkeys(f"{c.interface}::{c.method}" for c in answered))
    sealed = " (stubs sealed: judged on the PDU types)" if all(c.sealed for c in answered) else ""
    stages.add(
        stage,
        OK,
        f"{len(answered)} call{'s' if len(answered) != 1 else ''} answered: {methods}{sealed}",
        elapsed_ms=sum(c.latency_ms or 0 for c in answered),
    )
    return True


# --- WS-Man -----------------------------------------------------------------------------------------------
def _wsman(attempt: Attempt, stages: _Stages) -> None:
    ports = sorted({c.port for c in attempt.connections})
    what = "TCP " + "/".join(map(str, ports))
    failure = _connection_failure(attempt.connections, what)
    if failure:
        reason, detail = failure
        stages.fail("tcp", detail, reason=reason)
        return
    tls = attempt.tls or any(c.protocol == "tls" for c in attempt.connections)
    refused = _certificate_refused(attempt) if tls else None
    if refused is not None:  # as the probe says it: the client does not trust the listener's certificate
        stages.fail(
            "tcp",
            f"the client refused the listener's certificate ({refused.detail} alert from the client)",
            reason="certificate",
            layer="network",
        )
        return
    stages.add(
        "tcp",
        OK,
        _connected(attempt.connections, what) + (" (HTTPS)" if tls else " (HTTP)"),
        elapsed_ms=next((c.handshake_ms for c in attempt.connections if c.answered), 0.0) or 0.0,
    )
    if tls:
        _tls(attempt, stages)
        return
    exchanges = attempt.http
    identify = [h for h in exchanges if h.identify]
    if identify:
        first = identify[0]
        if first.status in (200, 401):
            stages.add("identify", OK, f"HTTP {first.status} to Identify", elapsed_ms=first.latency_ms)
        elif first.status is None:
            stages.fail("identify", **_unanswered("Identify", first.reply_unfinished))
            return
        else:
            stages.fail(
                "identify",
                f"HTTP {first.status} to Identify: not a WinRM listener, or it refuses it",
                carrier=HTTP,
                code=first.status,
                layer="http",
            )
            return
    else:
        stages.add("identify", SKIPPED, "the client sent no Identify (Windows clients authenticate first)")
    _wsman_auth([h for h in exchanges if not h.identify], stages)


def _wsman_auth(exchanges: list[HttpSeen], stages: _Stages) -> None:
    if not exchanges:
        return
    schemes = list(dict.fromkeys(h.scheme for h in exchanges if h.scheme))
    accepted = [h for h in exchanges if h.status is not None and h.status != 401 and (h.scheme or h.encrypted)]
    final_tokens = [h for h in exchanges if h.client_token.startswith(FINAL_TOKENS)]
    if not accepted:
        refused = [h for h in exchanges if h.status == 401]
        if not refused:
            last = exchanges[-1]
            stages.fail("authentication", **_unanswered(last.request or "the request", last.reply_unfinished))
            return
        offered = ", ".join(dict.fromkeys(s for h in refused for s in h.offered)) or "none named"
        after = f" after the client's {final_tokens[-1].client_token}" if final_tokens else ""
        # The server's last token on the final 401 completes the exchange: the credentials were good and the
        # account was then refused (RootSDDL, remote UAC), as the probe reads it.
        completed = [h for h in refused if h.server_token and h.client_token.startswith(FINAL_TOKENS)]
        if completed:
            stages.facts["credentials_proved"] = True
        what = (
            "the server completed the exchange, then refused the account"
            if completed
            else "credentials or authentication scheme refused"
        )
        stages.fail(
            "authentication",
            f"HTTP 401{after}: {what} (schemes offered: {offered}; tried: {', '.join(schemes) or 'none'})",
            carrier=HTTP,
            code=401,
        )
        return
    stages.facts["credentials_proved"] = True
    stages.add(
        "authentication",
        OK,
        f"{', '.join(schemes) or 'session'} exchange completed (HTTP {accepted[0].status} to an authenticated request)",
    )
    operations = [h for h in accepted if h.request and (h.request_bytes or h.encrypted)]
    ok = [h for h in operations if h.status is not None and 200 <= h.status < 300]
    faults = [h for h in operations if h.status == 500]
    if faults and not ok:
        stages.fail("enumerate", **_fault(faults[0]))
        return
    unanswered = [h for h in exchanges if h.status is None and h.request and (h.request_bytes or h.encrypted)]
    if unanswered and not operations:
        stages.fail("enumerate", **_unanswered(unanswered[0].request, unanswered[0].reply_unfinished))
        return
    if not operations:
        return
    encrypted = " (bodies encrypted: judged on HTTP status)" if all(h.encrypted for h in ok) else ""
    extra = f"; {len(faults)} HTTP 500 fault{'s' if len(faults) != 1 else ''} among them" if faults else ""
    stages.add(
        "enumerate",
        OK,
        f"{len(ok)} WS-Man operation{'s' if len(ok) != 1 else ''} answered 2xx{extra}{encrypted}",
        elapsed_ms=sum(h.latency_ms or 0 for h in ok),
    )


def _unanswered(what: str, trickled: bool) -> dict:
    """A request the capture shows no whole reply to: the server never answered, or it was still sending when the
    client gave up (a reply trickled out a few bytes at a time, past the client's time limit)."""
    if trickled:
        return {
            "detail": f"{what}: the server was still sending its reply when the client gave up",
            "reason": "deadline",
        }
    return {"detail": f"{what}: no reply in the capture", "reason": "no_answer"}


def _fault(response: HttpSeen) -> dict:
    """The enumerate failure an HTTP 500 gives: its SOAP fault when readable, a fault the encryption hides, or a
    500 that is no WS-Man fault at all (a proxy's or a web server's page)."""
    content_type = response.content_type.lower()
    if response.fault_xml:
        return _soap_fault(response.fault_xml)
    if content_type.startswith("multipart/encrypted"):  # the rules' fault reason, no code to show
        return {
            "detail": "HTTP 500 (a WS-Man fault; the body is encrypted, so its code is not visible)",
            "carrier": SOAP_FAULT,
            "reason": "wsman_fault",
            "layer": "wsman",
        }
    if "soap" in content_type:
        return {"detail": "HTTP 500 with an unreadable SOAP fault", "carrier": HTTP, "code": 500, "layer": "wsman"}
    return {
        "detail": f"HTTP 500 without a WS-Management fault ({response.content_type or 'no content type'})",
        "carrier": HTTP,
        "code": 500,
        "layer": "http",
    }


def _soap_fault(xml_text: str) -> dict:
    """The enumerate failure a readable SOAP fault gives, carried as the probe carries it."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException

    try:
        fault = wsman.decode_fault(xml_text)
    except (ParseError, DefusedXmlException, ValueError):
        return {"detail": "HTTP 500 with an unreadable SOAP fault", "carrier": HTTP, "code": 500, "layer": "wsman"}
    layer = "wmi" if fault.code and (fault.code >> 16) == 0x8004 else "wsman"
    return {
        "detail": f"WS-Man fault {fault.subcode or ''}: {fault.message}".strip(),
        "carrier": SOAP_FAULT,
        "code": 5 if fault.subcode == "AccessDenied" and fault.code is None else fault.code,
        "layer": layer,
    }


# Alerts a client sends when it does not accept the server's certificate (RFC 8446 6.2).
CERTIFICATE_ALERTS = frozenset(
    {
        "bad_certificate",
        "unsupported_certificate",
        "certificate_revoked",
        "certificate_expired",
        "certificate_unknown",
        "unknown_ca",
    }
)


def _certificate_refused(attempt: Attempt) -> TlsEvent | None:
    """The client's alert refusing the server's certificate, sent before the client sent any application data
    (TLS 1.3 sends the server's certificate encrypted, as application data records: only the client's own
    data shows that the handshake completed)."""
    for event in attempt.tls:
        if event.from_client and event.kind == "application_data":
            return None
        if event.from_client and event.kind == "alert" and event.detail.split(" ")[-1] in CERTIFICATE_ALERTS:
            return event
    return None


def _tls(attempt: Attempt, stages: _Stages) -> None:
    alerts = [e for e in attempt.tls if e.kind == "alert" and e.detail != "encrypted alert"]
    data = any(e.kind == "application_data" and e.from_client for e in attempt.tls)
    if alerts and not data:
        alert = alerts[0]
        side = "client" if alert.from_client else "server"
        stages.fail(
            "identify", f"TLS handshake failed: {alert.detail} alert from the {side}", reason="tls", layer="network"
        )
        return
    if not data:
        stages.fail("identify", "the TLS handshake did not complete in the capture", reason="tls", layer="network")
        return
    for stage in ("identify", "authentication", "enumerate"):
        stages.add(stage, SKIPPED, "inside TLS (HTTPS): not visible in a capture")
