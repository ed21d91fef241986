"""Sick-host mutations for the checks that read DCOM transport, RPC port and CIMOM settings, and the perf-counter
events: `diagnose_factories` folds `CONFIG_SICK` into `SICK` and runs `complete_config` at the end of `healthy()`."""

from __future__ import annotations

from collections.abc import Callable

from wmidoctor.evidence.model import Evidence, FirewallRule, Setting
from wmidoctor.knowledge import defaults as d

RPC = "registry:HKLM\\SOFTWARE\\Microsoft\\Rpc"
OLE = "registry:HKLM\\SOFTWARE\\Microsoft\\Ole"
CIMOM = "registry:HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM"
NETSH_PORTS = "bundle:commands/netsh-dynamicport-tcp.txt"
APPID = f"registry:HKLM\\SOFTWARE\\Classes\\AppID\\{d.WMI_APPID}"


def complete_config(ev: Evidence) -> None:
    """A healthy host as Windows ships it: DCOM over TCP only; the WMI-In rules bound to the winmgmt service."""
    ev.rpc_policy.dcom_protocols = Setting([d.DCOM_TCP], f"{RPC}!DCOM Protocols")
    for rule in ev.firewall.rules:
        rule.protocol, rule.local_ports, rule.service = "TCP", "RPC", "winmgmt"
    dynamic_ports(ev, *d.RPC_DYNAMIC_PORTS)


def dynamic_ports(ev: Evidence, start: int, count: int) -> None:
    ev.rpc_policy.dynamic_port_start = Setting(start, f"{NETSH_PORTS}#line 4")
    ev.rpc_policy.dynamic_port_count = Setting(count, f"{NETSH_PORTS}#line 5")


def standalone(ev: Evidence, port: int = d.WMI_FIXED_PORT) -> None:
    """winmgmt /standalonehost: own svchost, fixed endpoint."""
    winmgmt = ev.services.get("Winmgmt")
    assert winmgmt is not None
    winmgmt.service_type = "own-process"
    winmgmt.image_path = "%systemroot%\\system32\\svchost.exe -k winmgmt"
    winmgmt.svchost_group = "winmgmt"
    ev.dcom.wmi_appid_endpoints = Setting([f"ncacn_ip_tcp,0,{port}"], f"{APPID}!Endpoints")


def standalone_behind_port_rules(ev: Evidence) -> None:
    """Standalone WMI on a host whose WMI rule opens only TCP 135 and the dynamic range (no service binding)."""
    standalone(ev)
    rule = ev.firewall.rules[0]
    rule.local_ports, rule.service = "135,49152-65535", ""


def fixed_port_rule(port: int = d.WMI_FIXED_PORT) -> FirewallRule:
    return FirewallRule(
        "WMI fixed port",
        enabled=True,
        protocol="TCP",
        local_ports=str(port),
        profiles=["domain"],
        source="bundle:commands/netsh-firewall-rules.txt#line 40",
    )


CONFIG_SICK: dict[str, Callable[[Evidence], None]] = {
    "dcom.protocols": lambda ev: setattr(
        ev.rpc_policy, "dcom_protocols", Setting(["ncacn_spx", "ncacn_nb_nb"], f"{RPC}!DCOM Protocols")
    ),
    "dcom.wmi-fixed-port": standalone_behind_port_rules,
    "rpc.dynamic-ports": lambda ev: dynamic_ports(ev, 49152, 1000),
    "repository.cimom-settings": lambda ev: ev.repository.cimom.__setitem__(
        "ArbTaskMaxIdle", Setting(60_000, f"{CIMOM}!ArbTaskMaxIdle")
    ),
}
