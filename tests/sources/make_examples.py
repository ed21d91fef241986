"""Write the sample bundles in examples/bundles: realistic sick hosts in the collector's exact format.

Every bundle starts from one healthy Windows 10 member workstation and changes what its story needs.
Event logs are XML exports (`wevtutil qe /f:xml`): we cannot write .evtx. Run from the repository root:

    .venv/bin/python tests/sources/make_examples.py examples/bundles

tests/sources/test_examples.py regenerates them into a temporary folder and fails when the committed
files differ, so the examples never drift from this script (or from the formats the loader reads).
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from wmidoctor.artifacts.registry import security
from wmidoctor.artifacts.registry.model import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, RegValue
from wmidoctor.artifacts.registry.regfile import write_reg_file
from wmidoctor.artifacts.registry.tree import RegTree
from wmidoctor.evidence import Ace, SecurityDescriptor
from wmidoctor.knowledge import defaults as d
from wmidoctor.knowledge.defaults import WMI_APPID
from wmidoctor.sources.artifacts import BY_KEY

HOST, DOMAIN = "PC-0417", "corp.example"
FQDN = f"{HOST}.{DOMAIN}"
WHEN = "2024-05-02T09:41:07Z"
MONITOR_USER, MONITOR_SID = "CORP\\svc-monitor", "S-1-5-21-1004336348-1177238915-682003330-4121"
POLLER, POLLER_IP = "MON-01", "10.20.0.25"
NS_EVENT = "http://schemas.microsoft.com/win/2004/08/events/event"
NS_WMI = "http://manifests.microsoft.com/win/2006/windows/WMI"
ACTIVITY_CHANNEL = "Microsoft-Windows-WMI-Activity/Operational"
PROVIDER_GUIDS = {
    "Microsoft-Windows-WMI-Activity": "{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}",
    "Microsoft-Windows-WMI": "{1EDEEE53-0AFE-4609-B846-D8C0B2075B1F}",
    "Microsoft-Windows-DistributedCOM": "{1B562E86-B7AA-4131-BADC-B6F3A001407E}",
    "Service Control Manager": "{555908D1-A6D7-4695-8E1E-26931D2012F4}",
}
LOG_FILES = {
    ACTIVITY_CHANNEL: "Microsoft-Windows-WMI-Activity%4Operational",
    "Application": "Application",
    "System": "System",
}
WBEM = "%SystemRoot%\\system32\\wbem"
AUTORECOVER = [
    f"{WBEM}\\{name}"
    for name in (
        "cimwin32.mof",
        "cimwin32.mfl",
        "system.mof",
        "wmipcima.mof",
        "regevent.mof",
        "secrcw32.mof",
        "msiprov.mof",
        "ntevt.mof",
        "wmi.mof",
        "scrcons.mof",
        "wbemcons.mof",
    )
]
VENDOR_CLSID = "{4F2E8C1A-7B3D-4E59-9A61-2C0D5B7E8F13}"
VENDOR_HEALTH_CLSID = "{9C3B51D7-2E64-4A8F-B0C5-71E2D94A6F08}"
BACKUP_CLSID = "{6A1D0E93-5C27-4B8E-9F34-D8B2C7105E6A}"
BACKUP_DLL = "%ProgramFiles%\\Fabrikam\\Backup\\FabrikamBackupWmi.dll"
BACKUP_MOF = "%ProgramFiles%\\Fabrikam\\Backup\\FabrikamBackup.mof"
# The one third-party MOF in the list: the collector copies MOFs outside System32\wbem into the bundle.
BACKUP_MOF_TEXT = f"""// Fabrikam Backup Agent: WMI classes of its backup jobs (written for wmidoctor's samples)
#pragma autorecover
#pragma namespace("\\\\\\\\.\\\\root")

instance of __Namespace
{{
    Name = "Fabrikam";
}};

#pragma namespace("\\\\\\\\.\\\\root\\\\Fabrikam")

instance of __Win32Provider as $BackupProvider
{{
    Name = "FabrikamBackupProvider";
    CLSID = "{BACKUP_CLSID}";
    HostingModel = "NetworkServiceHost";
}};

instance of __InstanceProviderRegistration
{{
    Provider = $BackupProvider;
    SupportsGet = TRUE;
    SupportsPut = FALSE;
    SupportsDelete = FALSE;
    SupportsEnumeration = TRUE;
}};

