"""THE list of bundle artifacts: what the collector writes and what the loader understands.

`collect/Collect-WmiDoctor.ps1` carries the same list as a generated PowerShell table (between the
`BEGIN ARTIFACTS` and `END ARTIFACTS` markers); a test fails when the two diverge, and
`python -m wmidoctor.sources.collector_script` rewrites the table (and the other generated blocks) in the script.

Names are bundle-relative paths with forward slashes. An artifact may be accepted under more than one
name (`names[0]` is what the collector writes; an event log may also come as a `wevtutil qe /f:xml`
export). Mounted Windows volumes hold a different subset, located in `sources.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass

from wmidoctor.knowledge import events as ev
from wmidoctor.knowledge.defaults import WMI_APPID, WMI_HELPER_APPIDS

# kinds: how the loader reads the artifact
MANIFEST = "manifest"
EVENT_LOG = "event-log"
REG_EXPORT = "reg-export"
COMMAND = "command"
QUERY = "query"  # a WMI query result as JSON, written by the collector when WMI answers
LISTING = "listing"  # a file listing as JSON, written by the collector without WMI
REPOSITORY_COPY = "repository-copy"  # a folder: the repository copied through a volume shadow copy
HIVE = "hive"  # volumes only
VOLUME_FILES = "volume-files"  # volumes only: files looked up on the disk
TRACE = "trace"  # a WMI-Activity trace captured with -TraceSeconds / -TraceUntilKey (trace.inputs reads it)

WMI_SERVICES = ("Winmgmt", "RpcSs", "DcomLaunch", "RpcEptMapper")


@dataclass(frozen=True)
class Artifact:
    key: str  # identifier shared with the collector's table ($Artifacts.<key>)
    names: tuple[str, ...]  # bundle-relative paths; the first is the one the collector writes
    kind: str
    feeds: tuple[str, ...]  # evidence sections it fills
    what: str  # one line for `bundle inspect` and the manifest
    registry_key: str = ""  # reg-export: the key it exports (absence on the host is recorded, not an error)
    personal: tuple[str, ...] = ()  # personal data it may hold
    folder: bool = False  # a folder rather than a file
    # event-log: the XPath selector (inside System[...]) of the events the collector exports; '' is every event
    event_filter: str = ""
    # event-log: exported as XML and masked (its records carry command lines or consumers), not as .evtx
    masked: bool = False
    # reg-export: only these subkeys of registry_key are exported (the file then vouches for them alone)
    subkeys: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.names[0]


def _ids(ids: frozenset[int]) -> str:
    """Event ids as an XPath test, runs of consecutive ids as one range."""
    ordered, runs = sorted(ids), []
    start = prev = ordered[0]
    for event_id in [*ordered[1:], None]:
        if event_id is not None and event_id == prev + 1:
            prev = event_id
            continue
        runs.append(f"EventID={start}" if start == prev else f"(EventID>={start} and EventID<={prev})")
        if event_id is not None:
            start = prev = event_id
    return " or ".join(runs)


def _providers(*names: str) -> str:
    return "Provider[" + " or ".join(f"@Name='{name}'" for name in names) + "]"


def _ids_of(publisher: str, pairs: frozenset[tuple[str, int]]) -> frozenset[int]:
    return frozenset(event_id for name, event_id in pairs if name == publisher)


def _log(key: str, channel_file: str, what: str, event_filter: str = "", masked: bool = False) -> Artifact:
    stem = f"logs/{channel_file}"
    names = (f"{stem}.xml", f"{stem}.evtx") if masked else (f"{stem}.evtx", f"{stem}.xml")
    return Artifact(
        key,
        names,
        EVENT_LOG,
        ("events", "wmi_traces"),
        what,
        personal=("host name", "user names and SIDs", "IP addresses"),
        event_filter=event_filter,
        masked=masked,
    )


def _reg(
    key: str, file: str, registry_key: str, feeds: tuple[str, ...], what: str, personal: tuple[str, ...] = ()
) -> Artifact:
    return Artifact(key, (f"registry/{file}",), REG_EXPORT, feeds, what, registry_key, personal)


def _service_commands() -> list[Artifact]:
    found = []
    for service in WMI_SERVICES:
        low = service.lower()
        found += [
            Artifact(
                f"ScQc{service}",
                (f"commands/sc-qc-{low}.txt",),
                COMMAND,
                ("services",),
                f"sc qc {service}: service configuration",
            ),
            Artifact(
                f"ScQueryEx{service}",
                (f"commands/sc-queryex-{low}.txt",),
                COMMAND,
                ("services",),
                f"sc queryex {service}: state, process id, exit code",
            ),
            Artifact(
                f"ScSdShow{service}",
                (f"commands/sc-sdshow-{low}.txt",),
                COMMAND,
                ("services",),
                f"sc sdshow {service}: the service's security descriptor",
                personal=("account SIDs",),
            ),
        ]
    return found


ARTIFACTS: tuple[Artifact, ...] = (
    Artifact(
        "Manifest",
        ("manifest.json",),
        MANIFEST,
        ("identity",),
        "the collector's manifest: tool version, host, time, per-artifact status",
        personal=("host name", "user name of the collector"),
    ),
    _log(
        "WmiActivityLog",
        "Microsoft-Windows-WMI-Activity%4Operational",
        "Microsoft-Windows-WMI-Activity/Operational event log (exported as masked XML: 5861 holds whole consumers)",
        masked=True,
    ),
    _log(
        "ApplicationLog",
        "Application",
        "Application event log (WinMgmt, WMI adapter and Perflib events)",
        f"{_providers(ev.WMI_CORE, ev.WINMGMT_SOURCE, ev.WMI_ADAPTER, ev.WMI_ADAPTER_SOURCE)} or "
        f"({_providers(ev.PERFLIB, ev.PERFLIB_SOURCE)} and ({_ids(ev.PERFLIB_IDS)}))",
    ),
    _log(
        "SystemLog",
        "System",
        "System event log (DCOM and Service Control Manager events; exported as masked XML: 7045 holds a new "
        "service's whole command line)",
        f"({_providers(ev.DCOM, ev.DCOM_SOURCE)} and ({_ids(ev.DCOM_IDS)})) or "
        f"({_providers(ev.SCM)} and ({_ids(ev.SCM_IDS)}))",
        masked=True,
    ),
    _log(
        "SysmonLog",
        "Microsoft-Windows-Sysmon%4Operational",
        "Sysmon log where Sysmon is installed (WMI subscription events 19-21, process creation and exit; "
        "exported as masked XML)",
        _ids(ev.SYSMON_WMI_IDS | _ids_of(ev.SYSMON, ev.PROCESS_NAMING)),
        masked=True,
    ),
    _log(
        "SecurityLog",
        "Security",
        "Security event log (process creation 4688 and exit 4689, network logons 4624; exported as masked XML)",
        _ids(_ids_of(ev.SECURITY, ev.PROCESS_NAMING | ev.TRACE_ONLY)),
        masked=True,
    ),
    _reg(
        "RegWbem",
        "wbem.reg",
        "HKLM\\SOFTWARE\\Microsoft\\Wbem",
        ("repository",),
        "HKLM\\SOFTWARE\\Microsoft\\Wbem (CIMOM settings, Autorecover MOFs)",
    ),
    _reg(
        "RegOle",
        "ole.reg",
        "HKLM\\SOFTWARE\\Microsoft\\Ole",
        ("dcom",),
        "HKLM\\SOFTWARE\\Microsoft\\Ole (EnableDCOM, machine-wide DCOM restrictions)",
        ("account SIDs",),
    ),
    _reg(
        "RegRpc",
        "rpc.reg",
        "HKLM\\SOFTWARE\\Microsoft\\Rpc",
        ("rpc_policy",),
        "HKLM\\SOFTWARE\\Microsoft\\Rpc (RPC port range)",
    ),
    _reg(
        "RegRpcPolicy",
        "rpc-policy.reg",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc",
        ("rpc_policy",),
        "RPC group policy (RestrictRemoteClients, EnableAuthEpResolution)",
    ),
    _reg(
        "RegWmiAppId",
        "wmi-appid.reg",
        f"HKLM\\SOFTWARE\\Classes\\AppID\\{WMI_APPID}",
        ("dcom",),
        "the WMI DCOM AppID (launch and access permissions)",
        ("account SIDs",),
    ),
    _reg(
        "RegProviderClsids",
        "provider-clsids.reg",
        "HKLM\\SOFTWARE\\Classes\\CLSID",
        ("providers",),
        "the CLSID keys of every registered WMI provider",
    ),
    _reg(
        "RegUacPolicy",
        "uac-policy.reg",
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System",
        ("remote_uac",),
        "UAC policy (LocalAccountTokenFilterPolicy, EnableLUA)",
    ),
    _reg(
        "RegHostIdentity",
        "host-identity.reg",
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
        ("identity",),
        "who the host is without WMI: named values of CurrentVersion (product, edition, build, UBR), ComputerName, "
        "ProductOptions (workstation, server or domain controller) and the DNS domain (Tcpip parameters)",
        ("host name", "domain name"),
    ),
    _reg(
        "RegDcomPolicy",
        "dcom-policy.reg",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\DCOM",
        ("dcom",),
        "DCOM group policy (machine launch and access restrictions, hardening exemptions under AppCompat)",
        ("account SIDs",),
    ),
    Artifact(
        "RegWmiHelperAppIds",
        ("registry/wmi-helper-appids.reg",),
        REG_EXPORT,
        ("dcom",),
        "the DCOM AppIDs of WMI's provider host (WmiPrvSE.exe) and callback sink (unsecapp.exe)",
        "HKLM\\SOFTWARE\\Classes\\AppID",
        ("account SIDs",),
        subkeys=WMI_HELPER_APPIDS,
    ),
    _reg(
        "RegSvchost",
        "svchost.reg",
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Svchost",
        ("services",),
        "svchost service groups (netsvcs lists the services that share Winmgmt's process)",
    ),
    _reg(
        "RegWinRM",
        "winrm.reg",
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WSMAN",
        (),
        "WinRM (WS-Management) service configuration: listeners, authentication, limits",
    ),
    _reg(
        "RegWinRMPolicy",
        "winrm-policy.reg",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM",
        (),
        "WinRM group policy (allowed authentication, unencrypted traffic, IP filters)",
    ),
    _reg(
        "RegLsa",
        "lsa.reg",
        "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa",
        (),
        "named NTLM and anonymous-access settings of Lsa and Lsa\\MSV1_0 (LmCompatibilityLevel, "
        "RestrictAnonymous, NtlmMinClientSec...), nothing else of the key",
    ),
    _reg(
        "RegServices",
        "services.reg",
        "HKLM\\SYSTEM\\CurrentControlSet\\Services",
        ("services",),
        "service keys of Winmgmt, RpcSs, DcomLaunch, RpcEptMapper and the services depending on Winmgmt",
    ),
    _reg(
        "RegFirewallPolicy",
        "firewall-policy.reg",
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy",
        ("firewall",),
        "local firewall policy (profiles and rules)",
    ),
    _reg(
        "RegFirewallGpo",
        "firewall-gpo.reg",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall",
        ("firewall",),
        "firewall group policy (profiles and rules)",
    ),
    Artifact(
        "VerifyRepository",
        ("commands/winmgmt-verifyrepository.txt",),
        COMMAND,
        ("repository",),
        "winmgmt /verifyrepository: the live repository's consistency verdict",
    ),
    *_service_commands(),
    Artifact(
        "FirewallRules",
        ("commands/netsh-firewall-rules.txt",),
        COMMAND,
        ("firewall",),
        "netsh advfirewall firewall show rule name=all verbose",
    ),
    Artifact(
        "FirewallProfiles",
        ("commands/netsh-firewall-profiles.txt",),
        COMMAND,
        ("firewall",),
        "netsh advfirewall show allprofiles state",
    ),
    Artifact(
        "RpcDynamicPorts",
        ("commands/netsh-dynamicport-tcp.txt",),
        COMMAND,
        ("rpc_policy",),
        "netsh int ipv4 show dynamicport tcp: the TCP dynamic port range RPC servers listen in",
    ),
    Artifact(
        "RepositoryListing",
        ("files/repository.json",),
        LISTING,
        ("repository",),
        "repository folder listing with sizes, and whether Corrupted.rec exists",
    ),
    Artifact(
        "AutorecoverListing",
        ("files/autorecover-mofs.json",),
        LISTING,
        ("repository",),
        "the Autorecover MOFs list, which of the files exist, and copies of those outside System32\\wbem",
    ),
    Artifact(
        "WinmgmtHost",
        ("files/winmgmt-host.json",),
        LISTING,
        ("services",),
        "process figures of the svchost running Winmgmt (working set, private bytes, handles, threads), read "
        "without WMI from the process id the Service Control Manager gives",
    ),
    Artifact(
        "ProviderBinaries",
        ("files/provider-binaries.json",),
        LISTING,
        ("providers",),
        "the file each provider's COM server registration names, and whether it exists",
    ),
    Artifact(
        "WmiIdentity",
        ("wmi/identity.json",),
        QUERY,
        ("identity",),
        "Win32_OperatingSystem and Win32_ComputerSystem identity",
        personal=("host name", "domain name"),
    ),
    Artifact(
        "WmiNamespaces",
        ("wmi/namespaces.json",),
        QUERY,
        ("namespaces",),
        "every namespace with its security descriptor (SDDL)",
        personal=("account SIDs",),
    ),
    Artifact(
        "WmiProviders",
        ("wmi/providers.json",),
        QUERY,
        ("providers",),
        "__Win32Provider and provider registrations per namespace",
    ),
    Artifact("WmiQuotas", ("wmi/quotas.json",), QUERY, ("quotas",), "__ProviderHostQuotaConfiguration"),
    Artifact(
        "WmiProviderHosts",
        ("wmi/provider-hosts.json",),
        QUERY,
        ("provider_hosts",),
        "MSFT_Providers joined with WmiPrvSE process figures",
        personal=("user names",),
    ),
    Artifact(
        "WmiSubscriptions",
        ("wmi/subscriptions.json",),
        QUERY,
        ("subscriptions",),
        "permanent event subscriptions and timers in every namespace",
        personal=("account SIDs", "command lines"),
    ),
    Artifact(
        "RepositoryCopy",
        ("repository",),
        REPOSITORY_COPY,
        ("repository", "providers", "namespaces", "subscriptions", "quotas"),
        "the repository copied through a volume shadow copy (-ShadowCopy)",
        personal=("anything applications stored in WMI",),
        folder=True,
    ),
    Artifact(
        "WmiActivityTrace",
        ("trace/Microsoft-Windows-WMI-Activity%4Trace.evtx", "trace/Microsoft-Windows-WMI-Activity%4Trace.xml"),
        TRACE,
        ("trace",),
        "the WMI-Activity Trace channel, enabled for -TraceSeconds N (or until a key) and exported",
        personal=("host name", "user names", "WMI queries of every client"),
    ),
    Artifact(
        "WmiTraceSession",
        ("trace/wmi-trace.etl",),
        TRACE,
        ("trace",),
        "an ETL session over the WMI providers during the trace (-TraceEtl)",
        personal=("host name", "user names", "WMI queries of every client"),
    ),
)

BY_KEY: dict[str, Artifact] = {a.key: a for a in ARTIFACTS}

# A mounted or extracted Windows volume: where the same evidence lies on the disk itself.
SYSTEM32 = "Windows/System32"
VOLUME_LOGS = f"{SYSTEM32}/winevt/Logs"
VOLUME_ARTIFACTS: tuple[Artifact, ...] = (
    Artifact(
        "SystemHive",
        (f"{SYSTEM32}/config/SYSTEM",),
        HIVE,
        ("services", "firewall"),
        "SYSTEM hive (services, firewall policy)",
        personal=("host name",),
    ),
    Artifact(
        "SoftwareHive",
        (f"{SYSTEM32}/config/SOFTWARE",),
        HIVE,
        ("repository", "dcom", "providers", "rpc_policy", "remote_uac", "firewall"),
        "SOFTWARE hive (CIMOM, DCOM, COM registrations, RPC and UAC policy)",
        personal=("account SIDs",),
    ),
    Artifact(
        "WmiActivityLog",
        (f"{VOLUME_LOGS}/Microsoft-Windows-WMI-Activity%4Operational.evtx",),
        EVENT_LOG,
        ("events", "wmi_traces"),
        "Microsoft-Windows-WMI-Activity/Operational event log",
        personal=BY_KEY["WmiActivityLog"].personal,
    ),
    Artifact(
        "ApplicationLog",
        (f"{VOLUME_LOGS}/Application.evtx",),
        EVENT_LOG,
        ("events", "wmi_traces"),
        "Application event log",
        personal=BY_KEY["ApplicationLog"].personal,
    ),
    Artifact(
        "SystemLog",
        (f"{VOLUME_LOGS}/System.evtx",),
        EVENT_LOG,
        ("events", "wmi_traces"),
        "System event log",
        personal=BY_KEY["SystemLog"].personal,
    ),
    Artifact(
        "SysmonLog",
        (f"{VOLUME_LOGS}/Microsoft-Windows-Sysmon%4Operational.evtx",),
        EVENT_LOG,
        ("events", "wmi_traces"),
        "Sysmon log",
        personal=BY_KEY["SysmonLog"].personal,
    ),
    Artifact(
        "SecurityLog",
        (f"{VOLUME_LOGS}/Security.evtx",),
        EVENT_LOG,
        ("events", "wmi_traces"),
        "Security event log",
        personal=BY_KEY["SecurityLog"].personal,
    ),
    Artifact(
        "RepositoryFolder",
        (f"{SYSTEM32}/wbem/Repository",),
        REPOSITORY_COPY,
        BY_KEY["RepositoryCopy"].feeds,
        "the WMI repository folder",
        folder=True,
    ),
    Artifact(
        "AutorecoverFiles",
        (f"{SYSTEM32}/wbem",),
        VOLUME_FILES,
        ("repository",),
        "the Autorecover MOFs the SOFTWARE hive lists, looked up on the volume",
        folder=True,
    ),
    Artifact(
        "ProviderServerFiles",
        (SYSTEM32,),
        VOLUME_FILES,
        ("providers",),
        "the COM server files of the providers, as the SOFTWARE hive registers them, looked up on the volume",
        folder=True,
    ),
)

BEGIN_MARK = "# BEGIN ARTIFACTS (generated from src/wmidoctor/sources/artifacts.py; do not edit by hand)"
END_MARK = "# END ARTIFACTS"


def ps_string(text: str) -> str:
    """`text` as a single-quoted PowerShell string."""
    return "'" + text.replace("'", "''") + "'"


def powershell_table() -> str:
    """The collector's artifact table, as it must appear in the script (markers included): per key the
    bundle name, the registry key a .reg export holds, the personal data the artifact may carry, and for event
    logs the export filter and whether the log is exported as masked XML."""
    width = max(len(a.key) for a in ARTIFACTS)
    lines = [BEGIN_MARK, "$Artifacts = [ordered]@{"]
    for a in ARTIFACTS:
        personal = ", ".join(ps_string(p) for p in a.personal)
        log = f"; Query = {ps_string(a.event_filter)}; Masked = ${str(a.masked).lower()}" if a.kind == EVENT_LOG else ""
        if a.subkeys:
            log += "; Subkeys = @(" + ", ".join(ps_string(k) for k in a.subkeys) + ")"
        lines.append(
            f"    {a.key.ljust(width)} = @{{ Name = {ps_string(a.name)}; "
            f"RegistryKey = {ps_string(a.registry_key)}; Personal = @({personal}){log} }}"
        )
    lines += ["}", END_MARK]
    return "\n".join(lines)
