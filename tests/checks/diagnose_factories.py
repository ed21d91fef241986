"""Evidence built in code: one healthy host, and for every check a mutation that makes that check report a problem."""

from __future__ import annotations

from collections.abc import Callable

from config_factories import CONFIG_SICK, complete_config
from gap_factories import GAP_SICK, complete_healthy
from security_factories import SECURITY_SICK
from trace_check_factories import TRACE_SICK, complete_trace

from wmidoctor.evidence.model import (
    AutorecoverMof,
    Binding,
    ComServer,
    EventConsumer,
    EventFilter,
    EventGroup,
    Evidence,
    FirewallRule,
    LogFile,
    Namespace,
    Probe,
    Provider,
    RepositoryFile,
    RepositoryVerification,
    Service,
    Setting,
    Stage,
    Timer,
)
from wmidoctor.evidence.security import Ace, SecurityDescriptor
from wmidoctor.knowledge import defaults as d

MB = 1024 * 1024
OLE = "registry:HKLM\\SOFTWARE\\Microsoft\\Ole"
CIMOM = "registry:HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM"
ACTIVITY = "evtx:Microsoft-Windows-WMI-Activity%4Operational.evtx"


def sd(
    aces: list[tuple[str, int]] | tuple[d.DefaultAce, ...],
    source: str = "",
    kind: str = "allow",
    deny: list[tuple[str, int]] = (),
) -> SecurityDescriptor:
    pairs = [(a.sid, a.mask) if isinstance(a, d.DefaultAce) else a for a in aces]
    dacl = [Ace(type=kind, sid=sid, mask=mask) for sid, mask in pairs]
    dacl += [Ace(type="deny", sid=sid, mask=mask) for sid, mask in deny]
    return SecurityDescriptor(sddl="O:BAG:BAD:(...)", dacl=dacl, source=source)


def group(provider: str, event_id: int, count: int = 1, channel: str = "", **key: str) -> EventGroup:
    log = ACTIVITY if "Activity" in provider else "evtx:Application.evtx" if channel != "System" else "evtx:System.evtx"
    return EventGroup(
        channel=channel or ("Microsoft-Windows-WMI-Activity/Operational" if "Activity" in provider else "Application"),
        provider=provider,
        event_id=event_id,
        key=dict(key),
        count=count,
        first_seen="2024-05-01T10:00:00Z",
        last_seen="2024-05-02T10:00:00Z",
        source=f"{log}#record {1000 + event_id}",
    )