[dynamic, provider("FabrikamBackupProvider")]
class Fabrikam_BackupJob
{{
    [key] string JobId;
    string State;
    datetime LastRun;
    uint32 LastResult;
}};
"""


# --- events --------------------------------------------------------------------------------------


@dataclass
class Ev:
    channel: str
    provider: str
    event_id: int
    time: str
    level: int = 4
    data: dict[str, str] = field(default_factory=dict)
    user_data: str = ""  # wrapper element name for WMI-Activity events (fields go inside it)
    unnamed: bool = False  # classic EventData: <Data> without names (param1..)
    pid: int = 1168
    user_sid: str = ""


def event_xml(ev: Ev, record: int) -> str:
    guid = PROVIDER_GUIDS.get(ev.provider, "")
    source = ' EventSourceName="Service Control Manager"' if ev.provider == "Service Control Manager" else ""
    system = (
        f'<System><Provider Name="{ev.provider}"' + (f' Guid="{guid}"' if guid else "") + f"{source}/>"
        f"<EventID>{ev.event_id}</EventID><Version>0</Version><Level>{ev.level}</Level><Task>0</Task>"
        f"<Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>"
        f'<TimeCreated SystemTime="{ev.time}"/><EventRecordID>{record}</EventRecordID><Correlation/>'
        f'<Execution ProcessID="{ev.pid}" ThreadID="{ev.pid + 44}"/><Channel>{ev.channel}</Channel>'
        f"<Computer>{FQDN}</Computer>"
        + (f'<Security UserID="{ev.user_sid}"/>' if ev.user_sid else "<Security/>")
        + "</System>"
    )
    if ev.user_data:
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in ev.data.items())
        body = f'<UserData><{ev.user_data} xmlns="{NS_WMI}">{inner}</{ev.user_data}></UserData>'
    elif ev.unnamed:
        body = "<EventData>" + "".join(f"<Data>{escape(v)}</Data>" for v in ev.data.values()) + "</EventData>"
    else:
        body = (
            "<EventData>" + "".join(f'<Data Name="{k}">{escape(v)}</Data>' for k, v in ev.data.items()) + "</EventData>"
        )
    return f'<Event xmlns="{NS_EVENT}">{system}{body}</Event>'


def activity_failure(
    time: str, code: str, operation: str, user: str = MONITOR_USER, client: str = POLLER, pid: str = "3316"
) -> Ev:
    return Ev(
        ACTIVITY_CHANNEL,
        "Microsoft-Windows-WMI-Activity",
        5858,
        time,
        2,
        {
            "Id": "{00000000-0000-0000-0000-000000000000}",
            "ClientMachine": client,
            "User": user,
            "ClientProcessId": pid,
            "Component": "Unknown",
            "Operation": operation,
            "ResultCode": code,
            "PossibleCause": "Unknown",
        },
        "Operation_ClientFailure",
        user_sid="S-1-5-18",
    )


def provider_started(time: str, name: str, code: str, pid: str, path: str) -> Ev:
    return Ev(
        ACTIVITY_CHANNEL,
        "Microsoft-Windows-WMI-Activity",
        5857,
        time,
        0,
        {"ProviderName": name, "Code": code, "HostProcess": "wmiprvse.exe", "ProcessID": pid, "ProviderPath": path},
        "Operation_StartedOperational",
        user_sid="S-1-5-20",
    )


def winmgmt(event_id: int, time: str, level: int, *inserts: str) -> Ev:
    return Ev(
        "Application",
        "Microsoft-Windows-WMI",
        event_id,
        time,
        level,
        {f"param{i}": v for i, v in enumerate(inserts, 1)},
        unnamed=True,
    )


def scm_running(time: str, service: str) -> Ev:
    return Ev(
        "System",
        "Service Control Manager",
        7036,
        time,
        4,
        {"param1": service, "param2": "running", "param3": "57006E006D0067006D0074000000"},
        pid=684,
    )


def base_events() -> list[Ev]:
    return [
        winmgmt(5615, "2024-04-30T07:02:11.5120000Z", 4),
        winmgmt(5617, "2024-04-30T07:02:13.0190000Z", 4),
        scm_running("2024-04-30T07:02:11.2030000Z", "Windows Management Instrumentation"),
        provider_started("2024-05-02T08:00:14.3310000Z", "CIMWin32", "0x0", "3904", f"{WBEM}\\cimwin32.dll"),
        provider_started("2024-05-02T08:00:15.1180000Z", "WmiPerfClass", "0x0", "3904", f"{WBEM}\\WmiPerfClass.dll"),
        activity_failure(
            "2024-05-02T08:31:55.8470000Z",
            "0x80041032",
            "Start IWbemServices::ExecNotificationQuery - root\\cimv2 : select * from "
            "__InstanceModificationEvent within 10 where TargetInstance isa 'Win32_Service'",
            user="NT AUTHORITY\\SYSTEM",
            client=HOST,
            pid="2212",
        ),
    ]


# --- registry -------------------------------------------------------------------------------------


def sd_bytes(aces: list[tuple[str, int]]) -> bytes:
    dacl = [Ace(type="allow", sid=sid, mask=mask) for sid, mask in aces]
    return security.to_binary(
        SecurityDescriptor(owner=d.ADMINISTRATORS, group=d.ADMINISTRATORS, control=0x8004, dacl=dacl)
    )


def defaults_of(table: tuple[d.DefaultAce, ...]) -> list[tuple[str, int]]:
    return [(a.sid, a.mask) for a in table]


def firewall_rule(
    action: str,
    active: bool,
    direction: str,
    protocol: int,
    profiles: list[str],
    port: str,
    app: str,
    svc: str,
    name_id: int,
) -> str:
    parts = [
        "v2.30",
        f"Action={action}",
        f"Active={'TRUE' if active else 'FALSE'}",
        f"Dir={direction}",
        f"Protocol={protocol}",
        *[f"Profile={p}" for p in profiles],
    ]
    if profiles != ["Domain"]:
        parts.append("RA4=LocalSubnet")
    if port:
        parts.append(f"LPort={port}")
    parts += [f"App={app}"] + ([f"Svc={svc}"] if svc else [])
    parts += [
        f"Name=@FirewallAPI.dll,-{name_id}",
        f"Desc=@FirewallAPI.dll,-{name_id + 1}",
        "EmbedCtxt=@FirewallAPI.dll,-34251",
    ]
    return "|".join(parts) + "|"


SVCHOST = "%SystemRoot%\\system32\\svchost.exe"
UNSECAPP = "%SystemRoot%\\system32\\wbem\\unsecapp.exe"
# (value name, direction, protocol, port, program, service, display-name resource id, display name)
WMI_RULES = [
    ("WMI-RPCSS-In-TCP", "In", 6, "RPC-EPMap", SVCHOST, "rpcss", 34252, "Windows Management Instrumentation (DCOM-In)"),
    ("WMI-WINMGMT-In-TCP", "In", 6, "RPC", SVCHOST, "winmgmt", 34254, "Windows Management Instrumentation (WMI-In)"),
    ("WMI-ASYNC-In-TCP", "In", 6, "", UNSECAPP, "", 34256, "Windows Management Instrumentation (ASync-In)"),
    ("WMI-WINMGMT-Out-TCP", "Out", 6, "", SVCHOST, "winmgmt", 34258, "Windows Management Instrumentation (WMI-Out)"),
]


@dataclass
class Host:
    """Everything the example host's bundle holds, as data the scenarios change before writing."""

    ole: dict[str, RegValue]
    firewall_enabled: dict[str, bool]  # "Domain" / "PrivatePublic" -> WMI rules enabled
    providers: list[dict]
    clsid_servers: dict[str, str]  # registered CLSID -> InprocServer32 path
    quotas: dict[str, int]
    verify: tuple[str, int]
    corrupted_rec: bool = False
    events: list[Ev] = field(default_factory=base_events)
    provider_hosts: list[dict] = field(default_factory=list)
    missing_binaries: set[str] = field(default_factory=set)  # CLSIDs whose server file is gone


