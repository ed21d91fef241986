"""The Evidence model: one picture of a host, however it was gathered.

Every section says whether it was collected (`status`, and `reason` when not or only in part), which
artifacts fed it (`sources`) and what damage was met reading them (`problems`). Each fact carries its
provenance in a `source` locator such as `registry:HKLM\\SOFTWARE\\Microsoft\\Ole!EnableDCOM` or
`evtx:Microsoft-Windows-WMI-Activity%4Operational.evtx#record 812`.

"Not collected" is not "fine": a check whose section is not collected reports `skipped` with the
reason; inside a collected section, a value of None means the setting is absent on the host (so
the Windows default applies), which is different again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Final

from wmidoctor.evidence.chains import NetworkLogon, ProcessStart, ProviderLoad, SubscriptionSighting
from wmidoctor.evidence.codec import from_data, to_data
from wmidoctor.evidence.processes import ProcessLife
from wmidoctor.evidence.security import SecurityDescriptor
from wmidoctor.vocabulary import ArtifactState, SectionStatus, StageStatus

SCHEMA = "wmidoctor.evidence/1"

COLLECTED: Final = "collected"
PARTIAL: Final = "partial"
NOT_COLLECTED: Final = "not_collected"


@dataclass
class Setting:
    """A configuration value as found (DWORD as int, REG_SZ as str, REG_MULTI_SZ as list) and where."""

    value: int | str | list[str] | None
    source: str = ""


@dataclass
class Section:
    status: SectionStatus = NOT_COLLECTED
    reason: str = "not collected"
    sources: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def collected(self) -> bool:
        return self.status != NOT_COLLECTED

    def mark_collected(self, source: str, partial: str | None = None) -> None:
        """Record that `source` fed this section; `partial` says what is missing when only part was read."""
        if source not in self.sources:
            self.sources.append(source)
        if partial:
            self.status, self.reason = PARTIAL, partial
        elif self.status == NOT_COLLECTED:
            self.status, self.reason = COLLECTED, ""


# --- identity and collection -------------------------------------------------------------------


@dataclass
class ArtifactStatus:
    name: str  # the artifact's name in the shared artifact list (e.g. "evtx/System.evtx")
    path: str = ""
    status: ArtifactState = "missing"
    reason: str = ""


@dataclass
class Collection(Section):
    """How the evidence was gathered: bundle path and kind, the collector's manifest, each artifact."""

    path: str = ""
    kind: str = ""  # folder | zip | volume | live
    collector_version: str = ""
    collected_at: str = ""  # ISO 8601 UTC
    personal_data: list[str] = field(default_factory=list)
    artifacts: list[ArtifactStatus] = field(default_factory=list)
    layout: str = ""  # the layout recognised: "Windows volume", "KAPE collection (C)", "flat folder", ...


@dataclass
class Identity(Section):
    host: str = ""
    os_caption: str = ""
    os_version: str = ""  # "10.0.19045"
    os_build: str = ""
    domain: str = ""
    # standalone-workstation | member-workstation | standalone-server | member-server | domain-controller
    domain_role: str = ""
    time_zone: str = ""
    language: str = ""  # UI language of command outputs (parsers note non-English output)
    # client | server (empty: not known). Windows defaults that differ by edition are judged by it.
    edition: str = ""
    edition_source: str = ""  # how the edition is known: "registry:...ProductOptions!ProductType = WinNT"
    edition_id: str = ""  # CurrentVersion!EditionID: "Professional", "ServerStandard", ...
    host_source: str = ""  # where the host name was read (the hive, an event record's Computer field, ...)


# --- services ----------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    display_name: str = ""
    state: str | None = None  # running | stopped | start-pending | ... (None: only configuration known)
    start_type: str | None = None  # boot | system | auto | delayed-auto | manual | disabled
    service_type: str | None = None  # own-process | share-process | kernel-driver | ...
    image_path: str | None = None
    object_name: str | None = None  # the account it runs as
    depends_on: list[str] = field(default_factory=list)
    svchost_group: str | None = None  # "netsvcs" from "svchost.exe -k netsvcs"
    pid: int | None = None
    exit_code: int | None = None
    sddl: str | None = None  # the service's own security descriptor (sc sdshow)
    source: str = ""


@dataclass
class Services(Section):
    services: dict[str, Service] = field(default_factory=dict)  # keyed by service name as Windows spells it
    winmgmt_dependents: list[str] = field(default_factory=list)
    # the svchost running Winmgmt, with its process figures (read without WMI, from the service's PID)
    winmgmt_host: ProviderHost | None = None

    def get(self, name: str) -> Service | None:
        wanted = name.lower()
        return next((s for key, s in self.services.items() if key.lower() == wanted), None)


