"""An attempt seen in a capture, as the same stage outcomes `probe` records (remote.model.StageResult in
the stage plans of remote.dcom and remote.wsman), so that remote.verdicts judges both alike.

Where the capture cannot show a stage (a sealed stub, a DNS lookup made before the capture started)
the stage says so in its detail; a stage the conversation never got to is "not reached".
"""

from __future__ import annotations

from wmidoctor.pcap.attempts import Attempt, BindSeen, CallSeen, ConnectionSeen, HttpSeen
from wmidoctor.remote import dcom, wsman
from wmidoctor.remote.dcom import (
    HRESULT_TIMEOUT,
    RPC_S_CALL_FAILED,
    RPC_S_SERVER_UNAVAILABLE,
    WBEM_E_ACCESS_DENIED,
    WBEM_S_FALSE,
    WBEM_S_TIMEDOUT,
)
from wmidoctor.remote.verdicts import E_ACCESSDENIED, hresult
from wmidoctor.remote.model import FAILED, NOT_REACHED, OK, SKIPPED, ProbeResult, StageResult
from wmidoctor.remote.wsman import ERROR_WSMAN_UNREACHABLE

RPC_ACCESS_DENIED = 5  # the fault status rpc_s_access_denied

ENDPOINT_INTERFACES = ("EPM", "IObjectExporter", "IRemoteSCMActivator", "IActivation")
ACTIVATION_METHODS = ("RemoteCreateInstance", "RemoteGetClassObject", "RemoteActivation")
LOGIN_METHODS = ("NTLMLogin", "WBEMLogin")


class _Stages:
    """Stages in plan order; everything after the first failure is not reached."""

    def __init__(self, plan: list[tuple[str, str]]):
        self.plan = plan
        self.layers = dict(plan)
        self.stages: list[StageResult] = []
        self.stopped = False

    def add(self, name: str, status: str, detail: str = "", *, elapsed_ms: float | None = None,
            code: int | None = None, reason: str = "", layer: str = "") -> None:
        if self.stopped:
            return
        self.stages.append(StageResult(name, status, round(elapsed_ms or 0.0, 2), code, detail,
                                       layer or self.layers[name], reason))
        self.stopped = status == FAILED

    def finish(self) -> list[StageResult]:
        done = {s.name for s in self.stages}
        order = {name: i for i, (name, _) in enumerate(self.plan)}
        stages = self.stages + [StageResult(n, NOT_REACHED, layer=layer) for n, layer in self.plan if n not in done]
        return sorted(stages, key=lambda s: order[s.name])


def to_result(attempt: Attempt, rpc_ports: frozenset[int] = frozenset({135})) -> ProbeResult:
    if attempt.transport == "dcom":
        stages = _Stages(dcom.PLAN)
        _dns(attempt, stages)
        _dcom(attempt, stages, rpc_ports)
    else:
        stages = _Stages(wsman.PLAN)
        _dns(attempt, stages)
        _wsman(attempt, stages)
    return ProbeResult(target=attempt.target, transport=attempt.transport, stages=stages.finish())


def _dns(attempt: Attempt, stages: _Stages) -> None:
    if attempt.dns:
        answer = attempt.dns[0]
        stages.add("dns", OK, f"{answer.name} -> {', '.join(answer.addresses[:3])} (answered by {answer.server})")
    else:
        stages.add("dns", SKIPPED, f"no DNS answer for {attempt.target} in the capture (a cached or literal address)")


# --- DCOM -------------------------------------------------------------------------------------------------
def is_wmi(attempt: Attempt) -> bool:
    from wmidoctor.artifacts.pcap.interfaces import WMI_INTERFACES

    return (any(name in WMI_INTERFACES for bind in attempt.binds for name in bind.interfaces)
            or any("WbemLevel1Login" in call.detail for call in attempt.calls))