def healthy_host() -> Host:
    providers = [
        {
            "namespace": "ROOT\\CIMV2",
            "name": p.name,
            "clsid": p.clsid,
            "hosting_model": p.hosting_model,
            "registrations": ["__InstanceProviderRegistration", "__MethodProviderRegistration"],
        }
        for p in d.KNOWN_PROVIDERS
        if "Consumer" not in p.name
    ]
    providers += [
        {
            "namespace": "ROOT\\subscription",
            "name": p.name,
            "clsid": p.clsid,
            "hosting_model": p.hosting_model,
            "registrations": ["__EventConsumerProviderRegistration"],
        }
        for p in d.KNOWN_PROVIDERS
        if "Consumer" in p.name
    ]
    providers.append(
        {
            "namespace": "ROOT\\Fabrikam",
            "name": "FabrikamBackupProvider",
            "clsid": BACKUP_CLSID,
            "hosting_model": "NetworkServiceHost",
            "registrations": ["__InstanceProviderRegistration"],
        }
    )
    return Host(
        ole={
            "EnableDCOM": RegValue("EnableDCOM", REG_SZ, "Y"),
            "MachineLaunchRestriction": RegValue(
                "MachineLaunchRestriction", REG_BINARY, sd_bytes(defaults_of(d.MACHINE_LAUNCH_RESTRICTION))
            ),
            "MachineAccessRestriction": RegValue(
                "MachineAccessRestriction", REG_BINARY, sd_bytes(defaults_of(d.MACHINE_ACCESS_RESTRICTION))
            ),
            "DefaultLaunchPermission": RegValue(
                "DefaultLaunchPermission", REG_BINARY, sd_bytes(defaults_of(d.DEFAULT_LAUNCH_PERMISSION))
            ),
            "LegacyAuthenticationLevel": RegValue("LegacyAuthenticationLevel", REG_DWORD, 2),
            "LegacyImpersonationLevel": RegValue("LegacyImpersonationLevel", REG_DWORD, 2),
        },
        firewall_enabled={"Domain": True, "PrivatePublic": False},
        providers=providers,
        clsid_servers={**{p.clsid: p.binary for p in d.KNOWN_PROVIDERS}, BACKUP_CLSID: BACKUP_DLL},
        quotas={name: value for name, value in d.QUOTA_DEFAULTS.values()},
        verify=("WMI repository is consistent\r\n", 0),
        provider_hosts=[
            {
                "pid": 3904,
                "process_name": "WmiPrvSE.exe",
                "hosting_model": "NetworkServiceHost",
                "user": "NT AUTHORITY\\NETWORK SERVICE",
                "providers": ["root\\cimv2:CIMWin32"],
                "working_set": 14_204_928,
                "private_bytes": 9_961_472,
                "handles": 612,
                "threads": 11,
            }
        ],
    )


