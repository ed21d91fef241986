"""RPC policy: restrictions on unauthenticated clients, the ports RPC servers may listen on, the dynamic range."""

from __future__ import annotations

from wmidoctor.checks.fixes import advice
from wmidoctor.checks.host import key_read, missing_artifacts
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import RESTRICT_REMOTE_CLIENTS, RPC_DYNAMIC_PORTS, RPC_DYNAMIC_PORTS_SMALL

_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc"


def restrict_remote_clients(ev: Evidence, v: Verdict) -> Finding:
    policy = ev.rpc_policy
    evidence = [
        ref(s.source, f"{name}={s.value}")
        for name, s in (
            ("RestrictRemoteClients", policy.restrict_remote_clients),
            ("EnableAuthEpResolution", policy.enable_auth_ep_resolution),
        )
        if s is not None
    ]
    value = policy.restrict_remote_clients.value if policy.restrict_remote_clients is not None else None
    if value is None and not key_read(policy, _POLICY_KEY):
        return v.skip(
            f"not known: the RPC policy key ({_POLICY_KEY}) was not collected "
            f"({missing_artifacts(ev, 'rpc-policy.reg', 'config/SOFTWARE')} not in the evidence)"
        )
    if value == 2:
        return v.fail(
            "RestrictRemoteClients=2 (authenticated without exceptions): RPC refuses every unauthenticated "
            "call, including the ones endpoint resolution and some DCOM activations make; remote WMI "
            "fails with access denied or 'RPC server unavailable' in ways that are hard to trace.",
            evidence,
            causes=[
                "the Group Policy 'Restrict Unauthenticated RPC clients' set to 'Authenticated without exceptions'"
            ],
            fixes=[
                Fix(
                    step="Set the policy (Computer Configuration > Administrative Templates > System > "
                    "Remote Procedure Call > Restrict Unauthenticated RPC clients) to "
                    "'Authenticated', or locally:",
                    command=f'reg add "{_POLICY_KEY}" /v RestrictRemoteClients /t REG_DWORD /d 1 /f',
                    risk="low",
                    undo=f'reg add "{_POLICY_KEY}" /v RestrictRemoteClients /t REG_DWORD /d 2 /f',
                )
            ],
            codes=["0x80070005", "0x800706BA"],
        )
    described = (
        RESTRICT_REMOTE_CLIENTS.get(value, "not set (Windows default)")
        if isinstance(value, int)
        else "not set (Windows default)"
        if value is None
        else f"{value} (not a number)"
    )
    return v.ok(f"RestrictRemoteClients: {described}.", evidence)


register_check(
    restrict_remote_clients,
    "rpc.restrict-remote-clients",
    "RPC does not refuse the clients WMI needs",
    severity="error",
    needs=("rpc_policy",),
)


def port_range(ev: Evidence, v: Verdict) -> Finding:
    ports = ev.rpc_policy.ports
    if ports is None or not ports.value:
        return v.ok(
            "No restricted RPC port range (Rpc\\Internet): WMI listens on a port of the dynamic range "
            "(default 49152-65535)."
        )
    ranges = ports.value if isinstance(ports.value, list) else [str(ports.value)]
    evidence = [ref(ports.source, f"Ports={', '.join(ranges)}")]
    evidence += [
        ref(s.source, f"{name}={s.value}")
        for name, s in (
            ("PortsInternetAvailable", ev.rpc_policy.ports_internet_available),
            ("UseInternetPorts", ev.rpc_policy.use_internet_ports),
        )
        if s is not None
    ]
    return v.info(
        f"RPC servers are restricted to ports {', '.join(ranges)}: the firewall (host and network) must "
        "admit that range from the management hosts, or remote WMI gets 0x800706BA after the endpoint "
        "mapper answers.",
        evidence,
        causes=["a deliberate restriction to pass a network firewall"],
        fixes=[
            advice(
                "Check that the range is open from the management hosts (run from a client)",
                command="wmidoctor probe <host>",
            )
        ],
        codes=["0x800706BA"],
    )


