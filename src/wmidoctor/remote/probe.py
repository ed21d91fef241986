"""Probe one host over the chosen transports: resolve once, walk each transport, attach verdicts."""

from __future__ import annotations

import time
from dataclasses import dataclass

from wmidoctor.errors import InputError
from wmidoctor.remote import network
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import FAILED, OK, ProbeResult
from wmidoctor.remote.verdicts import verdict_for
from wmidoctor.remote.walk import StageFailure, Walk

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
    timeout: float = 10.0


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
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InputError(f"{text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Target(host, port)


def probe_host(target: Target, creds: Credentials, options: ProbeOptions) -> list[ProbeResult]:
    start = time.perf_counter()
    try:
        resolution = network.resolve(target.host, options.timeout, reverse=creds.kerberos)
        dns_failure = None
    except StageFailure as failure:
        resolution, dns_failure = None, failure
    dns_ms = (time.perf_counter() - start) * 1000

    results = []
    for transport in options.transports:
        walk, run = _transport(transport, target, options)
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


def _transport(name: str, target: Target, options: ProbeOptions):
    if name == "dcom":
        from wmidoctor.remote import dcom

        dcom_options = dcom.DcomOptions(namespace=options.namespace, query=options.query, privacy=options.privacy,
                                        timeout=options.timeout, port=target.port or 135)
        walk: Walk = dcom.new_walk(target.label, dcom_options)
        return walk, lambda host, address, creds, w: dcom.probe_dcom(host, address, creds, dcom_options, w)
    from wmidoctor.remote import wsman

    wsman_options = wsman.WsmanOptions(namespace=options.namespace, query=options.query, timeout=options.timeout,
                                       port=target.port if options.transports == ("wsman",) else None)
    walk = wsman.new_walk(target.label, wsman_options)
    return walk, lambda host, address, creds, w: wsman.probe_wsman(host, address, creds, wsman_options, w)
