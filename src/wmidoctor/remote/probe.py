"""Probe one host over the chosen transports: resolve once, walk each transport, attach verdicts."""

from __future__ import annotations

import time
from dataclasses import dataclass

from wmidoctor.errors import InputError
from wmidoctor.remote import network
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import FAILED, OK, ProbeResult
from wmidoctor.remote.verdicts import verdict_for
from wmidoctor.remote.walk import BUDGET_IN_STAGE_TIMEOUTS, StageFailure, Walk

TRANSPORTS = ("dcom", "wsman")


@dataclass
class Target:
    host: str
    port: int | None = None  # overrides the first port of the transport (135, or 5985 for WS-Man)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host


@dataclass
class ProbeOptions:
    transports: tuple[str, ...] = TRANSPORTS
    namespace: str = "root\\cimv2"
    query: str = "SELECT * FROM Win32_OperatingSystem"
    privacy: bool = False
    timeout: float = 10.0  # per stage; a transport's walk is bounded at BUDGET_IN_STAGE_TIMEOUTS times this
    kdc: str | None = None  # HOST or HOST:PORT of the KDC (default: the realm's name, as impacket does)
    wsman_port: int | None = None  # default 5985, then 5986 with TLS
    https: bool = False  # WS-Man over TLS only

    @property
    def walk_limit(self) -> float:
        return self.timeout * BUDGET_IN_STAGE_TIMEOUTS

    @property
    def host_limit(self) -> float:
        """Every transport is walked in turn, each within its own limit."""
        return self.walk_limit * len(self.transports)


def _check_host_name(host: str) -> None:
    """An IP address, or a DNS name whose labels are 1-63 characters (253 in all) once IDNA-encoded; anything
    else is refused here, before the DNS stage (the resolver would fail with an encoding error)."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        encoded = host.rstrip(".").encode("idna")
    except UnicodeError:
        encoded = b""
    labels = encoded.split(b".")
    if not encoded or len(encoded) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise InputError(f"{host[:80]!r}: not a host name (each dot-separated label is 1 to 63 characters, 253 in all)")


def parse_target(text: str) -> Target:
    """HOST, HOST:PORT, [IPv6] or [IPv6]:PORT."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise InputError(f"{text!r}: no host name")
    _check_host_name(host)
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InputError(f"{text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Target(host, port)


def probe_host(target: Target, creds: Credentials, options: ProbeOptions) -> list[ProbeResult]:
    """Walk each transport in turn; every walk ends within options.walk_limit of its start (the first
    one's start counts name resolution), so the host ends within options.host_limit."""
    start = time.perf_counter()
    started = time.monotonic()
    try:
        resolution = network.resolve(target.host, options.timeout, reverse=creds.kerberos)
        dns_failure = None
    except StageFailure as failure:
        resolution, dns_failure = None, failure
    dns_ms = (time.perf_counter() - start) * 1000

    results = []
    for index, transport in enumerate(options.transports):
        walk, run = _transport(transport, target, options, started if index == 0 else time.monotonic())
        if resolution is None:
            assert dns_failure is not None
            walk.record("dns", FAILED, dns_ms, failure=dns_failure)
            result = walk.finish()
        else:
            walk.record("dns", OK, dns_ms, resolution.detail)
            result = run(target.host, resolution.address, creds, walk)
        result.target = target.label
        local = creds.is_local_account(_computer_names(result))
        result.verdict = verdict_for(result, local)
        results.append(result)
    return results


def _computer_names(result: ProbeResult) -> set[str]:
    """The target's own names as it reported them (the endpoint mapper's bindings)."""
    for stage in result.stages:
        if stage.name == "endpoint_mapper" and "calls itself" in stage.detail:
            names = stage.detail.split("calls itself", 1)[1].split(",")
            return {n.strip() for n in names if n.strip() and not network.is_ip(n.strip())}
    return set()


def _transport(name: str, target: Target, options: ProbeOptions, started: float):
    if name == "dcom":
        from wmidoctor.remote import dcom

        dcom_options = dcom.DcomOptions(
            namespace=options.namespace,
            query=options.query,
            privacy=options.privacy,
            timeout=options.timeout,
            port=target.port or 135,
            kdc_host=options.kdc,
        )
        walk: Walk = dcom.new_walk(target.label, dcom_options, started)
        return walk, lambda host, address, creds, w: dcom.probe_dcom(host, address, creds, dcom_options, w)
    from wmidoctor.remote import wsman

    port = options.wsman_port or (target.port if options.transports == ("wsman",) else None)
    wsman_options = wsman.WsmanOptions(
        namespace=options.namespace, query=options.query, timeout=options.timeout, port=port, https=options.https
    )
    walk = wsman.new_walk(target.label, wsman_options, started)
    return walk, lambda host, address, creds, w: wsman.probe_wsman(host, address, creds, wsman_options, w)
