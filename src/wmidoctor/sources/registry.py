"""Fill Evidence from the registry: services, CIMOM settings, DCOM, COM servers, RPC, remote UAC, firewall.

Reads only the keys the checks need (targeted reads keep a pure-Python hive reader fast). A section is
marked collected when some artifact holds the part of the registry it comes from; a value missing
there is left as None, meaning "absent on the host, the Windows default applies".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wmidoctor.artifacts.registry import security
from wmidoctor.artifacts.registry.firewall import parse_rule
from wmidoctor.artifacts.registry.model import RegKey
from wmidoctor.artifacts.registry.view import Registry
from wmidoctor.evidence import Evidence, Section, Setting
from wmidoctor.evidence.model import AutorecoverMof, ComServer, FirewallRule, Service
from wmidoctor.evidence.security import SecurityDescriptor
from wmidoctor.knowledge.defaults import OLE_KEY, RPC_KEY, WMI_APPID_KEY, names_wmi_fixed_port
from wmidoctor.knowledge.rights import COM

SERVICES_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services"
WMI_SERVICES = ("Winmgmt", "RpcSs", "DcomLaunch", "RpcEptMapper")
CIMOM_KEY = "HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM"
CIMOM_LOGGING_VALUES = ("Logging", "Logging Directory", "Log File Max Size")
CIMOM_BEHAVIOUR_VALUES = (
    "AutoRestoreEnabled",
    "AllowAnonymousCallback",
    "UnsecAppAccessControlDefault",
    "ArbTaskMaxIdle",
)
OLE_APPCOMPAT_KEY = OLE_KEY + "\\AppCompat"
HARDENING_VALUES = (
    "RequireIntegrityActivationAuthenticationLevel",
    "RaiseActivationAuthenticationLevel",
    "DisableAuthenticationLevelHardeningLog",
)
CLSID_KEY = "HKLM\\SOFTWARE\\Classes\\CLSID"
# 32-bit COM servers on 64-bit Windows are registered in the redirected view of the class table.
WOW_CLSID_KEY = "HKLM\\SOFTWARE\\Classes\\WOW6432Node\\CLSID"
UAC_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"
RPC_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc"
RPC_INTERNET_KEY = RPC_KEY + "\\Internet"
FIREWALL_KEY = SERVICES_KEY + "\\SharedAccess\\Parameters\\FirewallPolicy"
FIREWALL_GPO_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall"
# profile -> key name under the local policy and under the group-policy key
FIREWALL_PROFILES = {
    "domain": ("DomainProfile", "DomainProfile"),
    "private": ("StandardProfile", "PrivateProfile"),
    "public": ("PublicProfile", "PublicProfile"),
}

# Rule groups (EmbedCtxt) that admit remote WMI, and the display names of their rules (en-US).
WMI_RULE_GROUPS = {
    "@firewallapi.dll,-34251": "Windows Management Instrumentation (WMI)",
    "@firewallapi.dll,-29752": "Remote Administration",
}
RULE_NAMES = {
    "@firewallapi.dll,-34252": "Windows Management Instrumentation (DCOM-In)",
    "@firewallapi.dll,-34254": "Windows Management Instrumentation (WMI-In)",
    "@firewallapi.dll,-34256": "Windows Management Instrumentation (ASync-In)",
    "@firewallapi.dll,-34258": "Windows Management Instrumentation (WMI-Out)",
    "@firewallapi.dll,-29753": "Remote Administration (RPC)",
    "@firewallapi.dll,-29757": "Remote Administration (NP-In)",
    "@firewallapi.dll,-29765": "Remote Administration (RPC-EPMAP)",
}
WMI_SERVICE_NAMES = {"winmgmt", "rpcss"}

START_TYPES = {0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled"}
SERVICE_TYPES = {0x1: "kernel-driver", 0x2: "file-system-driver", 0x10: "own-process", 0x20: "share-process"}
SVCHOST_GROUP = re.compile(r"svchost(?:\.exe)?\"?\s.*?-k\s+\"?([^\s\"]+)", re.I)


def locator(path: str, name: str | None = None) -> str:
    return f"registry:{path}" + (f"!{name}" if name is not None else "")


def _plain(data: object) -> int | str | list[str] | None:
    """Setting values are int, str or list of str; binary data is shown in hex."""
    if data is None or isinstance(data, (int, str, list)):
        return data
    return bytes(data).hex() if isinstance(data, (bytes, bytearray, memoryview)) else str(data)


def _setting(key: RegKey | None, name: str) -> Setting | None:
    if key is None or key.value(name) is None:
        return None
    return Setting(_plain(key.data(name)), locator(key.path, name))


class RegistryEvidence:
    """Reads one Registry into the sections of one Evidence."""

    def __init__(self, registry: Registry, evidence: Evidence) -> None:
        self.registry = registry
        self.evidence = evidence

    def _collect(self, section: Section, path: str, key: RegKey | None, partial: str | None = None) -> bool:
        """Mark `section` as fed by the artifact holding `path`; False when no artifact holds it."""
        if not self.registry.covers(path):
            return False
        section.mark_collected(f"registry:{key.source}" if key else f"registry:{path}", partial)
        return True

    def fill(self, clsids: Iterable[str] = ()) -> Evidence:
        self.services()
        self.cimom()
        self.dcom()
        self.com_servers(clsids)
        self.remote_uac()
        self.rpc_policy()
        self.firewall()
        problems = self.registry.all_problems()
        for section in self.evidence.sections().values():
            if any(src.startswith("registry:") for src in section.sources):
                section.problems.extend(p for p in problems if p not in section.problems)
        return self.evidence

    # --- services --------------------------------------------------------------------------------

    def services(self) -> None:
        section = self.evidence.services
        root = self.registry.key(SERVICES_KEY)
        # A hive holds the whole Services tree; the collector's export only the WMI services and the services
        # depending on Winmgmt, and vouches for those alone.
        # The section's source is the file holding Winmgmt's key: the Services key itself is only a parent that the
        # first file loaded (perhaps the firewall policy, under Services\SharedAccess) brought in.
        winmgmt = self.registry.key(f"{SERVICES_KEY}\\Winmgmt")
        if not self._collect(section, SERVICES_KEY, winmgmt or root) and not any(
            self._collect(section, f"{SERVICES_KEY}\\{name}", self.registry.key(f"{SERVICES_KEY}\\{name}"))
            for name in WMI_SERVICES
        ):
            return
        for name in WMI_SERVICES:
            key = self.registry.key(f"{SERVICES_KEY}\\{name}")
            if key is not None:
                section.services[key.path.rsplit("\\", 1)[-1]] = service_from_key(key)
        section.winmgmt_dependents = self.dependents_of("Winmgmt", root.subkeys if root else [])

    def dependents_of(self, service: str, names: list[str]) -> list[str]:
        wanted, found = service.lower(), []
        for name in names:
            key = self.registry.key(f"{SERVICES_KEY}\\{name}")
            depends = key.data("DependOnService") if key is not None else None
            if isinstance(depends, str):
                depends = [depends]
            if isinstance(depends, list) and any(d.lower() == wanted for d in depends):
                found.append(name)
        return found

    # --- CIMOM -----------------------------------------------------------------------------------

    def cimom(self) -> None:
        section = self.evidence.repository
        key = self.registry.key(CIMOM_KEY)
        partial = "registry settings only (repository files not read)" if not section.collected else None
        if not self._collect(section, CIMOM_KEY, key, partial):
            return
        section.directory = _setting(key, "Repository Directory")
        mofs = key.data("Autorecover MOFs") if key else None
        if isinstance(mofs, list):
            where = locator(CIMOM_KEY, "Autorecover MOFs")
            section.autorecover_mofs = [AutorecoverMof(path=m, source=where) for m in mofs]
            section.autorecover_source = where
        for names, found in ((CIMOM_LOGGING_VALUES, section.logging), (CIMOM_BEHAVIOUR_VALUES, section.cimom)):
            for name in names:
                setting = _setting(key, name)
                if setting is not None:
                    found[name] = setting

    # --- DCOM ------------------------------------------------------------------------------------

    def _sd(self, key: RegKey | None, name: str, problems: list[str]) -> SecurityDescriptor | None:
        data = key.data(name) if key is not None else None
        if data is None:
            return None
        if not isinstance(data, (bytes, str)):
            problems.append(
                f"{locator(key.path, name)}: expected a binary security descriptor, "  # type: ignore[union-attr]
                f"found {type(data).__name__}"
            )
            return None
        return security.decode(data, COM, locator(key.path, name), problems)  # type: ignore[union-attr]

    def dcom(self) -> None:
        section = self.evidence.dcom
        ole = self.registry.key(OLE_KEY)
        partial = None if self.registry.covers(WMI_APPID_KEY) else "the WMI AppID key was not collected"
        if not self._collect(section, OLE_KEY, ole, partial):
            return
        problems = section.problems
        section.enable_dcom = _setting(ole, "EnableDCOM")
        section.machine_launch_restriction = self._sd(ole, "MachineLaunchRestriction", problems)
        section.machine_access_restriction = self._sd(ole, "MachineAccessRestriction", problems)
        section.default_launch_permission = self._sd(ole, "DefaultLaunchPermission", problems)
        section.default_access_permission = self._sd(ole, "DefaultAccessPermission", problems)
        section.legacy_authentication_level = _setting(ole, "LegacyAuthenticationLevel")
        section.legacy_impersonation_level = _setting(ole, "LegacyImpersonationLevel")
        section.scm_remote_call_flags = _setting(ole, "DCOMSCMRemoteCallFlags")
        appcompat = self.registry.key(OLE_APPCOMPAT_KEY)
        for name in HARDENING_VALUES:
            setting = _setting(appcompat, name)
            if setting is not None:
                section.hardening[name] = setting
        appid = self.registry.key(WMI_APPID_KEY)
        if appid is not None:
            section.mark_collected(f"registry:{appid.source}", partial)
        if partial is None:  # the AppID key was read (absent is then known); checks tell the two apart by this
            section.mark_collected(locator(WMI_APPID_KEY))
        section.wmi_appid_launch_permission = self._sd(appid, "LaunchPermission", problems)
        section.wmi_appid_access_permission = self._sd(appid, "AccessPermission", problems)
        section.wmi_appid_authentication_level = _setting(appid, "AuthenticationLevel")
        section.wmi_appid_endpoints = _setting(appid, "Endpoints")

    # --- COM servers of providers ----------------------------------------------------------------

    def com_servers(self, clsids: Iterable[str]) -> None:
        section = self.evidence.providers
        wanted = {normalise_clsid(c) for c in clsids}
        wanted |= {normalise_clsid(p.clsid) for p in section.providers if p.clsid}
        wanted.discard("")
        if not wanted or not self.registry.covers(CLSID_KEY):
            return
        if self.registry.key(CLSID_KEY) is None and not any(self.registry.key(f"{CLSID_KEY}\\{c}") for c in wanted):
            # A hive with no COM class table at all (a partial or mislabelled SOFTWARE) says nothing about
            # the providers: reading it as "no provider is registered" would accuse every one of them.
            return
        for clsid in sorted(wanted):
            path = f"{CLSID_KEY}\\{clsid}"
            key = self.registry.key(path)
            if key is None and self.registry.key(f"{WOW_CLSID_KEY}\\{clsid}") is not None:
                path = f"{WOW_CLSID_KEY}\\{clsid}"  # a 32-bit provider: registered, in the 32-bit view
                key = self.registry.key(path)
            inproc = self.registry.key(path + "\\InprocServer32") if key else None
            local = self.registry.key(path + "\\LocalServer32") if key else None
            section.com_servers[clsid] = ComServer(
                clsid=clsid,
                registered=key is not None,
                inproc_server=_plain(inproc.data("")) if inproc else None,  # type: ignore[arg-type]
                local_server=_plain(local.data("")) if local else None,  # type: ignore[arg-type]
                threading_model=_plain(inproc.data("ThreadingModel")) if inproc else None,  # type: ignore[arg-type]
                source=locator(path),
            )
            self._collect(section, CLSID_KEY, key, None if section.collected else "COM registrations only")

    # --- remote UAC and RPC policy ---------------------------------------------------------------

    def remote_uac(self) -> None:
        section = self.evidence.remote_uac
        key = self.registry.key(UAC_KEY)
        if not self._collect(section, UAC_KEY, key):
            return
        section.local_account_token_filter_policy = _setting(key, "LocalAccountTokenFilterPolicy")
        section.enable_lua = _setting(key, "EnableLUA")
        section.filter_administrator_token = _setting(key, "FilterAdministratorToken")

    def rpc_policy(self) -> None:
        section = self.evidence.rpc_policy
        policy = self.registry.key(RPC_POLICY_KEY)
        internet = self.registry.key(RPC_INTERNET_KEY)
        held_policy = self._collect(section, RPC_POLICY_KEY, policy)
        held_internet = self._collect(section, RPC_INTERNET_KEY, internet)
        rpc = self.registry.key(RPC_KEY)
        if self._collect(section, RPC_KEY, rpc):
            section.dcom_protocols = _setting(rpc, "DCOM Protocols")
        if held_policy:
            section.mark_collected(locator(RPC_POLICY_KEY))  # the policy key was read (absent is then known)
            section.restrict_remote_clients = _setting(policy, "RestrictRemoteClients")
            section.enable_auth_ep_resolution = _setting(policy, "EnableAuthEpResolution")
        if held_internet:
            section.ports = _setting(internet, "Ports")
            section.ports_internet_available = _setting(internet, "PortsInternetAvailable")
            section.use_internet_ports = _setting(internet, "UseInternetPorts")

    # --- firewall --------------------------------------------------------------------------------

    def firewall(self) -> None:
        section = self.evidence.firewall
        policy = self.registry.key(FIREWALL_KEY)
        if not self._collect(section, FIREWALL_KEY, policy):
            return
        if self.registry.covers(FIREWALL_GPO_KEY):  # the Group Policy rules were read (absent is then known)
            section.mark_collected(locator(FIREWALL_GPO_KEY))
        for profile, (local_name, gpo_name) in FIREWALL_PROFILES.items():
            setting = _setting(self.registry.key(f"{FIREWALL_GPO_KEY}\\{gpo_name}"), "EnableFirewall") or _setting(
                self.registry.key(f"{FIREWALL_KEY}\\{local_name}"), "EnableFirewall"
            )
            if setting is not None:
                section.profiles[profile] = setting
        for rules_path in (f"{FIREWALL_KEY}\\FirewallRules", f"{FIREWALL_GPO_KEY}\\FirewallRules"):
            rules = self.registry.key(rules_path)
            for value in rules.values if rules else []:
                if not isinstance(value.data, str):
                    continue
                try:
                    rule = firewall_rule(value.name, value.data, locator(rules_path, value.name))
                except ValueError as exc:
                    section.problems.append(f"{locator(rules_path, value.name)}: {exc}")
                    continue
                if rule is not None:
                    section.rules.append(rule)


def normalise_clsid(clsid: str) -> str:
    text = clsid.strip().strip("{}").upper()
    return f"{{{text}}}" if text else ""


def service_from_key(key: RegKey) -> Service:
    start = key.data("Start")
    start_type = START_TYPES.get(start) if isinstance(start, int) else None
    if start_type == "auto" and key.data("DelayedAutostart") == 1:
        start_type = "delayed-auto"
    kind = key.data("Type")
    service_type = None
    if isinstance(kind, int):
        service_type = SERVICE_TYPES.get(kind & 0x3F, f"0x{kind:x}")
    image = key.data("ImagePath")
    depends = key.data("DependOnService")
    group = SVCHOST_GROUP.search(image) if isinstance(image, str) else None
    display = key.data("DisplayName")
    return Service(
        name=key.path.rsplit("\\", 1)[-1],
        display_name=display if isinstance(display, str) else "",
        start_type=start_type,
        service_type=service_type,
        image_path=image if isinstance(image, str) else None,
        object_name=_plain(key.data("ObjectName")),  # type: ignore[arg-type]
        depends_on=depends if isinstance(depends, list) else [depends] if isinstance(depends, str) else [],
        svchost_group=group.group(1) if group else None,
        source=locator(key.path),
    )


def firewall_rule(rule_id: str, text: str, source: str) -> FirewallRule | None:
    """The rule as evidence when it admits remote WMI: a rule of the WMI or Remote Administration group,
    or a rule outside any group for winmgmt, rpcss, unsecapp.exe or WMI's standalone port; None for others."""
    rule = parse_rule(text)
    group_ref = rule.first("EmbedCtxt")
    group = WMI_RULE_GROUPS.get(group_ref.lower(), "")
    service = rule.first("Svc")
    program = rule.first("App")
    custom_wmi_rule = not group_ref and (
        service.lower() in WMI_SERVICE_NAMES
        or program.lower().endswith("\\unsecapp.exe")
        or names_wmi_fixed_port(",".join(rule.fields.get("LPort", [])))
    )
    if not group and not custom_wmi_rule:
        return None
    name_ref = rule.first("Name", rule_id)
    return FirewallRule(
        name=RULE_NAMES.get(name_ref.lower(), name_ref),
        group=group or group_ref,
        enabled=rule.active,
        direction=rule.direction,
        action=rule.action,
        profiles=rule.profiles,
        protocol=rule.protocol,
        local_ports=",".join(rule.fields.get("LPort", [])),
        program=program,
        service=service,
        source=source,
    )


def fill_evidence(registry: Registry, evidence: Evidence | None = None, clsids: Iterable[str] = ()) -> Evidence:
    """Fill (a new or the given) Evidence from `registry`; `clsids` adds COM servers to look up beyond the
    providers the evidence already lists."""
    return RegistryEvidence(registry, evidence or Evidence()).fill(clsids)