# --- repository, autorecover -------------------------------------------------------------------


@dataclass
class RepositoryFile:
    name: str  # "OBJECTS.DATA"
    size: int
    modified: str = ""


@dataclass
class RepositoryVerification:
    verdict: str  # consistent | inconsistent | unknown
    method: str  # "winmgmt /verifyrepository" | "offline reader"
    detail: str = ""
    problems: list[str] = field(default_factory=list)
    source: str = ""


@dataclass
class AutorecoverMof:
    path: str
    exists: bool | None = None  # None: the bundle does not say
    source: str = ""
    copy: str = ""  # bundle-relative path of a copy of the file (the collector copies MOFs outside System32\wbem)
    parsed: bool | None = None  # read through the MOF parser: True clean, False syntax errors, None not parsed
    autorecover_pragma: bool | None = None  # the file carries #pragma autorecover (None: not parsed)
    problems: list[str] = field(default_factory=list)  # "line:col message" syntax errors, or why it was not parsed


@dataclass
class Repository(Section):
    directory: Setting | None = None  # HKLM\SOFTWARE\Microsoft\Wbem\CIMOM!Repository Directory
    files: list[RepositoryFile] = field(default_factory=list)
    verifications: list[RepositoryVerification] = field(default_factory=list)
    corrupted_rec: bool | None = None  # a Corrupted.rec marker present in the repository folder
    autorecover_mofs: list[AutorecoverMof] = field(default_factory=list)
    autorecover_source: str = ""  # where the Autorecover MOFs list was read (empty: not read)
    autorecover_reason: str = ""  # why the list was not read, when it was not (e.g. no SOFTWARE hive on a volume)
    logging: dict[str, Setting] = field(default_factory=dict)  # CIMOM Logging, Logging Directory, ...
    cimom: dict[str, Setting] = field(default_factory=dict)  # other CIMOM values set on the host (ArbTaskMaxIdle, ...)


# --- providers and COM -------------------------------------------------------------------------


@dataclass
class Provider:
    namespace: str  # "root\\cimv2"
    name: str
    clsid: str | None = None  # "{D63A5850-8F16-11CF-9F47-00AA00BF345C}" upper case with braces
    hosting_model: str | None = None
    # kinds registered: instance | method | event | event-consumer | property | class
    registrations: list[str] = field(default_factory=list)
    source: str = ""


@dataclass
class ComServer:
    clsid: str
    registered: bool  # the CLSID key exists under HKLM\SOFTWARE\Classes\CLSID
    inproc_server: str | None = None
    local_server: str | None = None
    threading_model: str | None = None
    binary_exists: bool | None = None  # None: the bundle does not say
    source: str = ""


@dataclass
class Providers(Section):
    providers: list[Provider] = field(default_factory=list)
    com_servers: dict[str, ComServer] = field(default_factory=dict)  # keyed by upper-case CLSID with braces


# --- DCOM, namespaces, firewall, UAC, RPC policy -----------------------------------------------


@dataclass
class Dcom(Section):
    enable_dcom: Setting | None = None  # "Y" / "N"
    machine_launch_restriction: SecurityDescriptor | None = None
    machine_access_restriction: SecurityDescriptor | None = None
    default_launch_permission: SecurityDescriptor | None = None
    default_access_permission: SecurityDescriptor | None = None
    legacy_authentication_level: Setting | None = None
    legacy_impersonation_level: Setting | None = None
    hardening: dict[str, Setting] = field(default_factory=dict)  # Ole\AppCompat values by name
    wmi_appid_launch_permission: SecurityDescriptor | None = None
    wmi_appid_access_permission: SecurityDescriptor | None = None
    wmi_appid_authentication_level: Setting | None = None
    wmi_appid_endpoints: Setting | None = None  # AppID!Endpoints ["ncacn_ip_tcp,0,24158"]: /standalonehost
    scm_remote_call_flags: Setting | None = None  # Ole!DCOMSCMRemoteCallFlags (absent by default)


@dataclass
class Namespace:
    name: str  # "root\\cimv2"
    security: SecurityDescriptor | None = None
    requires_encryption: bool | None = None  # the RequiresEncryption namespace qualifier
    source: str = ""


@dataclass
class Namespaces(Section):
    namespaces: list[Namespace] = field(default_factory=list)

    def get(self, name: str) -> Namespace | None:
        wanted = name.lower().replace("/", "\\")
        return next((n for n in self.namespaces if n.name.lower() == wanted), None)