def registry_trees(host: Host) -> dict[str, RegTree]:
    trees: dict[str, RegTree] = {}

    def tree(key: str) -> RegTree:
        made = trees[key] = RegTree()
        made.add_key(BY_KEY[key].registry_key)
        made.add_root(BY_KEY[key].registry_key)
        return made

    cimom = BY_KEY["RegWbem"].registry_key + "\\CIMOM"
    wbem = tree("RegWbem")
    for value in (
        RegValue("Autorecover MOFs", REG_MULTI_SZ, [*AUTORECOVER, BACKUP_MOF]),
        RegValue("Repository Directory", REG_EXPAND_SZ, f"{WBEM}\\Repository"),
        RegValue("Logging", REG_SZ, "1"),
        RegValue("Logging Directory", REG_EXPAND_SZ, f"{WBEM}\\Logs\\"),
        RegValue("AutoRestoreEnabled", REG_DWORD, 1),
    ):
        wbem.set_value(cimom, value)
    ole = tree("RegOle")
    for value in host.ole.values():
        ole.set_value(BY_KEY["RegOle"].registry_key, value)
    ole.set_value(
        BY_KEY["RegOle"].registry_key + "\\AppCompat",
        RegValue("RequireIntegrityActivationAuthenticationLevel", REG_DWORD, 1),
    )
    rpc = tree("RegRpc")
    rpc.add_key(BY_KEY["RegRpc"].registry_key + "\\ClientProtocols")
    rpc.set_value(BY_KEY["RegRpc"].registry_key, RegValue("DCOM Protocols", REG_MULTI_SZ, [d.DCOM_TCP]))
    appid = tree("RegWmiAppId")
    for value in (
        RegValue("", REG_SZ, "Windows Management Instrumentation"),
        RegValue("LocalService", REG_SZ, "winmgmt"),
        RegValue("AuthenticationLevel", REG_DWORD, 2),
        RegValue("LaunchPermission", REG_BINARY, sd_bytes(defaults_of(d.WMI_APPID_LAUNCH))),
    ):
        appid.set_value(BY_KEY["RegWmiAppId"].registry_key, value)
    clsids = tree("RegProviderClsids")
    for clsid, binary in host.clsid_servers.items():
        path = f"{BY_KEY['RegProviderClsids'].registry_key}\\{clsid}\\InprocServer32"
        clsids.set_value(path, RegValue("", REG_EXPAND_SZ, binary))
        clsids.set_value(path, RegValue("ThreadingModel", REG_SZ, "Both"))
    uac = tree("RegUacPolicy")
    for name, value in (("EnableLUA", 1), ("ConsentPromptBehaviorAdmin", 5), ("FilterAdministratorToken", 0)):
        uac.set_value(BY_KEY["RegUacPolicy"].registry_key, RegValue(name, REG_DWORD, value))
    services = tree("RegServices")
    for default in d.SERVICES:
        path = f"{BY_KEY['RegServices'].registry_key}\\{default.name}"
        image = f"{SVCHOST} -k {default.svchost_group} -p"
        for value in (
            RegValue("DisplayName", REG_SZ, default.display_name),
            RegValue("ImagePath", REG_EXPAND_SZ, image),
            RegValue("Start", REG_DWORD, 2),
            RegValue("Type", REG_DWORD, 0x20),
            RegValue("ObjectName", REG_SZ, default.account),
        ):
            services.set_value(path, value)
        if default.name == "Winmgmt":
            services.set_value(path, RegValue("DependOnService", REG_MULTI_SZ, ["RPCSS"]))
    firewall = tree("RegFirewallPolicy")
    policy = BY_KEY["RegFirewallPolicy"].registry_key
    for profile in ("DomainProfile", "StandardProfile", "PublicProfile"):
        firewall.set_value(f"{policy}\\{profile}", RegValue("EnableFirewall", REG_DWORD, 1))
    for value_name, direction, protocol, port, app, svc, name_id, _ in WMI_RULES:
        for variant, profiles in (("Domain", ["Domain"]), ("PrivatePublic", ["Private", "Public"])):
            suffix = "-NoScope" if variant == "Domain" else ""
            rule = firewall_rule(
                "Allow", host.firewall_enabled[variant], direction, protocol, profiles, port, app, svc, name_id
            )
            firewall.set_value(f"{policy}\\FirewallRules", RegValue(value_name + suffix, REG_SZ, rule))
    return trees