def _connection_failure(connections: list[ConnectionSeen], what: str, code: int) -> tuple[str, str, int] | None:
    """(reason, detail, code) when no connection to this port was answered; None when one was. The span
    of the attempts is in the detail; as elapsed time it would read as a timing of the target."""
    if not connections or any(c.answered for c in connections):
        return None
    syns = sum(c.syns for c in connections)
    if any(c.refused for c in connections):
        return ("refused", f"{what} refused (RST from the target): nothing listens there, or a firewall rejects",
                code)
    span = max(c.end_ts for c in connections) - min(c.ts for c in connections)
    return ("no_answer", f"{what}: {syns} SYN{'s' if syns != 1 else ''} over {span:.1f} s, never answered "
            "(dropped by a firewall, or the host is down)", code)


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
    endpoint = [c for c in attempt.connections if c.first_interface in ENDPOINT_INTERFACES
                or (not c.first_interface and c.port in rpc_ports and c.port not in learned)]
    streams = {c.stream for c in endpoint}
    ports = sorted({c.port for c in endpoint})
    port_text = "TCP " + "/".join(map(str, ports)) if ports else "TCP 135"
    if not endpoint:
        stages.add("tcp_135", SKIPPED, "no connection to the endpoint mapper in the capture (it started later)")
    else:
        failure = _connection_failure(endpoint, port_text, RPC_S_SERVER_UNAVAILABLE)
        if failure:
            reason, detail, code = failure
            stages.add("tcp_135", FAILED, detail, code=code, reason=reason)
            return
        stages.add("tcp_135", OK, _connected(endpoint, port_text),
                   elapsed_ms=next(c.handshake_ms for c in endpoint if c.answered) or 0.0)

    binds = [b for b in attempt.binds if b.stream in streams and b.kind == "bind"]
    calls = [c for c in attempt.calls if c.stream in streams]
    if endpoint:
        first = binds[0] if binds else None
        if first is None:
            stages.add("endpoint_mapper", FAILED, "the connection opened but no RPC bind was answered in the "
                       "capture", reason="no_answer", code=HRESULT_TIMEOUT)
            return
        # RPCSS answered if the first bind got any reply; an authenticated bind's refusal is judged below.
        if (first.result == "no answer" or not first.auth_type) and not _bind_answered(
                first, stages, "endpoint_mapper", endpoint):
            return
        stages.add("endpoint_mapper", OK, _rpcss_detail(first, calls), elapsed_ms=first.latency_ms)

    dynamic = [c for c in attempt.connections if c.stream not in streams]
    if _authentication_and_activation(attempt, stages, binds, activations, endpoint) and dynamic:
        _dynamic(attempt, stages, dynamic)


def _authentication_and_activation(attempt: Attempt, stages: _Stages, binds: list[BindSeen],
                                   activations: list[CallSeen], endpoint: list[ConnectionSeen]) -> bool:
    """Judged together, as the server judges them: a fault rpc_s_access_denied on the activation call means
    the credentials were refused; a status in its reply means they were accepted and activation refused.
    True when the walk goes on to the dynamic port."""
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
    if activation is not None and activation.outcome == "fault" and activation.fault == RPC_ACCESS_DENIED:
        stages.add("authentication", FAILED, "the server refused the credentials (RPC fault rpc_s_access_denied "
                   "on the first call after the authentication exchange)" + _who(attempt), code=E_ACCESSDENIED,
                   reason="logon_failure", layer="authentication")
        return False
    stages.add("authentication", OK, _auth_detail(attempt, bind), elapsed_ms=bind.latency_ms if bind else None)
    return activation is None or _activation(activation, stages)