def healthy() -> Evidence:
    ev = Evidence()
    for name, section in ev.sections().items():
        section.mark_collected(f"bundle:{name}")
    ev.identity.host = "HEALTHY01"
    ev.identity.domain_role = "member-server"
    for default in d.SERVICES:
        ev.services.services[default.name] = Service(
            name=default.name,
            display_name=default.display_name,
            state="running",
            start_type="auto",
            service_type="share-process",
            svchost_group=default.svchost_group,
            source=f"registry:HKLM\\SYSTEM\\CurrentControlSet\\Services\\{default.name}",
        )

    repo = ev.repository
    repo.directory = Setting("%windir%\\System32\\wbem\\Repository", f"{CIMOM}!Repository Directory")
    repo.files = [RepositoryFile("OBJECTS.DATA", 30 * MB), RepositoryFile("INDEX.BTR", 5 * MB)]
    repo.verifications = [
        RepositoryVerification("consistent", "winmgmt /verifyrepository", source="bundle:commands/verifyrepository.txt")
    ]
    repo.corrupted_rec = False
    repo.autorecover_source = f"{CIMOM}!Autorecover MOFs"
    repo.autorecover_mofs = [
        AutorecoverMof("C:\\Windows\\system32\\wbem\\cimwin32.mof", True, parsed=True),
        AutorecoverMof("C:\\Windows\\system32\\wbem\\wmipcima.mof", True, parsed=True),
    ]

    cimwin32 = d.KNOWN_PROVIDER_BY_NAME["cimwin32"]
    cmdline = d.KNOWN_PROVIDER_BY_NAME["commandlineeventconsumer"]
    ev.providers.providers = [
        Provider(
            "root\\cimv2",
            "CIMWin32",
            cimwin32.clsid,
            cimwin32.hosting_model,
            ["instance", "method"],
            source='repository:root\\cimv2:__Win32Provider.Name="CIMWin32"',
        ),
        Provider(
            "root\\subscription",
            "CommandLineEventConsumer",
            cmdline.clsid,
            cmdline.hosting_model,
            ["event-consumer"],
            source="repository:root\\subscription:__Win32Provider",
        ),
    ]
    for p in (cimwin32, cmdline):
        ev.providers.com_servers[p.clsid] = ComServer(
            p.clsid,
            True,
            inproc_server=p.binary,
            binary_exists=True,
            source=f"registry:HKLM\\SOFTWARE\\Classes\\CLSID\\{p.clsid}",
        )

    ev.dcom.enable_dcom = Setting("Y", f"{OLE}!EnableDCOM")
    ev.dcom.machine_launch_restriction = sd(d.MACHINE_LAUNCH_RESTRICTION, f"{OLE}!MachineLaunchRestriction")
    ev.dcom.machine_access_restriction = sd(d.MACHINE_ACCESS_RESTRICTION, f"{OLE}!MachineAccessRestriction")
    ev.dcom.default_launch_permission = sd(d.DEFAULT_LAUNCH_PERMISSION, f"{OLE}!DefaultLaunchPermission")
    ev.dcom.legacy_authentication_level = Setting(2, f"{OLE}!LegacyAuthenticationLevel")
    ev.dcom.legacy_impersonation_level = Setting(2, f"{OLE}!LegacyImpersonationLevel")

    for name in d.NAMESPACES_WITH_DEFAULT_SECURITY:
        ev.namespaces.namespaces.append(
            Namespace(
                name,
                sd(d.NAMESPACE_DEFAULT, f"wmi:{name}:__SystemSecurity"),
                requires_encryption=False,
                source=f"wmi:{name}",
            )
        )

    ev.firewall.profiles = {p: Setting(1, f"bundle:firewall/profiles.txt#{p}") for p in d.FIREWALL_PROFILES}
    ev.firewall.rules = [
        FirewallRule(
            "WMI-In", d.WMI_RULE_GROUP, True, profiles=["domain"], source="bundle:firewall/rules.json#WMI-In-Domain"
        ),
        FirewallRule(
            "WMI-In",
            d.WMI_RULE_GROUP,
            False,
            profiles=["private", "public"],
            source="bundle:firewall/rules.json#WMI-In",
        ),
    ]
    ev.remote_uac.enable_lua = Setting(1, "registry:...\\Policies\\System!EnableLUA")
    ev.quotas.memory_per_host = Setting(536_870_912, "wmi:root:__ProviderHostQuotaConfiguration")
    ev.quotas.handles_per_host = Setting(4096, "wmi:root:__ProviderHostQuotaConfiguration")
    ev.quotas.threads_per_host = Setting(256, "wmi:root:__ProviderHostQuotaConfiguration")

    subs = ev.subscriptions
    subs.filters = [
        EventFilter(
            "root\\subscription",
            "SCM Event Log Filter",
            "select * from MSFT_SCMEventLogEvent",
            source="repository:root\\subscription:__EventFilter",
        )
    ]
    subs.consumers = [
        EventConsumer(
            "root\\subscription",
            "NTEventLogEventConsumer",
            "SCM Event Log Consumer",
            source="repository:root\\subscription:NTEventLogEventConsumer",
        )
    ]
    subs.bindings = [
        Binding(
            "root\\subscription",
            '__EventFilter.Name="SCM Event Log Filter"',
            'NTEventLogEventConsumer.Name="SCM Event Log Consumer"',
            source="repository:root\\subscription:__FilterToConsumerBinding",
        )
    ]

    ev.events.logs = [LogFile("Microsoft-Windows-WMI-Activity%4Operational.evtx", records_read=120)]
    ev.events.groups = [
        group(
            "Microsoft-Windows-WMI-Activity",
            5857,
            40,
            ProviderName="CIMWin32",
            Code="0x0",
            HostProcess="wmiprvse.exe",
            ProviderPath="%systemroot%\\system32\\wbem\\cimwin32.dll",
        ),
        group(
            "Microsoft-Windows-WMI-Activity",
            5858,
            12,
            ResultCode="0x80041032",
            Operation="Start IWbemServices::ExecNotificationQuery - root\\cimv2 : select * from Win32_ProcessStart",
            User="CONTOSO\\svc",
            ClientProcessId="4242",
        ),
    ]
    ev.connectivity.probes = [Probe("HEALTHY01", "dcom", [Stage("tcp135", "ok"), Stage("login", "ok")])]
    complete_healthy(ev)
    complete_config(ev)
    complete_trace(ev)
    return ev