register_check(
    port_range,
    "rpc.port-range",
    "RPC dynamic ports are not restricted without a matching firewall opening",
    severity="warning",
    needs=("rpc_policy",),
)


def port_ranges(entries: list[str]) -> list[tuple[int, int]]:
    """Rpc\\Internet Ports entries ('5000-5100', '5200') as inclusive (low, high) pairs; others are skipped."""
    found = []
    for entry in entries:
        low, _, high = entry.strip().partition("-")
        if low.strip().isdigit() and (high or low).strip().isdigit():
            found.append((int(low), int(high or low)))
    return found


def dynamic_ports(ev: Evidence, v: Verdict) -> Finding:
    policy = ev.rpc_policy
    start_setting, count_setting = policy.dynamic_port_start, policy.dynamic_port_count
    if (
        start_setting is None
        or count_setting is None
        or not isinstance(start_setting.value, int)
        or not isinstance(count_setting.value, int)
    ):
        return v.skip("the TCP dynamic port range was not collected (netsh int ipv4 show dynamicport tcp)")
    start, count = start_setting.value, count_setting.value
    last = start + count - 1
    evidence = [ref(start_setting.source, f"start port {start}"), ref(count_setting.source, f"{count} ports")]
    default_start, default_count = RPC_DYNAMIC_PORTS
    described = f"TCP {start}-{last} ({count} ports)"
    ports = policy.ports
    restricted = port_ranges(
        ports.value
        if ports is not None and isinstance(ports.value, list)
        else [str(ports.value)]
        if ports is not None
        else []
    )
    overlap = [(low, high) for low, high in restricted if low <= last and high >= start]
    reset = Fix(
        step=f"Return the range to the default ({default_start}, {default_count} ports) unless a network "
        "firewall needs it where it is",
        command=f"netsh int ipv4 set dynamicport tcp start={default_start} num={default_count}",
        risk="low",
        undo=f"netsh int ipv4 set dynamicport tcp start={start} num={count}",
    )
    if overlap and ports is not None:
        evidence.append(ref(ports.source, f"Ports={', '.join(f'{a}-{b}' for a, b in overlap)}"))
        return v.warn(
            f"The dynamic range {described} overlaps the ports RPC servers are restricted to "
            f"(Rpc\\Internet Ports): outgoing connections can hold the ports WMI needs to listen on, so "
            "remote WMI fails now and then with 'The RPC server is unavailable'.",
            evidence,
            causes=["the RPC port restriction was chosen inside the range Windows hands out to outgoing connections"],
            fixes=[
                Fix(
                    step="Move the Rpc\\Internet Ports range outside the dynamic range (or the "
                    "dynamic range away from it), open the new range in the firewalls, restart",
                    command="",
                    risk="high",
                    undo="restore the previous values and restart",
                ),
                reset,
            ],
            codes=["0x800706BA"],
        )
    if count <= RPC_DYNAMIC_PORTS_SMALL:
        return v.warn(
            f"The dynamic range {described} is no larger than the pre-Vista range that busy hosts ran "
            "out of: when it is used up, outgoing connections and new RPC endpoints (WMI among them) fail.",
            evidence,
            causes=["a tuning or firewall guide narrowed the range", "an upgrade kept a legacy range"],
            fixes=[reset],
            codes=["0x800706BA"],
        )
    if (start, count) != RPC_DYNAMIC_PORTS:
        return v.info(
            f"The dynamic range is {described}, not the default {default_start}-"
            f"{default_start + default_count - 1}: network firewalls and rules written for the default "
            "range must admit this one for remote WMI (Winmgmt listens on a port from it).",
            evidence,
            fixes=[reset],
        )
    return v.ok(f"The TCP dynamic port range is the default: {described}.", evidence)


register_check(
    dynamic_ports,
    "rpc.dynamic-ports",
    "The TCP dynamic port range is the default, or wide enough and clear of RPC's own ports",
    severity="warning",
    needs=("rpc_policy",),
)
