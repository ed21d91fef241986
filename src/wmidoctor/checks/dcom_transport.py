"""How DCOM reaches WMI over the network: the protocol sequences DCOM may use, the SCM's remote-call flags,
and WMI's fixed endpoint when Winmgmt runs standalone (winmgmt /standalonehost)."""

from __future__ import annotations

import re

from wmidoctor.checks.fixes import backup_key
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence, FirewallRule, Setting
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import (
    DCOM_TCP,
    FIREWALL_PROFILES,
    OLE_KEY,
    RPC_KEY,
    SCM_DISALLOW_UNSECURE,
    SCM_REMOTE_CALL_FLAGS,
    WMI_FIXED_PORT,
    ports_include,
)

_ENDPOINT = re.compile(r"ncacn_ip_tcp\s*[,.]\s*\d*\s*[,.]\s*(\d+)", re.IGNORECASE)


def _strings(setting: Setting | None) -> list[str]:
    if setting is None or setting.value is None:
        return []
    value = setting.value
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _flag_names(value: int) -> str:
    return ", ".join(name for bit, name in SCM_REMOTE_CALL_FLAGS.items() if value & bit) or "no known flag"


def protocols(ev: Evidence, v: Verdict) -> Finding:
    listed = _strings(ev.rpc_policy.dcom_protocols)
    flags = ev.dcom.scm_remote_call_flags if ev.dcom.collected else None
    evidence = []
    if ev.rpc_policy.dcom_protocols is not None:
        evidence.append(ref(ev.rpc_policy.dcom_protocols.source, f"DCOM Protocols={', '.join(listed) or '(empty)'}"))
    flag_value = flags.value if flags is not None and isinstance(flags.value, int) else None
    if flags is not None:
        evidence.append(
            ref(flags.source, f"DCOMSCMRemoteCallFlags=0x{flag_value or 0:X} ({_flag_names(flag_value or 0)})")
        )
    if ev.rpc_policy.dcom_protocols is not None and DCOM_TCP not in (p.strip().lower() for p in listed):
        return v.fail(
            f"DCOM Protocols lists {', '.join(listed) or 'nothing'} without {DCOM_TCP}: DCOM cannot "
            "use TCP/IP, so remote WMI to and from this host fails ('The RPC server is unavailable').",
            evidence,
            causes=[
                "an old tuning or hardening script rewrote the list (for example to drop protocols "
                "Windows no longer ships)",
                "Component Services > My Computer > Properties > Default Protocols edited",
            ],
            fixes=[
                backup_key(RPC_KEY, "rpc"),
                Fix(
                    step=f"Put {DCOM_TCP} back as the DCOM protocol, then restart the host (the "
                    "RPC subsystem reads the list at start)",
                    command=f'reg add "{RPC_KEY}" /v "DCOM Protocols" /t REG_MULTI_SZ /d {DCOM_TCP} /f',
                    risk="low",
                    undo="reg import the saved Rpc key and restart",
                ),
            ],
            codes=["0x800706BA"],
        )
    if flag_value is not None and flag_value & SCM_DISALLOW_UNSECURE:
        return v.warn(
            f"DCOMSCMRemoteCallFlags=0x{flag_value:X} ({_flag_names(flag_value)}): this host never "
            "falls back to an unauthenticated activation or OXID-resolution call, so WMI connections from "
            "here to hosts that cannot authenticate it (workgroup machines, untrusted domains) fail.",
            evidence,
            causes=[
                "a hardening guide set the flag; Microsoft advises it only when every client and "
                "server in the network authenticates fully"
            ],
            fixes=[
                backup_key(OLE_KEY, "ole"),
                Fix(
                    step="Remove the value to return to the default behaviour (restart to apply)",
                    command=f'reg delete "{OLE_KEY}" /v DCOMSCMRemoteCallFlags /f',
                    risk="low",
                    undo=f'reg add "{OLE_KEY}" /v DCOMSCMRemoteCallFlags /t REG_DWORD /d {flag_value} /f',
                ),
            ],
            codes=["0x80070005", "0x800706BA"],
        )
    if flag_value:
        return v.info(
            f"DCOMSCMRemoteCallFlags=0x{flag_value:X} ({_flag_names(flag_value)}) makes the DCOM SCM "
            "behave like pre-Vista Windows when it calls other hosts; Microsoft advises it only for "
            "compatibility.",
            evidence,
        )
    return v.ok(
        f"DCOM uses {', '.join(listed) if listed else DCOM_TCP + ' (the default)'}; the SCM's remote-call "
        "flags are the defaults.",
        evidence,
    )


register_check(
    protocols,
    "dcom.protocols",
    "DCOM may use TCP/IP, and the SCM's remote-call flags are the defaults",
    severity="error",
    needs=("rpc_policy",),
)


def fixed_port(setting: Setting | None) -> int | None:
    """The TCP port of an 'ncacn_ip_tcp,0,<port>' endpoint, or None."""
    for entry in _strings(setting):
        match = _ENDPOINT.search(entry)
        if match:
            return int(match.group(1))
    return None