Mutation = Callable[[Evidence], None]


def _service(ev: Evidence, name: str) -> Service:
    service = ev.services.get(name)
    assert service is not None
    return service


def _winmgmt_disabled(ev: Evidence) -> None:
    _service(ev, "Winmgmt").start_type = "disabled"
    _service(ev, "Winmgmt").state = "stopped"


def _add_provider(ev: Evidence, **changes) -> None:
    clsid = changes.pop("clsid", "{11111111-2222-3333-4444-555555555555}")
    provider = Provider(
        "root\\vendor",
        "VendorProv",
        clsid,
        changes.pop("hosting_model", "NetworkServiceHost"),
        changes.pop("registrations", ["instance"]),
        source="repository:root\\vendor:__Win32Provider",
    )
    ev.providers.providers.append(provider)
    if changes.pop("com", True) and clsid:
        ev.providers.com_servers[clsid] = ComServer(
            clsid,
            True,
            inproc_server="C:\\Vendor\\prov.dll",
            binary_exists=changes.pop("binary_exists", True),
            source=f"registry:HKLM\\SOFTWARE\\Classes\\CLSID\\{clsid}",
        )


def _events(ev: Evidence, *groups: EventGroup) -> None:
    ev.events.groups.extend(groups)


def _namespace(ev: Evidence, name: str) -> Namespace:
    namespace = ev.namespaces.get(name)
    assert namespace is not None
    return namespace