def _bind_answered(bind: BindSeen, stages: _Stages, stage: str, connections: list[ConnectionSeen]) -> bool:
    """Record the stage as failed when the bind got no bind_ack; True when it did."""
    from wmidoctor.artifacts.pcap.dcerpc import BIND_NAK_REASONS

    if bind.result == "bind_nak":
        text = BIND_NAK_REASONS.get(bind.nak_reason or 0, f"reason {bind.nak_reason}")
        reason = "bind_nak_auth" if bind.nak_reason in (8, 9) else "bind_nak"
        if bind.kerberos_error is not None:
            text += f"; Kerberos error {bind.kerberos_error}"
        stages.add(stage, FAILED, f"the server refused the bind to {', '.join(bind.interfaces[:1])} "
                   f"(bind_nak reason {bind.nak_reason}: {text})", reason=reason, layer="rpc")
        return False
    if bind.result.startswith("rejected"):
        stages.add(stage, FAILED, f"the server rejected the interface {', '.join(bind.interfaces[:1])}: "
                   f"{bind.result}", reason="bind_rejected", layer="rpc")
        return False
    if bind.result == "no answer":
        closed = [c for c in connections if c.port == bind.port and ("reset by the server" in c.ended_by
                                                                     or "closed by the server" in c.ended_by)]
        if closed:
            stages.add(stage, FAILED, "the server closed the connection after the bind", reason="closed",
                       code=RPC_S_CALL_FAILED)
        else:
            stages.add(stage, FAILED, f"no answer to the bind ({', '.join(bind.interfaces[:1])}): something "
                       "other than RPC listens, or a middlebox holds the traffic", reason="no_answer",
                       code=HRESULT_TIMEOUT)
        return False
    return True


def _kerberos_refused(bind: BindSeen, stages: _Stages) -> None:
    """The target answered the bind's Kerberos AP-REQ with a KRB-ERROR: the probe's Kerberos reasons."""
    code = bind.kerberos_error or 0
    reason, status, text = dcom.KERBEROS_REASONS.get(code, ("kerberos", None, "the target refused the Kerberos ticket"))
    stages.add("authentication", FAILED, f"Kerberos: {text} (KRB-ERROR {code} in the answer to the bind)",
               code=status, reason=reason, layer="authentication")


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
        stages.add("activation", FAILED, f"{what}: no reply in the capture", reason="no_answer",
                   code=HRESULT_TIMEOUT)
        return False
    if call.outcome == "fault":
        stages.add("activation", FAILED, f"{what}: RPC fault 0x{call.fault or 0:08x}", reason="fault",
                   code=hresult(call.fault or 0), layer="rpc")
        return False
    if call.status:
        reason = "activation_denied" if call.status == E_ACCESSDENIED else "activation_failed"
        stages.add("activation", FAILED, f"{what} returned 0x{call.status:08x}", code=call.status, reason=reason,
                   layer="dcom")
        return False
    ports = f"; the reply names TCP {', '.join(map(str, call.ports[:4]))}" if call.ports else ""
    sealed = " (stub sealed: judged on the PDU type)" if call.sealed else ""
    stages.add("activation", OK, f"{what} answered in {call.latency_ms:g} ms{ports}{sealed}",
               elapsed_ms=call.latency_ms)
    return True


def _dynamic(attempt: Attempt, stages: _Stages, dynamic: list[ConnectionSeen]) -> None:
    ports = sorted({c.port for c in dynamic})
    streams = {c.stream for c in dynamic}
    what = "TCP " + "/".join(map(str, ports))
    failure = _connection_failure(dynamic, what, RPC_S_SERVER_UNAVAILABLE)
    if failure:
        reason, detail, code = failure
        stages.add("dynamic_port", FAILED, detail, code=code, reason=reason)
        return
    stages.add("dynamic_port", OK, _connected(dynamic, what),
               elapsed_ms=next(c.handshake_ms for c in dynamic if c.answered) or 0.0)
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
    logins = [c for c in calls if c.method in LOGIN_METHODS]
    if not logins:
        return
    accepted = [c for c in logins if c.outcome == "response" and not c.status]
    first = logins[0]
    namespace = f" to {first.detail.removeprefix('namespace ')}" if first.detail else ""
    if first.outcome == "fault" or (first.status and first.status != 0):
        if first.outcome == "fault":
            stages.add("namespace_login", FAILED, f"{first.method}{namespace}: RPC fault 0x{first.fault or 0:08x}",
                       code=hresult(first.fault or 0), reason="fault", layer="rpc")
        elif first.status == WBEM_E_ACCESS_DENIED:
            privacy_ok = [c for c in accepted if c.auth_level == "privacy" and c.ts > first.ts]
            if privacy_ok and first.auth_level != "privacy":
                stages.add("namespace_login", FAILED, f"{first.method}{namespace} denied (0x80041003) at packet "
                           f"{first.auth_level} but accepted at packet privacy: the namespace requires an "
                           "encrypted connection", code=WBEM_E_ACCESS_DENIED, reason="encryption_required")
            else:
                stages.add("namespace_login", FAILED, f"{first.method}{namespace} denied (0x80041003)",
                           code=WBEM_E_ACCESS_DENIED, reason="access_denied")
        else:
            stages.add("namespace_login", FAILED, f"{first.method}{namespace} returned 0x{first.status:08x}",
                       code=first.status, reason="status")
        return
    if first.outcome == "no reply":
        stages.add("namespace_login", FAILED, f"{first.method}{namespace}: no reply in the capture",
                   code=HRESULT_TIMEOUT, reason="no_answer")
        return
    sealed = " (stub sealed: judged on the PDU type)" if first.sealed else ""
    stages.add("namespace_login", OK, f"{first.method}{namespace} answered in {first.latency_ms:g} ms{sealed}",
               elapsed_ms=first.latency_ms)
    _query([c for c in calls if c.ts > first.ts and c.interface in ("IWbemServices", "IEnumWbemClassObject",
                                                                     "IWbemWCOSmartEnum", "IWbemCallResult")],
           stages)