def _admits_port(rule: FirewallRule, port: int) -> bool:
    if not (rule.enabled and rule.direction == "in" and rule.action == "allow"):
        return False
    if rule.protocol and rule.protocol.lower() not in ("tcp", "6", "any"):
        return False
    # The WMI rule for the winmgmt service (dynamic RPC ports) keeps admitting it on the fixed port.
    return rule.service.lower() == "winmgmt" or ports_include(rule.local_ports, port)


def _firewall_on(ev: Evidence) -> bool:
    return any(
        ev.firewall.profiles.get(p) is None or ev.firewall.profiles[p].value in (1, "1", True)
        for p in FIREWALL_PROFILES
    )


def wmi_fixed_port(ev: Evidence, v: Verdict) -> Finding:
    service = ev.services.get("Winmgmt")
    endpoints = ev.dcom.wmi_appid_endpoints
    own = service is not None and service.service_type == "own-process"
    evidence = []
    if service is not None:
        evidence.append(
            ref(service.source, f"Winmgmt type={service.service_type or '?'}, image={service.image_path or '?'}")
        )
    if endpoints is not None:
        evidence.append(ref(endpoints.source, f"Endpoints={', '.join(_strings(endpoints))}"))
    port = fixed_port(endpoints)
    if port is None:
        hosting = "its own svchost" if own else "a shared svchost"
        return v.ok(
            f"No fixed WMI endpoint: Winmgmt runs in {hosting} and listens on a port of the RPC dynamic "
            "range, found through the endpoint mapper (TCP 135).",
            evidence,
        )
    undo = Fix(
        step="Undo the fixed-port setup: back to the shared svchost and dynamic ports",
        command="winmgmt /sharedhost && net stop winmgmt /y && net start winmgmt",
        risk="low",
        undo="winmgmt /standalonehost && net stop winmgmt /y && net start winmgmt",
    )
    if not own:
        return v.info(
            f"The WMI AppID has a fixed endpoint (TCP {port}) but Winmgmt runs in a shared svchost: the "
            "fixed-port setup (winmgmt /standalonehost) is only half in place, so do not rely on "
            f"TCP {port} alone in network firewalls.",
            evidence,
            fixes=[
                Fix(
                    step="Finish the setup (own svchost with the fixed endpoint) and restart WMI",
                    command="winmgmt /standalonehost && net stop winmgmt /y && net start winmgmt",
                    risk="low",
                    undo="winmgmt /sharedhost && net stop winmgmt /y && net start winmgmt",
                ),
                undo,
            ],
        )
    setup = (
        f"Winmgmt runs standalone with the fixed endpoint TCP {port}"
        + (" (the winmgmt /standalonehost default)" if port == WMI_FIXED_PORT else "")
        + ": remote WMI needs TCP 135 and TCP "
        + str(port)
        + " instead of the dynamic RPC range"
    )
    if not ev.firewall.collected or not ev.firewall.rules:
        return v.info(setup + "; the firewall rules were not read, so whether they admit it is unknown.", evidence)
    if not _firewall_on(ev):
        return v.info(setup + "; the firewall is off in every profile.", evidence)
    admitting = [r for r in ev.firewall.rules if _admits_port(r, port)]
    evidence += [
        ref(
            r.source,
            f"{r.name}: {r.direction} {r.action} {r.protocol or 'any'} "
            f"ports={r.local_ports or 'any'} service={r.service or '-'}",
        )
        for r in admitting
    ]
    if admitting:
        return v.info(
            setup + f"; the firewall admits it ({', '.join(sorted({r.name for r in admitting}))}).",
            evidence,
            fixes=[undo],
        )
    if port != WMI_FIXED_PORT:
        return v.info(
            setup + f"; the evidence keeps only WMI's own rules and rules naming TCP {WMI_FIXED_PORT}, "
            f"none of which admits TCP {port}: check that a rule opens it.",
            evidence,
            fixes=[undo],
        )
    return v.warn(
        setup + f", and no enabled inbound firewall rule admits TCP {port}: remote clients get "
        "'The RPC server is unavailable' after the endpoint mapper answers.",
        evidence,
        causes=[
            "winmgmt /standalonehost was run without opening the fixed port",
            "the WMI rule group, whose WMI-In rule would admit the standalone Winmgmt, is disabled",
        ],
        fixes=[
            Fix(
                step=f"Open TCP {port} inbound for the management hosts' profile",
                command=f'netsh advfirewall firewall add rule name="WMI fixed port {port}" dir=in '
                f"action=allow protocol=TCP localport={port} profile=domain",
                risk="low",
                undo=f'netsh advfirewall firewall delete rule name="WMI fixed port {port}"',
            ),
            undo,
        ],
        codes=["0x800706BA"],
    )


register_check(
    wmi_fixed_port,
    "dcom.wmi-fixed-port",
    "A fixed WMI port (winmgmt /standalonehost) is set up whole and admitted",
    severity="warning",
    needs=("dcom", "services"),
)