# --- command outputs ------------------------------------------------------------------------------


def sc_outputs(default: d.ServiceDefault, pid: int) -> dict[str, str]:
    name = default.name
    depends = "RPCSS" if name == "Winmgmt" else ""
    qc = (
        f"[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: {name}\r\n"
        f"        TYPE               : 20  WIN32_SHARE_PROCESS\r\n"
        f"        START_TYPE         : 2   AUTO_START\r\n"
        f"        ERROR_CONTROL      : 1   NORMAL\r\n"
        f"        BINARY_PATH_NAME   : C:\\Windows\\system32\\svchost.exe -k {default.svchost_group} -p\r\n"
        f"        LOAD_ORDER_GROUP   :\r\n        TAG                : 0\r\n"
        f"        DISPLAY_NAME       : {default.display_name}\r\n"
        f"        DEPENDENCIES       : {depends}\r\n"
        f"        SERVICE_START_NAME : {default.account}\r\n"
    )
    queryex = (
        f"\r\nSERVICE_NAME: {name}\r\n"
        f"        TYPE               : 20  WIN32_SHARE_PROCESS\r\n"
        f"        STATE              : 4  RUNNING\r\n"
        f"                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\r\n"
        f"        WIN32_EXIT_CODE    : 0  (0x0)\r\n        SERVICE_EXIT_CODE  : 0  (0x0)\r\n"
        f"        CHECKPOINT         : 0x0\r\n        WAIT_HINT          : 0x0\r\n"
        f"        PID                : {pid}\r\n        FLAGS              :\r\n"
    )
    sdshow = (
        "\r\nD:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLOCRRC;;;IU)"
        "(A;;CCLCSWLOCRRC;;;SU)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)\r\n\r\n"
    )
    return {f"ScQc{name}": qc, f"ScQueryEx{name}": queryex, f"ScSdShow{name}": sdshow}


def netsh_rules(host: Host) -> str:
    blocks = []
    for _, direction, _, port, app, svc, _, display in WMI_RULES:
        for variant, profiles in (("Domain", "Domain"), ("PrivatePublic", "Private,Public")):
            enabled = "Yes" if host.firewall_enabled[variant] else "No"
            remote = "Any" if variant == "Domain" else "LocalSubnet"
            program = app.replace("%SystemRoot%", "C:\\Windows")
            lines = [
                f"Rule Name:                            {display}",
                "----------------------------------------------------------------------",
                f"Enabled:                              {enabled}",
                f"Direction:                            {direction}",
                f"Profiles:                             {profiles}",
                "Grouping:                             Windows Management Instrumentation (WMI)",
                "LocalIP:                              Any",
                f"RemoteIP:                             {remote}",
                "Protocol:                             TCP",
                f"LocalPort:                            {port or 'Any'}",
                "RemotePort:                           Any",
                "Edge traversal:                       No",
                f"Program:                              {program}",
            ]
            if svc:
                lines.append(f"Service:                              {svc}")
            lines += [
                "InterfaceTypes:                       Any",
                "Security:                             NotRequired",
                "Rule source:                          Local Setting",
                "Action:                               Allow",
            ]
            blocks.append("\r\n".join(lines))
    return "\r\n" + "\r\n\r\n".join(blocks) + "\r\nOk.\r\n\r\n"


NETSH_DYNAMIC_PORTS = (
    "\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\n"
    f"Start Port      : {d.RPC_DYNAMIC_PORTS[0]}\r\n"
    f"Number of Ports : {d.RPC_DYNAMIC_PORTS[1]}\r\n\r\n"
)
NETSH_PROFILES = (
    "".join(
        f"\r\n{p} Profile Settings: \r\n----------------------------------------------------------"
        f"------------\r\nState                                 ON\r\n"
        for p in ("Domain", "Private", "Public")
    )
    + "Ok.\r\n\r\n"
)


# --- the bundle -----------------------------------------------------------------------------------


def expand(path: str) -> str:
    return (
        path.replace("%SystemRoot%", "C:\\Windows")
        .replace("%systemroot%", "C:\\Windows")
        .replace("%ProgramFiles%", "C:\\Program Files")
    )