def _query(calls: list[CallSeen], stages: _Stages) -> None:
    if not calls:
        return
    for call in calls:
        name = f"{call.interface}::{call.method}"
        if call.outcome == "fault":
            stages.add("query", FAILED, f"{name}: RPC fault 0x{call.fault or 0:08x}", code=hresult(call.fault or 0),
                       reason="fault", layer="rpc")
            return
        if call.status == WBEM_S_TIMEDOUT and call.method == "Next":
            stages.add("query", FAILED, f"{name}: no row in time (WBEM_S_TIMEDOUT): the provider is slow or hung",
                       code=call.status, reason="query_timeout", layer="wmi")
            return
        if call.status not in (None, 0, WBEM_S_FALSE):
            stages.add("query", FAILED, f"{name} returned 0x{call.status:08x}", code=call.status, reason="status")
            return
    answered = [c for c in calls if c.outcome == "response"]
    if not answered:
        stages.add("query", FAILED, f"{calls[0].interface}::{calls[0].method}: no reply in the capture",
                   code=HRESULT_TIMEOUT, reason="no_answer")
        return
    methods = ", ".join(dict.fromkeys(f"{c.interface}::{c.method}" for c in answered))
    sealed = " (stubs sealed: judged on the PDU types)" if all(c.sealed for c in answered) else ""
    stages.add("query", OK, f"{len(answered)} call{'s' if len(answered) != 1 else ''} answered: {methods}{sealed}",
               elapsed_ms=sum(c.latency_ms or 0 for c in answered))


# --- WS-Man -----------------------------------------------------------------------------------------------
def _wsman(attempt: Attempt, stages: _Stages) -> None:
    ports = sorted({c.port for c in attempt.connections})
    what = "TCP " + "/".join(map(str, ports))
    failure = _connection_failure(attempt.connections, what, ERROR_WSMAN_UNREACHABLE)
    if failure:
        reason, detail, code = failure
        stages.add("tcp", FAILED, detail, code=code, reason=reason)
        return
    tls = attempt.tls or any(c.protocol == "tls" for c in attempt.connections)
    stages.add("tcp", OK, _connected(attempt.connections, what) + (" (HTTPS)" if tls else " (HTTP)"),
               elapsed_ms=next((c.handshake_ms for c in attempt.connections if c.answered), 0.0) or 0.0)
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
            stages.add("identify", FAILED, "no answer to Identify in the capture", reason="no_answer",
                       code=HRESULT_TIMEOUT)
            return
        else:
            stages.add("identify", FAILED, f"HTTP {first.status} to Identify: not a WinRM listener, or it refuses "
                       "it", reason="http", layer="http")
            return
    else:
        stages.add("identify", SKIPPED, "the client sent no Identify (Windows clients authenticate first)")
    _wsman_auth([h for h in exchanges if not h.identify], stages)