# check id -> mutation making that check report a problem (or, for info-only checks, something to report)
SICK: dict[str, Mutation] = {
    "services.winmgmt": _winmgmt_disabled,
    "services.rpcss": lambda ev: setattr(_service(ev, "RpcSs"), "state", "stopped"),
    "services.dcomlaunch": lambda ev: ev.services.services.pop("DcomLaunch"),
    "services.rpceptmapper": lambda ev: setattr(_service(ev, "RpcEptMapper"), "start_type", "manual"),
    "services.winmgmt-hosting": lambda ev: ev.services.winmgmt_dependents.extend(["SharedAccess", "iphlpsvc"]),
    "repository.integrity": lambda ev: ev.repository.verifications.__setitem__(
        0,
        RepositoryVerification(
            "inconsistent",
            "winmgmt /verifyrepository",
            "WMI repository is INCONSISTENT",
            source="bundle:commands/verifyrepository.txt",
        ),
    ),
    "repository.size": lambda ev: ev.repository.files.__setitem__(0, RepositoryFile("OBJECTS.DATA", 1200 * MB)),
    "repository.history": lambda ev: (
        setattr(ev.repository, "corrupted_rec", True),
        _events(ev, group("Microsoft-Windows-WMI", 5600)),
    ),
    "autorecover.files": lambda ev: ev.repository.autorecover_mofs.append(
        AutorecoverMof("C:\\Program Files\\Gone\\gone.mof", False)
    ),
    "autorecover.duplicates": lambda ev: ev.repository.autorecover_mofs.append(
        AutorecoverMof("C:\\WINDOWS\\system32\\wbem\\cimwin32.mof", True)
    ),
    "autorecover.parse": lambda ev: ev.repository.autorecover_mofs.append(
        AutorecoverMof(
            "C:\\Program Files\\Contoso\\contoso.mof",
            True,
            parsed=False,
            problems=["12:5 unexpected '}'; expected ';'"],
        )
    ),
    "providers.clsid": lambda ev: _add_provider(ev, clsid=None),
    "providers.com-registration": lambda ev: _add_provider(ev, com=False),
    "providers.binary": lambda ev: _add_provider(ev, binary_exists=False),
    "providers.registrations": lambda ev: _add_provider(ev, registrations=[]),
    "providers.hosting": lambda ev: _add_provider(ev, hosting_model="LocalSystemHost"),
    "dcom.enabled": lambda ev: setattr(ev.dcom, "enable_dcom", Setting("N", f"{OLE}!EnableDCOM")),
    "dcom.machine-launch-restriction": lambda ev: setattr(
        ev.dcom,
        "machine_launch_restriction",
        sd([(d.EVERYONE, d.LOCAL_ONLY_LAUNCH), (d.DISTRIBUTED_COM_USERS, 0x1F)], f"{OLE}!MachineLaunchRestriction"),
    ),
    "dcom.machine-access-restriction": lambda ev: setattr(
        ev.dcom, "machine_access_restriction", sd([(d.DISTRIBUTED_COM_USERS, 0x7)], f"{OLE}!MachineAccessRestriction")
    ),
    "dcom.default-launch-permission": lambda ev: setattr(
        ev.dcom, "default_launch_permission", sd([(d.SYSTEM, 0x1F)], f"{OLE}!DefaultLaunchPermission")
    ),
    "dcom.default-access-permission": lambda ev: setattr(
        ev.dcom,
        "default_access_permission",
        sd([(d.SYSTEM, 0x7)], f"{OLE}!DefaultAccessPermission", deny=[(d.AUTHENTICATED_USERS, 0x7)]),
    ),
    "dcom.legacy-levels": lambda ev: setattr(
        ev.dcom, "legacy_authentication_level", Setting(1, f"{OLE}!LegacyAuthenticationLevel")
    ),
    "dcom.hardening": lambda ev: _events(
        ev,
        group(
            "Microsoft-Windows-DistributedCOM",
            10036,
            7,
            channel="System",
            UserDomain="CONTOSO",
            UserName="monitor",
            UserSid="S-1-5-21-1-2-3-1105",
            Address="192.0.2.7",
        ),
    ),
    "dcom.wmi-appid": lambda ev: setattr(
        ev.dcom,
        "wmi_appid_launch_permission",
        sd(
            [(d.AUTHENTICATED_USERS, d.LOCAL_ONLY_LAUNCH)],
            f"registry:HKLM\\SOFTWARE\\Classes\\AppID\\{d.WMI_APPID}!LaunchPermission",
        ),
    ),
    "namespaces.default-security": lambda ev: setattr(
        _namespace(ev, "root\\cimv2"),
        "security",
        sd([a for a in d.NAMESPACE_DEFAULT if a.sid != d.AUTHENTICATED_USERS], "wmi:root\\cimv2:__SystemSecurity"),
    ),
    "namespaces.remote-denied": lambda ev: _events(
        ev,
        group(
            "Microsoft-Windows-WMI-Activity",
            5858,
            30,
            ResultCode="0x80041003",
            User="CONTOSO\\monitor",
            ClientMachine="POLLER01",
            Namespace="root\\cimv2",
            Method="ExecQuery",
            Target="select * from Win32_OperatingSystem",
        ),
    ),
    "namespaces.encryption": lambda ev: _events(ev, group("Microsoft-Windows-WMI", 5605, 3, Namespace="root\\cimv2")),
    # Closed rules alone are a client default (info); remote WMI failing with 0x800706BA makes them the fault.
    "firewall.wmi-rules": lambda ev: (
        setattr(ev.firewall.rules[0], "enabled", False),
        ev.connectivity.probes.append(
            Probe(
                "HEALTHY01",
                "dcom",
                [Stage("tcp135", "failed", code=0x800706BA)],
                failing_stage="tcp135",
                code=0x800706BA,
                source="probe:HEALTHY01",
            )
        ),
    ),
    "evidence.integrity": lambda ev: ev.services.problems.append(
        "SYSTEM: values of HKLM\\SYSTEM\\ControlSet001\\Services\\Dot3svc unreadable: no value record at offset 0x0"
    ),
    "remote-uac.token-filter": lambda ev: setattr(
        ev.remote_uac,
        "local_account_token_filter_policy",
        Setting(1, "registry:...\\Policies\\System!LocalAccountTokenFilterPolicy"),
    ),
    "rpc.restrict-remote-clients": lambda ev: setattr(
        ev.rpc_policy,
        "restrict_remote_clients",
        Setting(2, "registry:HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc!RestrictRemoteClients"),
    ),
    "rpc.port-range": lambda ev: setattr(
        ev.rpc_policy, "ports", Setting(["5000-5100"], "registry:HKLM\\SOFTWARE\\Microsoft\\Rpc\\Internet!Ports")
    ),
    "quotas.configuration": lambda ev: setattr(
        ev.quotas, "handles_per_host", Setting(1024, "wmi:root:__ProviderHostQuotaConfiguration")
    ),
    "quotas.host-kills": lambda ev: _events(
        ev,
        group(
            "Microsoft-Windows-WMI",
            5612,
            4,
            Quota="PrivatePageCount",
            Value="536956928",
            Maximum="536870912",
            ProcessId="3124",
            Providers="%systemroot%\\system32\\wbem\\cimwin32.dll",
        ),
    ),
    "events.client-failures": lambda ev: _events(
        ev,
        group(
            "Microsoft-Windows-WMI-Activity",
            5858,
            55,
            ResultCode="0x80041010",
            User="CONTOSO\\agent",
            ClientProcessId="777",
            Operation="Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_PerfFormattedData_Gone",
        ),
    ),
    "events.provider-load": lambda ev: _events(
        ev,
        group(
            "Microsoft-Windows-WMI-Activity",
            5857,
            2,
            ProviderName="VendorProv",
            Code="0x80041013",
            HostProcess="wmiprvse.exe",
            ProviderPath="C:\\Vendor\\prov.dll",
        ),
    ),
    "subscriptions.inventory": lambda ev: ev.subscriptions.timers.append(
        Timer("root\\cimv2", "__IntervalTimerInstruction", "every-minute", 60000, source="repository:root\\cimv2:timer")
    ),
    "subscriptions.orphans": lambda ev: ev.subscriptions.bindings.append(
        Binding(
            "root\\subscription",
            '__EventFilter.Name="SCM Event Log Filter"',
            'CommandLineEventConsumer.Name="Removed"',
            source="repository:root\\subscription:__FilterToConsumerBinding",
        )
    ),
    "connectivity.probes": lambda ev: ev.connectivity.probes.append(
        Probe(
            "SICK01",
            "dcom",
            [Stage("tcp135", "failed", code=0x800706BA)],
            failing_stage="tcp135",
            code=0x800706BA,
            source="probe:SICK01",
        )
    ),
}

SICK.update(GAP_SICK)
SICK.update(SECURITY_SICK)
SICK.update(CONFIG_SICK)
SICK.update(TRACE_SICK)


def sick(check_id: str) -> Evidence:
    ev = healthy()
    SICK[check_id](ev)
    return ev


def worst() -> Evidence:
    """Every mutation at once: the most broken host the factories can make."""
    ev = healthy()
    for mutate in SICK.values():
        mutate(ev)
    return ev
