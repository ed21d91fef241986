"""RPC policy: restrictions on unauthenticated clients and on the ports RPC servers may listen on."""

from __future__ import annotations

from wmidoctor.checks.registry import Verdict, check, ref
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import RESTRICT_REMOTE_CLIENTS

_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc"


@check("rpc.restrict-remote-clients", "RPC does not refuse the clients WMI needs", severity="error",
       needs=("rpc_policy",))
def restrict_remote_clients(ev: Evidence, v: Verdict) -> Finding:
    policy = ev.rpc_policy
    evidence = [ref(s.source, f"{name}={s.value}") for name, s in (
        ("RestrictRemoteClients", policy.restrict_remote_clients),
        ("EnableAuthEpResolution", policy.enable_auth_ep_resolution)) if s is not None]
    value = policy.restrict_remote_clients.value if policy.restrict_remote_clients is not None else None
    if value == 2:
        return v.fail("RestrictRemoteClients=2 (authenticated without exceptions): RPC refuses every unauthenticated "
                      "call, including the ones endpoint resolution and some DCOM activations make; remote WMI "
                      "fails with access denied or 'RPC server unavailable' in ways that are hard to trace.",
                      evidence, causes=["the Group Policy 'Restrict Unauthenticated RPC clients' set to "
                                        "'Authenticated without exceptions'"],
                      fixes=[Fix(step="Set the policy (Computer Configuration > Administrative Templates > System > "
                                      "Remote Procedure Call > Restrict Unauthenticated RPC clients) to "
                                      "'Authenticated', or locally:",
                                 command=f'reg add "{_POLICY_KEY}" /v RestrictRemoteClients /t REG_DWORD /d 1 /f',
                                 risk="low",
                                 undo=f'reg add "{_POLICY_KEY}" /v RestrictRemoteClients /t REG_DWORD /d 2 /f')],
                      codes=["0x80070005", "0x800706BA"])
    described = RESTRICT_REMOTE_CLIENTS.get(value, "not set (Windows default)") if value is not None \
        else "not set (Windows default)"
    return v.ok(f"RestrictRemoteClients: {described}.", evidence)


@check("rpc.port-range", "RPC dynamic ports are not restricted without a matching firewall opening",
       severity="warning", needs=("rpc_policy",))
def port_range(ev: Evidence, v: Verdict) -> Finding:
    ports = ev.rpc_policy.ports
    if ports is None or not ports.value:
        return v.ok("No restricted RPC port range (Rpc\\Internet): WMI listens on a port of the dynamic range "
                    "(default 49152-65535).")
    ranges = ports.value if isinstance(ports.value, list) else [str(ports.value)]
    evidence = [ref(ports.source, f"Ports={', '.join(ranges)}")]
    evidence += [ref(s.source, f"{name}={s.value}") for name, s in (
        ("PortsInternetAvailable", ev.rpc_policy.ports_internet_available),
        ("UseInternetPorts", ev.rpc_policy.use_internet_ports)) if s is not None]
    return v.info(f"RPC servers are restricted to ports {', '.join(ranges)}: the firewall (host and network) must "
                  "admit that range from the management hosts, or remote WMI gets 0x800706BA after the endpoint "
                  "mapper answers.", evidence,
                  causes=["a deliberate restriction to pass a network firewall"],
                  fixes=[Fix(step="Check that the range is open from the management hosts (run from a client)",
                             command="wmidoctor probe <host>", risk="none", undo="nothing to undo")],
                  codes=["0x800706BA"])