def _wsman_auth(exchanges: list[HttpSeen], stages: _Stages) -> None:
    if not exchanges:
        return
    schemes = list(dict.fromkeys(h.scheme for h in exchanges if h.scheme))
    accepted = [h for h in exchanges if h.status is not None and h.status != 401 and (h.scheme or h.encrypted)]
    final_tokens = [h for h in exchanges if h.client_token.startswith(("NTLM AUTHENTICATE", "Kerberos AP-REQ"))]
    if not accepted:
        refused = [h for h in exchanges if h.status == 401]
        if not refused:
            last = exchanges[-1]
            stages.add("authentication", FAILED, f"{last.request or 'the request'}: no answer in the capture",
                       reason="no_answer", code=HRESULT_TIMEOUT)
            return
        offered = ", ".join(dict.fromkeys(s for h in refused for s in h.offered)) or "none named"
        after = f" after the client's {final_tokens[-1].client_token}" if final_tokens else ""
        stages.add("authentication", FAILED, f"HTTP 401{after}: credentials or authentication scheme refused "
                   f"(schemes offered: {offered}; tried: {', '.join(schemes) or 'none'})",
                   code=E_ACCESSDENIED, reason="logon_failure")
        return
    stages.add("authentication", OK, f"{', '.join(schemes) or 'session'} exchange completed (HTTP "
               f"{accepted[0].status} to an authenticated request)")
    operations = [h for h in accepted if h.request and (h.request_bytes or h.encrypted)]
    ok = [h for h in operations if h.status is not None and 200 <= h.status < 300]
    faults = [h for h in operations if h.status == 500]
    if faults and not ok:
        fault = faults[0]
        if fault.fault_xml:
            stages.add("enumerate", FAILED, **_soap_fault(fault.fault_xml))
        else:
            stages.add("enumerate", FAILED, "HTTP 500 (a WS-Man fault; the body is encrypted, so its code is not "
                       "visible)", reason="fault", layer="wsman")
        return
    if not operations:
        return
    encrypted = " (bodies encrypted: judged on HTTP status)" if all(h.encrypted for h in ok) else ""
    extra = f"; {len(faults)} HTTP 500 fault{'s' if len(faults) != 1 else ''} among them" if faults else ""
    stages.add("enumerate", OK, f"{len(ok)} WS-Man operation{'s' if len(ok) != 1 else ''} answered 2xx{extra}"
               f"{encrypted}", elapsed_ms=sum(h.latency_ms or 0 for h in ok))


def _soap_fault(xml_text: str) -> dict:
    """The enumerate failure a readable SOAP fault gives, with the probe's reason rule."""
    import xml.etree.ElementTree as ET

    try:
        fault = wsman.decode_fault(xml_text)
    except ET.ParseError:
        return {"detail": "HTTP 500 with an unreadable SOAP fault", "reason": "fault", "layer": "wsman"}
    reason = "access_denied" if fault.subcode == "AccessDenied" or fault.code in (
        E_ACCESSDENIED, WBEM_E_ACCESS_DENIED) else "fault"
    layer = "wmi" if fault.code and (fault.code >> 16) == 0x8004 else "wsman"
    return {"detail": f"WS-Man fault {fault.subcode or ''}: {fault.message}".strip(), "reason": reason,
            "code": fault.code, "layer": layer}


def _tls(attempt: Attempt, stages: _Stages) -> None:
    alerts = [e for e in attempt.tls if e.kind == "alert" and e.detail != "encrypted alert"]
    data = any(e.kind == "application_data" for e in attempt.tls)
    if alerts and not data:
        alert = alerts[0]
        side = "client" if alert.from_client else "server"
        stages.add("identify", FAILED, f"TLS handshake failed: {alert.detail} alert from the {side}",
                   reason="tls", layer="network")
        return
    if not data:
        stages.add("identify", FAILED, "the TLS handshake did not complete in the capture", reason="tls",
                   layer="network")
        return
    for stage in ("identify", "authentication", "enumerate"):
        stages.add(stage, SKIPPED, "inside TLS (HTTPS): not visible in a capture")