@dataclass
class FirewallRule:
    name: str
    group: str = ""
    enabled: bool = False
    direction: str = "in"  # in | out
    action: str = "allow"  # allow | block
    profiles: list[str] = field(default_factory=list)  # domain | private | public (empty: any)
    protocol: str = ""
    local_ports: str = ""
    program: str = ""
    service: str = ""
    source: str = ""


@dataclass
class Firewall(Section):
    profiles: dict[str, Setting] = field(default_factory=dict)  # domain|private|public -> EnableFirewall
    rules: list[FirewallRule] = field(default_factory=list)


@dataclass
class RemoteUac(Section):
    local_account_token_filter_policy: Setting | None = None
    enable_lua: Setting | None = None
    filter_administrator_token: Setting | None = None


@dataclass
class RpcPolicy(Section):
    restrict_remote_clients: Setting | None = None
    enable_auth_ep_resolution: Setting | None = None
    ports: Setting | None = None  # HKLM\SOFTWARE\Microsoft\Rpc\Internet!Ports
    ports_internet_available: Setting | None = None
    use_internet_ports: Setting | None = None
    dcom_protocols: Setting | None = None  # HKLM\SOFTWARE\Microsoft\Rpc!DCOM Protocols (REG_MULTI_SZ)
    dynamic_port_start: Setting | None = None  # netsh int ipv4 show dynamicport tcp (None: not read)
    dynamic_port_count: Setting | None = None


# --- runtime: quotas, provider hosts, subscriptions --------------------------------------------


@dataclass
class Quotas(Section):
    """__ProviderHostQuotaConfiguration=@ in root (values as the host has them)."""

    memory_per_host: Setting | None = None
    memory_all_hosts: Setting | None = None
    threads_per_host: Setting | None = None
    handles_per_host: Setting | None = None
    process_limit_all_hosts: Setting | None = None


@dataclass
class ProviderHost:
    pid: int
    process_name: str = "WmiPrvSE.exe"
    hosting_model: str = ""
    user: str = ""
    providers: list[str] = field(default_factory=list)  # "root\\cimv2:CIMWin32"
    working_set: int | None = None
    private_bytes: int | None = None
    handles: int | None = None
    threads: int | None = None
    source: str = ""


@dataclass
class ProviderHosts(Section):
    hosts: list[ProviderHost] = field(default_factory=list)


@dataclass
class EventFilter:
    namespace: str
    name: str
    query: str = ""
    query_language: str = "WQL"
    event_namespace: str = ""
    creator_sid: str = ""
    source: str = ""


@dataclass
class EventConsumer:
    namespace: str
    class_name: str  # CommandLineEventConsumer, ActiveScriptEventConsumer, NTEventLogEventConsumer, ...
    name: str
    properties: dict[str, str] = field(default_factory=dict)  # CommandLineTemplate, ScriptText, ...
    creator_sid: str = ""
    source: str = ""


@dataclass
class Binding:
    namespace: str
    filter: str  # object path of the filter: __EventFilter.Name="x"
    consumer: str  # object path of the consumer: CommandLineEventConsumer.Name="y"
    source: str = ""


@dataclass
class Timer:
    namespace: str
    class_name: str  # __IntervalTimerInstruction | __AbsoluteTimerInstruction
    timer_id: str
    interval_ms: int | None = None
    source: str = ""


@dataclass
class Subscriptions(Section):
    filters: list[EventFilter] = field(default_factory=list)
    consumers: list[EventConsumer] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)


@dataclass
class WmiTraces(Section):
    """What the logs saw WMI do, record by record (evidence.chains joins it with the subscriptions): parts of
    subscriptions created, bound or deleted; processes WMI started; the network logons and provider loads
    that explain them."""

    sightings: list[SubscriptionSighting] = field(default_factory=list)
    processes: list[ProcessStart] = field(default_factory=list)
    logons: list[NetworkLogon] = field(default_factory=list)
    provider_loads: list[ProviderLoad] = field(default_factory=list)


# --- events and connectivity -------------------------------------------------------------------


@dataclass
class LogFile:
    path: str
    records_read: int = 0
    records_skipped: int = 0
    chunks_skipped: int = 0
    problems: list[str] = field(default_factory=list)
    first_seen: str = ""
    last_seen: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # "channel/provider/event id" -> records


@dataclass
class EventGroup:
    """Events of one id that share their salient fields (`key`), counted instead of kept one by one."""

    channel: str
    provider: str
    event_id: int
    key: dict[str, str] = field(default_factory=dict)  # e.g. {"ResultCode": "0x80041003", "Operation": ...}
    kind: str = ""  # what the reader calls this event: "client-failure", "provider-started", "quota-kill", ...
    count: int = 0
    first_seen: str = ""
    last_seen: str = ""
    example: dict[str, str] = field(default_factory=dict)  # all fields of one record
    source: str = ""  # locator of the first record