def provider_binaries(host: Host) -> dict:
    clsids = sorted({p["clsid"] for p in host.providers} & set(host.clsid_servers))
    return {
        "servers": [
            {
                "clsid": c,
                "kind": "InprocServer32",
                "path": host.clsid_servers[c],
                "file": expand(host.clsid_servers[c]),
                "exists": c not in host.missing_binaries,
            }
            for c in clsids
        ],
        "errors": [],
    }


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")


def write_bundle(host: Host, folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    entries: list[dict] = []

    def out(key: str, name: str | None = None) -> Path:
        path = folder / (name or BY_KEY[key].name)
        path.parent.mkdir(parents=True, exist_ok=True)
        entries.append({"name": name or BY_KEY[key].name, "status": "ok", "error": "", "duration_ms": 40})
        return path

    for channel, file in LOG_FILES.items():
        events = sorted((e for e in host.events if e.channel == channel), key=lambda e: e.time)
        xml = "\r\n".join(event_xml(e, 4000 + i) for i, e in enumerate(events))
        out("", f"logs/{file}.xml").write_text(xml + "\r\n", encoding="utf-8")
    for key, tree in registry_trees(host).items():
        write_reg_file(tree, out(key))
    entries.append(
        {
            "name": BY_KEY["RegRpcPolicy"].name,
            "status": "absent",
            "duration_ms": 12,
            "error": f"{BY_KEY['RegRpcPolicy'].registry_key} does not exist",
        }
    )
    entries.append(
        {
            "name": BY_KEY["RegFirewallGpo"].name,
            "status": "absent",
            "duration_ms": 11,
            "error": f"{BY_KEY['RegFirewallGpo'].registry_key} does not exist",
        }
    )
    text, code = host.verify
    out("VerifyRepository").write_text(text, encoding="utf-8")
    entries[-1]["exit_code"] = code
    for default, pid in zip(d.SERVICES, (1168, 960, 804, 960), strict=True):
        for key, output in sc_outputs(default, pid).items():
            out(key).write_text(output, encoding="utf-8")
            entries[-1]["exit_code"] = 0
    out("FirewallRules").write_text(netsh_rules(host), encoding="utf-8")
    out("FirewallProfiles").write_text(NETSH_PROFILES, encoding="utf-8")
    out("RpcDynamicPorts").write_text(NETSH_DYNAMIC_PORTS, encoding="utf-8")
    entries[-1]["exit_code"] = 0
    repository = "C:\\Windows\\system32\\wbem\\Repository"
    files = [
        {"name": n, "size": s, "modified": "2024-05-02T09:12:40Z"}
        for n, s in (
            ("INDEX.BTR", 5_029_888),
            ("MAPPING1.MAP", 78_460),
            ("MAPPING2.MAP", 78_460),
            ("MAPPING3.MAP", 78_460),
            ("OBJECTS.DATA", 23_937_024),
        )
    ]
    if host.corrupted_rec:
        files.append({"name": "Corrupted.rec", "size": 0, "modified": "2024-05-02T06:58:31Z"})
    write_json(
        out("RepositoryListing"),
        {"directory": repository, "files": files, "corrupted_rec": host.corrupted_rec, "errors": []},
    )
    copy = (
        f"{BY_KEY['AutorecoverListing'].name.rsplit('/', 1)[0]}/autorecover/{len(AUTORECOVER) + 1:03d}-"
        f"{BACKUP_MOF.rsplit(chr(92), 1)[1]}"
    )
    (folder / copy).parent.mkdir(parents=True, exist_ok=True)
    (folder / copy).write_bytes(BACKUP_MOF_TEXT.replace("\n", "\r\n").encode("utf-8"))
    write_json(
        out("AutorecoverListing"),
        {
            "source": "HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM!Autorecover MOFs",
            "mofs": [{"path": p, "expanded": expand(p), "exists": True, "copy": ""} for p in AUTORECOVER]
            + [{"path": BACKUP_MOF, "expanded": expand(BACKUP_MOF), "exists": True, "copy": copy}],
            "errors": [],
        },
    )
    write_json(
        out("WmiIdentity"),
        {
            "ComputerSystem": {"Name": HOST, "Domain": DOMAIN, "DomainRole": 1, "PartOfDomain": True},
            "OperatingSystem": {
                "Caption": "Microsoft Windows 10 Enterprise",
                "Version": "10.0.19045",
                "BuildNumber": "19045",
                "OSLanguage": 1033,
            },
            "TimeZone": "W. Europe Standard Time",
            "UICulture": "en-US",
            "errors": [],
        },
    )
    namespace_sddl = security.to_sddl(
        SecurityDescriptor(
            owner=d.ADMINISTRATORS,
            group=d.ADMINISTRATORS,
            control=0x8004,
            dacl=[Ace(type="allow", sid=a.sid, mask=a.mask, flags=0x12) for a in d.NAMESPACE_DEFAULT],
        )
    )
    names = ["root", "root\\cimv2", "root\\subscription", "root\\DEFAULT", "root\\SecurityCenter2", "root\\WMI"]
    names += sorted({p["namespace"].replace("ROOT", "root") for p in host.providers} - set(names))
    write_json(
        out("WmiNamespaces"),
        {"namespaces": [{"name": n, "sddl": namespace_sddl, "error": ""} for n in names], "errors": []},
    )
    write_json(out("WmiProviders"), {"providers": host.providers, "errors": []})
    write_json(out("ProviderBinaries"), provider_binaries(host))
    write_json(out("WmiQuotas"), {**host.quotas, "errors": []})
    write_json(out("WmiProviderHosts"), {"hosts": host.provider_hosts, "errors": []})
    write_json(
        out("WmiSubscriptions"),
        {
            "filters": [
                {
                    "namespace": "root\\subscription",
                    "name": "SCM Event Log Filter",
                    "query": "select * from MSFT_SCMEventLogEvent",
                    "query_language": "WQL",
                    "event_namespace": "root\\cimv2",
                    "creator_sid": "S-1-5-32-544",
                }
            ],
            "consumers": [
                {
                    "namespace": "root\\subscription",
                    "class": "NTEventLogEventConsumer",
                    "name": "SCM Event Log Consumer",
                    "properties": {"SourceName": "Service Control Manager", "EventID": "0", "EventType": "1"},
                    "creator_sid": "S-1-5-32-544",
                }
            ],
            "bindings": [
                {
                    "namespace": "root\\subscription",
                    "filter": '__EventFilter.Name="SCM Event Log Filter"',
                    "consumer": 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"',
                }
            ],
            "timers": [],
            "errors": [],
        },
    )
    entries.append(
        {
            "name": BY_KEY["RepositoryCopy"].name,
            "status": "skipped",
            "duration_ms": 0,
            "error": "run with -ShadowCopy to copy the repository",
        }
    )
    personal = []
    for entry in entries:
        artifact = next(
            (
                a
                for a in BY_KEY.values()
                if entry["name"] in a.names or entry["name"].rsplit(".", 1)[0] == a.name.rsplit(".", 1)[0]
            ),
            None,
        )
        if entry["status"] == "ok" and artifact is not None:
            personal += [p for p in artifact.personal if p not in personal]
    write_json(
        folder / "manifest.json",
        {
            "schema": "wmidoctor.bundle/1",
            "tool": "Collect-WmiDoctor",
            "version": "0.1.0",
            "host": HOST,
            "collected_at": WHEN,
            "finished_at": "2024-05-02T09:41:52Z",
            "powershell": "5.1.19041.4291",
            "ui_culture": "en-US",
            "elevated": True,
            "wmi_answered": True,
            "note": "sample bundle written by tests/sources/make_examples.py; event logs are XML exports",
            "personal_data": ["host name", "user name of the collector"] + [p for p in personal if p != "host name"],
            "artifacts": entries,
        },
    )


# --- the sick hosts -------------------------------------------------------------------------------


def dcom_remote_launch_denied(host: Host) -> None:
    """Someone hardened the Launch and Activation Limits and took remote activation away from
    Administrators and Distributed COM Users; the poller's WMI connections now fail with access denied."""
    host.ole["MachineLaunchRestriction"].data = sd_bytes(
        [
            (d.ADMINISTRATORS, d.LOCAL_ONLY_LAUNCH),
            (d.EVERYONE, d.LOCAL_ONLY_LAUNCH),
            (d.DISTRIBUTED_COM_USERS, d.LOCAL_ONLY_LAUNCH),
            (d.PERFORMANCE_LOG_USERS, d.ALL_COM_RIGHTS),
        ]
    )
    for hour in ("08", "09"):
        for minute in ("05", "20", "35"):
            time = f"2024-05-02T{hour}:{minute}:02.4410000Z"
            host.events.append(
                Ev(
                    "System",
                    "Microsoft-Windows-DistributedCOM",
                    10016,
                    time,
                    3,
                    {
                        "param1": "machine-default",
                        "param2": "Remote",
                        "param3": "Activation",
                        "param4": WMI_APPID,
                        "param5": WMI_APPID,
                        "param6": "CORP",
                        "param7": "svc-monitor",
                        "param8": MONITOR_SID,
                        "param9": POLLER_IP,
                        "param10": "Unavailable",
                        "param11": "Unavailable",
                    },
                    pid=920,
                    user_sid=MONITOR_SID,
                )
            )
            host.events.append(
                activity_failure(
                    time.replace(":02.", ":03."),
                    "0x80070005",
                    "Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_OperatingSystem",
                )
            )
    host.events.append(
        Ev(
            "System",
            "Microsoft-Windows-DistributedCOM",
            10028,
            "2024-05-02T09:02:44.1020000Z",
            2,
            {"param1": "PRN-3F-02", "param2": "0x800706ba", "param3": "C:\\Windows\\System32\\spoolsv.exe"},
            pid=920,
        )
    )


def wmi_firewall_disabled(host: Host) -> None:
    """The WMI rule group is off for every profile (as on a fresh client install) while the domain firewall
    is on: remote WMI would get 'The RPC server is unavailable' (0x800706BA) before any WMI code runs. On a
    workstation that is the default, so nothing in this bundle alone makes it a fault."""
    host.firewall_enabled = {"Domain": False, "PrivatePublic": False}


def repository_inconsistent(host: Host) -> None:
    """A power loss during a repository write: an unclean shutdown, a core failure at the next start,
    Corrupted.rec left behind and `winmgmt /verifyrepository` reporting the repository inconsistent."""
    host.verify = ("WMI repository is inconsistent\r\n", 1)
    host.corrupted_rec = True
    host.events += [
        winmgmt(5611, "2024-05-02T06:58:29.0010000Z", 2),
        winmgmt(28, "2024-05-02T06:58:31.2200000Z", 2, "0x8004100a"),
        activity_failure(
            "2024-05-02T07:14:10.6600000Z",
            "0x8004100a",
            "Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_LogicalDisk",
            user="NT AUTHORITY\\SYSTEM",
            client=HOST,
            pid="5120",
        ),
    ]


def provider_clsid_missing(host: Host) -> None:
    """A vendor agent was uninstalled half-way: it took one provider's COM registration with it and deleted
    the other provider's DLL but left its registration, while both providers stayed registered in WMI.
    Every query of their classes fails to load the provider (0x80041013)."""
    host.providers.append(
        {
            "namespace": "ROOT\\Contoso",
            "name": "ContosoInventoryProvider",
            "clsid": VENDOR_CLSID,
            "hosting_model": "NetworkServiceHost",
            "registrations": ["__InstanceProviderRegistration"],
        }
    )
    host.providers.append(
        {
            "namespace": "ROOT\\Contoso",
            "name": "ContosoHealthProvider",
            "clsid": VENDOR_HEALTH_CLSID,
            "hosting_model": "NetworkServiceHost",
            "registrations": ["__InstanceProviderRegistration"],
        }
    )
    host.clsid_servers[VENDOR_HEALTH_CLSID] = "%ProgramFiles%\\Contoso\\Agent\\ContosoHealth.dll"
    host.missing_binaries.add(VENDOR_HEALTH_CLSID)
    for minute in ("00", "15", "30", "45"):
        host.events.append(
            activity_failure(
                f"2024-05-02T08:{minute}:09.1200000Z",
                "0x80041013",
                "Start IWbemServices::CreateInstanceEnum - root\\Contoso : Contoso_InstalledSoftware",
                user="NT AUTHORITY\\SYSTEM",
                client=HOST,
                pid="4488",
            )
        )


def wmiprvse_quota_kill(host: Host) -> None:
    """A monitoring script lowered MemoryPerHost to 256 MB; a provider host serving large queries now
    hits it and WMI stops the host (event 5612), failing the calls it was serving."""
    host.quotas["MemoryPerHost"] = 268_435_456
    host.provider_hosts[0]["private_bytes"] = 251_658_240
    for when, pid in (("2024-05-01T14:22:17.3300000Z", "3904"), ("2024-05-02T08:47:51.0090000Z", "6120")):
        host.events.append(
            winmgmt(5612, when, 3, "PrivatePageCount", "268701696", "268435456", pid, f"{WBEM}\\cimwin32.dll")
        )
        host.events.append(
            activity_failure(
                when.replace(":17.", ":18.").replace(":51.", ":52."),
                "0x800706be",
                "Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_Product",
                user="NT AUTHORITY\\SYSTEM",
                client=HOST,
                pid="2790",
            )
        )


SCENARIOS: dict[str, Callable[[Host], None]] = {
    "dcom-remote-launch-denied": dcom_remote_launch_denied,
    "wmi-firewall-disabled": wmi_firewall_disabled,
    "repository-inconsistent": repository_inconsistent,
    "provider-clsid-missing": provider_clsid_missing,
    "wmiprvse-quota-kill": wmiprvse_quota_kill,
}


def write_all(target: Path) -> list[Path]:
    written = []
    base = healthy_host()
    for name, change in SCENARIOS.items():
        host = copy.deepcopy(base)
        change(host)
        write_bundle(host, target / name)
        written.append(target / name)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/bundles")):
        print(path)
