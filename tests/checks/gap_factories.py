"""The healthy-host facts and sick-host mutations for the checks that close WMIDiag/field gaps (service health,
repository files, autorecover locations, DCOM events about WMI, client-failure readings, host headroom).

`diagnose_factories` folds these in: `complete_healthy` runs at the end of `healthy()`, `GAP_SICK` joins `SICK`.
"""

from __future__ import annotations

from collections.abc import Callable

from wmidoctor.evidence.model import (
    AutorecoverMof,
    ComServer,
    EventGroup,
    Evidence,
    Provider,
    ProviderHost,
    RepositoryFile,
)
from wmidoctor.knowledge import defaults as d

MB = 1024 * 1024
SERVICES_KEY = "registry:HKLM\\SYSTEM\\CurrentControlSet\\Services"
SCM = "Service Control Manager"
DCOM = "Microsoft-Windows-DistributedCOM"
ACTIVITY = "Microsoft-Windows-WMI-Activity"


def event(provider: str, event_id: int, count: int = 1, **key: str) -> EventGroup:
    channel, log = {
        SCM: ("System", "System"),
        DCOM: ("System", "System"),
        ACTIVITY: ("Microsoft-Windows-WMI-Activity/Operational", "Microsoft-Windows-WMI-Activity%4Operational"),
    }.get(provider, ("Application", "Application"))
    return EventGroup(
        channel=channel,
        provider=provider,
        event_id=event_id,
        key=dict(key),
        count=count,
        first_seen="2024-05-01T10:00:00Z",
        last_seen="2024-05-02T10:00:00Z",
        source=f"evtx:{log}.evtx#record {2000 + event_id}",
    )


def client_failure(code: str, namespace: str, target: str, count: int, pid: str = "5150", **extra: str) -> EventGroup:
    operation = f"Start IWbemServices::ExecQuery - {namespace} : {target}"
    return event(
        ACTIVITY,
        5858,
        count,
        ResultCode=code,
        Namespace=namespace,
        Method="ExecQuery",
        Target=target,
        Operation=operation,
        ClientProcessId=pid,
        User="CONTOSO\\agent",
        **extra,
    )


def complete_healthy(ev: Evidence) -> None:
    """What a healthy host also shows: service accounts, binaries and permissions, the full repository file set."""
    for default in d.SERVICES:
        service = ev.services.services[default.name]
        service.image_path = f"%SystemRoot%\\system32\\svchost.exe -k {default.svchost_group} -p"
        service.object_name = default.account
    ev.services.services["Winmgmt"].sddl = d.WINMGMT_SERVICE_SDDL
    ev.services.sources.append("bundle:commands/sc-sdshow-winmgmt.txt")
    present = {f.name for f in ev.repository.files}
    ev.repository.files += [RepositoryFile(name, 80_000) for name in d.REPOSITORY_CORE_FILES if name not in present]


def _add(ev: Evidence, *groups: EventGroup) -> None:
    ev.events.groups.extend(groups)


def _winmgmt_sddl(ev: Evidence) -> None:
    winmgmt = ev.services.services["Winmgmt"]
    winmgmt.sddl = "D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCLCSWLOCRRC;;;BA)(D;;RPWP;;;AU)(A;;CCLCSWLOCRRC;;;IU)"


def _broken_provider(ev: Evidence) -> None:
    clsid = "{99999999-2222-3333-4444-555555555555}"
    ev.providers.providers.append(
        Provider(
            "root\\contoso",
            "ContosoProv",
            clsid,
            "NetworkServiceHost",
            ["instance"],
            source="repository:root\\contoso:__Win32Provider",
        )
    )
    ev.providers.com_servers[clsid] = ComServer(
        clsid, True, inproc_server="C:\\Contoso\\prov.dll", binary_exists=False, source=f"registry:...\\CLSID\\{clsid}"
    )
    _add(ev, client_failure("0x80041013", "root\\contoso", "select * from Contoso_Device", 40))


def _busy_host(ev: Evidence) -> None:
    ev.provider_hosts.hosts.append(
        ProviderHost(
            pid=3124,
            hosting_model="NetworkServiceHost",
            user="NT AUTHORITY\\NETWORK SERVICE",
            providers=["root\\cimv2:CIMWin32", "root\\contoso:ContosoProv"],
            private_bytes=500 * MB,
            handles=1200,
            threads=40,
            source="bundle:wmi/provider-hosts.json#pid 3124",
        )
    )


GAP_SICK: dict[str, Callable[[Evidence], None]] = {
    "services.crashes": lambda ev: _add(
        ev, event(SCM, 7031, 3, param1="Windows Management Instrumentation", Service="Winmgmt")
    ),
    "services.winmgmt-sddl": _winmgmt_sddl,
    "services.configuration": lambda ev: setattr(
        ev.services.services["Winmgmt"], "image_path", "C:\\ProgramData\\updater\\svc.exe -k netsvcs"
    ),
    "repository.files": lambda ev: ev.repository.files.__setitem__(
        slice(None), [f for f in ev.repository.files if f.name != "INDEX.BTR"]
    ),
    "autorecover.locations": lambda ev: ev.repository.autorecover_mofs.append(
        AutorecoverMof("C:\\Users\\admin\\AppData\\Local\\Temp\\setup42\\contoso.mof", True)
    ),
    "dcom.wmi-permission-events": lambda ev: _add(
        ev,
        event(
            DCOM,
            10016,
            33,
            Permission="Activation",
            Locality="Remote",
            Scope="application-specific",
            CLSID=d.WMI_APPID,
            AppID=d.WMI_APPID,
            UserDomain="CONTOSO",
            UserName="monitor",
            UserSid="S-1-5-21-1-2-3-1105",
        ),
    ),
    "dcom.activation-timeouts": lambda ev: _add(
        ev, event(DCOM, 10010, 6, Server="{73E709EA-5D93-4B2E-BBB0-99B7938DA9E4}")
    ),
    "quotas.host-headroom": _busy_host,
    "events.perf-classes": lambda ev: _add(
        ev, client_failure("0x80041010", "root\\cimv2", "select * from Win32_PerfFormattedData_PerfOS_Processor", 120)
    ),
    "events.invalid-namespace": lambda ev: _add(
        ev, client_failure("0x8004100E", "root\\ccm", "select * from SMS_Client", 48)
    ),
    "events.provider-errors": _broken_provider,
    "events.throttling": lambda ev: _add(
        ev,
        client_failure(
            "0x80041032",
            "root\\cimv2",
            "select * from Win32_Process",
            90,
            pid="6060",
            PossibleCause="Throttling Idle Tasks and Stack Tasks due to reaching max memory quota",
        ),
    ),
}
