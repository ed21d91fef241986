"""The two stages every transport starts with: name resolution and a TCP connection, each bounded."""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from wmidoctor.remote.walk import StageFailure

T = TypeVar("T")

# Winsock numbers a Windows client would show for the same socket outcome.
WSAECONNREFUSED = 10061
WSAETIMEDOUT = 10060
WSAEHOSTUNREACH = 10065
WSAENETUNREACH = 10051
WSAHOST_NOT_FOUND = 11001


@dataclass
class Resolution:
    host: str
    address: str
    names: list[str] = field(default_factory=list)  # reverse lookup, when asked for
    detail: str = ""


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _bounded(fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run a blocking resolver call with a time limit (the resolver itself has none)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True, name=f"resolve {what}")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StageFailure(
            f"{what}: no answer from the resolver within {timeout:g} s",
            reason="dns_timeout",
            code=WSAETIMEDOUT,
            layer="network",
        )
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def resolve(host: str, timeout: float, reverse: bool) -> Resolution:
    """Forward lookup (unless HOST is an address) and, when asked, the reverse lookup Kerberos relies on."""
    if is_ip(host):
        address, detail = host, "address given, no forward lookup"
    else:
        try:
            infos = _bounded(
                lambda: socket.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout, f"forward lookup of {host}"
            )
        except socket.gaierror as exc:
            raise StageFailure(
                f"{host} does not resolve: {exc.strerror}",
                reason="dns_not_found",
                code=WSAHOST_NOT_FOUND,
                layer="network",
            ) from exc
        address = str(infos[0][4][0])
        detail = f"{host} -> {address}"
    resolution = Resolution(host=host, address=address, detail=detail)
    if reverse:
        try:
            name, aliases, _ = _bounded(lambda: socket.gethostbyaddr(address), timeout, f"reverse lookup of {address}")
            resolution.names = [name, *aliases]
            resolution.detail += f"; reverse {address} -> {name}"
            short_names = {n.lower().split(".")[0] for n in resolution.names}
            if not is_ip(host) and host.lower().split(".")[0] not in short_names:
                resolution.detail += f" (does not match {host}: Kerberos will ask for a ticket to the wrong name)"
        except (socket.herror, socket.gaierror):
            resolution.detail += f"; no reverse record for {address} (Kerberos SPN checks may fail)"
    return resolution


def connect(address: str, port: int, timeout: float, windows_code: int | None) -> socket.socket:
    """Open TCP to address:port, telling refused (RST) from silently dropped (no answer) from unreachable.

    `windows_code` is the status a Windows client reports for any of these (0x800706BA for RPC), kept
    as the stage's code; the reason tag and detail say which of the three it was.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except ConnectionRefusedError as exc:
        sock.close()
        raise StageFailure(
            f"TCP {port} refused (RST): the host is up but nothing listens there, or a firewall rejects",
            reason="refused",
            code=windows_code,
            layer="network",
        ) from exc
    except TimeoutError as exc:
        sock.close()
        raise StageFailure(
            f"TCP {port}: no answer within {timeout:g} s (silently dropped by a firewall, or the host is down)",
            reason="no_answer",
            code=windows_code,
            layer="network",
        ) from exc
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL):
            raise StageFailure(
                f"TCP {port}: {exc.strerror} (no route to the host)",
                reason="unreachable",
                code=windows_code,
                layer="network",
            ) from exc
        raise
    return sock
