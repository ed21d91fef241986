"""THE list of bundle artifacts: what the collector writes and what the loader understands.

`collect/Collect-WmiDoctor.ps1` carries the same list as a generated PowerShell table (between the
`BEGIN ARTIFACTS` and `END ARTIFACTS` markers); a test fails when the two diverge, and
`python -m wmidoctor.sources.artifacts PATH` rewrites the table in the script from this module.

Names are bundle-relative paths with forward slashes. An artifact may be accepted under more than one
name (`names[0]` is what the collector writes; an event log may also come as a `wevtutil qe /f:xml`
export). Mounted Windows volumes hold a different subset, located in `sources.layout`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from wmidoctor.knowledge.defaults import WMI_APPID

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

    @property
    def name(self) -> str:
        return self.names[0]


def _log(key: str, channel_file: str, what: str) -> Artifact:
    stem = f"logs/{channel_file}"
    return Artifact(key, (f"{stem}.evtx", f"{stem}.xml"), EVENT_LOG, ("events", "wmi_traces"), what,
                    personal=("host name", "user names and SIDs", "IP addresses"))


def _reg(key: str, file: str, registry_key: str, feeds: tuple[str, ...], what: str,
         personal: tuple[str, ...] = ()) -> Artifact:
    return Artifact(key, (f"registry/{file}",), REG_EXPORT, feeds, what, registry_key, personal)


def _service_commands() -> list[Artifact]:
    found = []
    for service in WMI_SERVICES:
        low = service.lower()
        found += [
            Artifact(f"ScQc{service}", (f"commands/sc-qc-{low}.txt",), COMMAND, ("services",),
                     f"sc qc {service}: service configuration"),
            Artifact(f"ScQueryEx{service}", (f"commands/sc-queryex-{low}.txt",), COMMAND, ("services",),
                     f"sc queryex {service}: state, process id, exit code"),
            Artifact(f"ScSdShow{service}", (f"commands/sc-sdshow-{low}.txt",), COMMAND, ("services",),
                     f"sc sdshow {service}: the service's security descriptor", personal=("account SIDs",)),
        ]
    return found


ARTIFACTS: tuple[Artifact, ...] = (
    Artifact("Manifest", ("manifest.json",), MANIFEST, ("identity",),
             "the collector's manifest: tool version, host, time, per-artifact status",
             personal=("host name", "user name of the collector")),
    _log("WmiActivityLog", "Microsoft-Windows-WMI-Activity%4Operational",
         "Microsoft-Windows-WMI-Activity/Operational event log"),
    _log("ApplicationLog", "Application", "Application event log (WinMgmt events)"),
    _log("SystemLog", "System", "System event log (DCOM and Service Control Manager events)"),
    _log("SysmonLog", "Microsoft-Windows-Sysmon%4Operational",
         "Sysmon log where Sysmon is installed (WMI subscription events 19-21, process creation)"),
    _log("SecurityLog", "Security", "Security event log (process creation 4688, network logons 4624)"),
    _reg("RegWbem", "wbem.reg", "HKLM\\SOFTWARE\\Microsoft\\Wbem", ("repository",),
         "HKLM\\SOFTWARE\\Microsoft\\Wbem (CIMOM settings, Autorecover MOFs)"),
    _reg("RegOle", "ole.reg", "HKLM\\SOFTWARE\\Microsoft\\Ole", ("dcom",),
         "HKLM\\SOFTWARE\\Microsoft\\Ole (EnableDCOM, machine-wide DCOM restrictions)", ("account SIDs",)),
    _reg("RegRpc", "rpc.reg", "HKLM\\SOFTWARE\\Microsoft\\Rpc", ("rpc_policy",),
         "HKLM\\SOFTWARE\\Microsoft\\Rpc (RPC port range)"),
    _reg("RegRpcPolicy", "rpc-policy.reg", "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc",
         ("rpc_policy",), "RPC group policy (RestrictRemoteClients, EnableAuthEpResolution)"),
    _reg("RegWmiAppId", "wmi-appid.reg", f"HKLM\\SOFTWARE\\Classes\\AppID\\{WMI_APPID}", ("dcom",),
         "the WMI DCOM AppID (launch and access permissions)", ("account SIDs",)),
    _reg("RegProviderClsids", "provider-clsids.reg", "HKLM\\SOFTWARE\\Classes\\CLSID", ("providers",),
         "the CLSID keys of every registered WMI provider"),
    _reg("RegUacPolicy", "uac-policy.reg", "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System",
         ("remote_uac",), "UAC policy (LocalAccountTokenFilterPolicy, EnableLUA)"),
    _reg("RegHostIdentity", "host-identity.reg", "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", ("identity",),
         "who the host is without WMI: named values of CurrentVersion (product, edition, build, UBR), ComputerName "
         "and ProductOptions", ("host name",)),
    _reg("RegServices", "services.reg", "HKLM\\SYSTEM\\CurrentControlSet\\Services", ("services",),
         "service keys of Winmgmt, RpcSs, DcomLaunch, RpcEptMapper and the services depending on Winmgmt"),
    _reg("RegFirewallPolicy", "firewall-policy.reg",
         "HKLM\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy", ("firewall",),
         "local firewall policy (profiles and rules)"),
    _reg("RegFirewallGpo", "firewall-gpo.reg", "HKLM\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall",
         ("firewall",), "firewall group policy (profiles and rules)"),
    Artifact("VerifyRepository", ("commands/winmgmt-verifyrepository.txt",), COMMAND, ("repository",),
             "winmgmt /verifyrepository: the live repository's consistency verdict"),
    *_service_commands(),
    Artifact("FirewallRules", ("commands/netsh-firewall-rules.txt",), COMMAND, ("firewall",),
             "netsh advfirewall firewall show rule name=all verbose"),
    Artifact("FirewallProfiles", ("commands/netsh-firewall-profiles.txt",), COMMAND, ("firewall",),
             "netsh advfirewall show allprofiles state"),
    Artifact("RpcDynamicPorts", ("commands/netsh-dynamicport-tcp.txt",), COMMAND, ("rpc_policy",),
             "netsh int ipv4 show dynamicport tcp: the TCP dynamic port range RPC servers listen in"),
    Artifact("RepositoryListing", ("files/repository.json",), LISTING, ("repository",),
             "repository folder listing with sizes, and whether Corrupted.rec exists"),
    Artifact("AutorecoverListing", ("files/autorecover-mofs.json",), LISTING, ("repository",),
             "the Autorecover MOFs list, which of the files exist, and copies of those outside System32\\wbem"),
    Artifact("ProviderBinaries", ("files/provider-binaries.json",), LISTING, ("providers",),
             "the file each provider's COM server registration names, and whether it exists"),
    Artifact("WmiIdentity", ("wmi/identity.json",), QUERY, ("identity",),
             "Win32_OperatingSystem and Win32_ComputerSystem identity", personal=("host name", "domain name")),
    Artifact("WmiNamespaces", ("wmi/namespaces.json",), QUERY, ("namespaces",),
             "every namespace with its security descriptor (SDDL)", personal=("account SIDs",)),
    Artifact("WmiProviders", ("wmi/providers.json",), QUERY, ("providers",),
             "__Win32Provider and provider registrations per namespace"),
    Artifact("WmiQuotas", ("wmi/quotas.json",), QUERY, ("quotas",), "__ProviderHostQuotaConfiguration"),
    Artifact("WmiProviderHosts", ("wmi/provider-hosts.json",), QUERY, ("provider_hosts",),
             "MSFT_Providers joined with WmiPrvSE process figures", personal=("user names",)),
    Artifact("WmiSubscriptions", ("wmi/subscriptions.json",), QUERY, ("subscriptions",),
             "permanent event subscriptions and timers in every namespace", personal=("account SIDs", "command lines")),
    Artifact("RepositoryCopy", ("repository",), REPOSITORY_COPY,
             ("repository", "providers", "namespaces", "subscriptions", "quotas"),
             "the repository copied through a volume shadow copy (-ShadowCopy)",
             personal=("anything applications stored in WMI",), folder=True),
    Artifact("WmiActivityTrace", ("trace/Microsoft-Windows-WMI-Activity%4Trace.evtx",
                                  "trace/Microsoft-Windows-WMI-Activity%4Trace.xml"), TRACE, ("trace",),
             "the WMI-Activity Trace channel, enabled for -TraceSeconds N (or until a key) and exported",
             personal=("host name", "user names", "WMI queries of every client")),
    Artifact("WmiTraceSession", ("trace/wmi-trace.etl",), TRACE, ("trace",),
             "an ETL session over the WMI providers during the trace (-TraceEtl)",
             personal=("host name", "user names", "WMI queries of every client")),
)

BY_KEY: dict[str, Artifact] = {a.key: a for a in ARTIFACTS}

# A mounted or extracted Windows volume: where the same evidence lies on the disk itself.
SYSTEM32 = "Windows/System32"
VOLUME_LOGS = f"{SYSTEM32}/winevt/Logs"
VOLUME_ARTIFACTS: tuple[Artifact, ...] = (
    Artifact("SystemHive", (f"{SYSTEM32}/config/SYSTEM",), HIVE, ("services", "firewall"),
             "SYSTEM hive (services, firewall policy)", personal=("host name",)),
    Artifact("SoftwareHive", (f"{SYSTEM32}/config/SOFTWARE",), HIVE,
             ("repository", "dcom", "providers", "rpc_policy", "remote_uac", "firewall"),
             "SOFTWARE hive (CIMOM, DCOM, COM registrations, RPC and UAC policy)", personal=("account SIDs",)),
    Artifact("WmiActivityLog", (f"{VOLUME_LOGS}/Microsoft-Windows-WMI-Activity%4Operational.evtx",), EVENT_LOG,
             ("events", "wmi_traces"), "Microsoft-Windows-WMI-Activity/Operational event log",
             personal=BY_KEY["WmiActivityLog"].personal),
    Artifact("ApplicationLog", (f"{VOLUME_LOGS}/Application.evtx",), EVENT_LOG, ("events", "wmi_traces"),
             "Application event log", personal=BY_KEY["ApplicationLog"].personal),
    Artifact("SystemLog", (f"{VOLUME_LOGS}/System.evtx",), EVENT_LOG, ("events", "wmi_traces"), "System event log",
             personal=BY_KEY["SystemLog"].personal),
    Artifact("SysmonLog", (f"{VOLUME_LOGS}/Microsoft-Windows-Sysmon%4Operational.evtx",), EVENT_LOG,
             ("events", "wmi_traces"),
             "Sysmon log", personal=BY_KEY["SysmonLog"].personal),
    Artifact("SecurityLog", (f"{VOLUME_LOGS}/Security.evtx",), EVENT_LOG, ("events", "wmi_traces"),
             "Security event log",
             personal=BY_KEY["SecurityLog"].personal),
    Artifact("RepositoryFolder", (f"{SYSTEM32}/wbem/Repository",), REPOSITORY_COPY,
             BY_KEY["RepositoryCopy"].feeds, "the WMI repository folder", folder=True),
    Artifact("AutorecoverFiles", (f"{SYSTEM32}/wbem",), VOLUME_FILES, ("repository",),
             "the Autorecover MOFs the SOFTWARE hive lists, looked up on the volume", folder=True),
    Artifact("ProviderServerFiles", (SYSTEM32,), VOLUME_FILES, ("providers",),
             "the COM server files of the providers, as the SOFTWARE hive registers them, looked up on the volume",
             folder=True),
)

BEGIN_MARK = "# BEGIN ARTIFACTS (generated from src/wmidoctor/sources/artifacts.py; do not edit by hand)"
END_MARK = "# END ARTIFACTS"


def _ps(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def powershell_table() -> str:
    """The collector's artifact table, as it must appear in the script (markers included): per key the
    bundle name, the registry key a .reg export holds, and the personal data the artifact may carry."""
    width = max(len(a.key) for a in ARTIFACTS)
    lines = [BEGIN_MARK, "$Artifacts = [ordered]@{"]
    for a in ARTIFACTS:
        personal = ", ".join(_ps(p) for p in a.personal)
        lines.append(f"    {a.key.ljust(width)} = @{{ Name = {_ps(a.name)}; RegistryKey = {_ps(a.registry_key)}; "
                     f"Personal = @({personal}) }}")
    lines += ["}", END_MARK]
    return "\n".join(lines)


_TABLE = re.compile(re.escape(BEGIN_MARK) + r".*?" + re.escape(END_MARK), re.S)


def sync_script(path: Path) -> bool:
    """Rewrite the table in the collector script from ARTIFACTS; True when the file changed."""
    text = path.read_text(encoding="utf-8-sig")
    if not _TABLE.search(text):
        raise ValueError(f"{path}: no '{BEGIN_MARK}' ... '{END_MARK}' block")
    updated = _TABLE.sub(lambda _: powershell_table().replace("\n", "\r\n" if "\r\n" in text else "\n"), text)
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8-sig")
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "collect/Collect-WmiDoctor.ps1")
    print(f"{target}: {'updated' if sync_script(target) else 'already in step'}")