@dataclass
class Events(Section):
    logs: list[LogFile] = field(default_factory=list)
    groups: list[EventGroup] = field(default_factory=list)
    hourly: dict[str, int] = field(default_factory=dict)  # "2024-05-01T13" -> WMI-relevant events
    # processes seen starting or ending (Sysmon 1/5, Security 4688/4689): a client id is named only by these
    processes: list[ProcessLife] = field(default_factory=list)

    def of(self, *event_ids: int, provider: str | None = None) -> list[EventGroup]:
        wanted = set(event_ids)
        return [
            g
            for g in self.groups
            if g.event_id in wanted and (provider is None or provider.lower() in g.provider.lower())
        ]


@dataclass
class Stage:
    name: str
    status: StageStatus
    elapsed_ms: float = 0.0
    code: int | None = None
    detail: str = ""


@dataclass
class Probe:
    target: str
    transport: str  # dcom | wsman
    stages: list[Stage] = field(default_factory=list)
    failing_stage: str | None = None
    code: int | None = None
    source: str = ""


@dataclass
class Connectivity(Section):
    probes: list[Probe] = field(default_factory=list)


# --- WMI-Activity trace (a capture of the Trace channel or an ETL session) --------------------------


@dataclass
class TraceClient:
    """One client process of WMI in a trace, with the WMI time its completed operations took."""

    client: str  # "pid 4242 on HOST"
    user: str = ""
    operations: int = 0
    busy_ms: float = 0.0
    share: float = 0.0  # of all completed operations' time in the trace
    p95_ms: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)  # result code -> operations
    requests: dict[str, int] = field(default_factory=dict)  # "IWbemServices::ExecQuery Win32_Product" -> count


@dataclass
class TraceOperation:
    operation: str  # the start event's request: method, namespace and class or query
    client: str
    namespace: str = ""
    started: str = ""
    seconds: float = 0.0  # duration, or (never finished) how long it had run when the trace ended
    open_by_design: bool = False  # an event query: it stays open until its client cancels it
    source: str = ""


@dataclass
class Trace(Section):
    files: list[str] = field(default_factory=list)
    events: int = 0
    operations: int = 0  # started inside the trace
    completed: int = 0
    span_s: float = 0.0
    busy_s: float = 0.0  # sum of completed operations' durations (overlapping operations add up)
    peak_concurrency: int = 0
    clients: list[TraceClient] = field(default_factory=list)  # most WMI time first
    unfinished_total: int = 0
    unfinished: list[TraceOperation] = field(default_factory=list)  # oldest first
    slowest: list[TraceOperation] = field(default_factory=list)


# --- the whole picture -------------------------------------------------------------------------


@dataclass
class Evidence:
    schema: str = SCHEMA
    collection: Collection = field(default_factory=Collection)
    identity: Identity = field(default_factory=Identity)
    services: Services = field(default_factory=Services)
    repository: Repository = field(default_factory=Repository)
    providers: Providers = field(default_factory=Providers)
    dcom: Dcom = field(default_factory=Dcom)
    namespaces: Namespaces = field(default_factory=Namespaces)
    firewall: Firewall = field(default_factory=Firewall)
    remote_uac: RemoteUac = field(default_factory=RemoteUac)
    rpc_policy: RpcPolicy = field(default_factory=RpcPolicy)
    quotas: Quotas = field(default_factory=Quotas)
    provider_hosts: ProviderHosts = field(default_factory=ProviderHosts)
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    wmi_traces: WmiTraces = field(default_factory=WmiTraces)
    events: Events = field(default_factory=Events)
    connectivity: Connectivity = field(default_factory=Connectivity)
    trace: Trace = field(default_factory=Trace)

    def sections(self) -> dict[str, Section]:
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Section)}

    def summary(self) -> list[dict[str, object]]:
        """What was and was not collected, section by section (for reports)."""
        return [
            {
                "section": name,
                "status": s.status,
                "reason": s.reason,
                "sources": list(s.sources),
                "problems": len(s.problems),
            }
            for name, s in self.sections().items()
        ]

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = to_data(self)
        return data

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_data(), indent=1, ensure_ascii=False)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Evidence:
        if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("wmidoctor.evidence/"):
            raise ValueError("not a wmidoctor evidence document (no 'schema' of wmidoctor.evidence/N)")
        return from_data(cls, data)

    @classmethod
    def from_json(cls, text: str) -> Evidence:
        import json

        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError("nested too deeply") from None
        return cls.from_data(data)
