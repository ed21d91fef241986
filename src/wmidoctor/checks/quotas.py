"""Provider host quotas: __ProviderHostQuotaConfiguration vs defaults, and WmiPrvSE processes killed for quota."""

from __future__ import annotations

from collections import Counter

from wmidoctor.checks.events import field, winmgmt_events
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.host import PRE_VISTA, generation
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import PRE_VISTA_QUOTA_DEFAULTS, QUOTA_DEFAULTS, QUOTA_NAMES_IN_5612

_EDIT = (
    "Get-CimInstance -Namespace root -ClassName __ProviderHostQuotaConfiguration | "
    "Set-CimInstance -Property @{{{name}={value}}}"
)


def quota_fix(step: str, name: str, value: int, previous: int) -> Fix:
    """Set one __ProviderHostQuotaConfiguration property to `value`; the undo puts `previous` back."""
    return Fix(
        step=step,
        command=_EDIT.format(name=name, value=value),
        risk="low",
        undo=_EDIT.format(name=name, value=previous),
    )


def _set(name: str, value: int, previous: int, when: str = "") -> Fix:
    return quota_fix(
        f"{when}{'set' if when else 'Set'} {name} to {value}, then restart the WMI service (some builds need a reboot)",
        name,
        value,
        previous,
    )


def configuration(ev: Evidence, v: Verdict) -> Finding:
    evidence, lowered, raised, fixes = [], [], [], []
    era, how = generation(ev)
    defaults = PRE_VISTA_QUOTA_DEFAULTS if era == PRE_VISTA else QUOTA_DEFAULTS
    for attribute, (name, default) in defaults.items():
        setting = getattr(ev.quotas, attribute)
        if setting is None or not isinstance(setting.value, int):
            continue
        evidence.append(ref(setting.source, f"{name}={setting.value} (default {default})"))
        if setting.value < default:
            lowered.append(f"{name} {setting.value} < {default}")
            fixes.append(_set(name, default, setting.value))
        elif setting.value > default:
            raised.append(f"{name} {setting.value} > {default}")
    if not evidence:
        return v.skip("__ProviderHostQuotaConfiguration was not read")
    if era == PRE_VISTA:
        evidence.append(ref(evidence[0].source, f"judged against the Windows XP / Server 2003 defaults ({how})"))
    if lowered:
        return v.warn(
            f"Quotas below the defaults: {'; '.join(lowered)}. Provider hosts are killed sooner "
            "(event 5612) and queries fail with 0x80041006 or 0x8004106C.",
            evidence,
            causes=["someone lowered the limits, or a management product set its own values"],
            fixes=fixes,
            codes=["0x80041006", "0x8004106C"],
        )
    if raised:
        return v.info(
            f"Quotas raised above the defaults ({'; '.join(raised)}): fine when no provider leaks; a leak "
            "now only takes longer to hit the limit.",
            evidence,
        )
    per_host = defaults["memory_per_host"][1] // (1024 * 1024)
    return v.ok(
        f"Provider host quotas are the defaults (256 threads, 4096 handles, {per_host} MB per host, 1 GB for "
        "all hosts, 32 hosts).",
        evidence,
    )


register_check(
    configuration,
    "quotas.configuration",
    "Provider host quotas are at least the defaults",
    severity="warning",
    needs=("quotas",),
)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def host_kills(ev: Evidence, v: Verdict) -> Finding:
    kills = winmgmt_events(ev, 5612)
    if not kills:
        return v.ok("No provider host was stopped for a quota (no event 5612).")
    hosts = {h.pid: h for h in ev.provider_hosts.hosts} if ev.provider_hosts.collected else {}
    evidence, fixes = [], []
    kills_by_quota: Counter[str] = Counter()
    for group in kills:
        quota = field(group, "Quota", "param1")
        value, maximum = field(group, "Value", "param2"), field(group, "Maximum", "param3")
        pid = field(group, "ProcessId", "param4")
        providers = field(group, "Providers", "param5")
        if not providers and pid.isdigit() and int(pid) in hosts:
            providers = ", ".join(hosts[int(pid)].providers)
        kills_by_quota[QUOTA_NAMES_IN_5612.get(quota, quota)] += group.count
        evidence.append(
            ref(
                group.source,
                f"x{group.count} ({group.last_seen}): {quota} reached {value} "
                f"(max {maximum}) in WmiPrvSE PID {pid or '?'}; providers: "
                f"{providers or 'not recorded (match the PID with WMI-Activity 5857)'}",
            )
        )
    total = sum(kills_by_quota.values())
    # the quota behind most kills (not most event groups); a tie goes to the first name, the same in every run
    top = min(kills_by_quota, key=lambda name: (-kills_by_quota[name], name))
    current = next((getattr(ev.quotas, attr) for attr, (name, _) in QUOTA_DEFAULTS.items() if name == top), None)
    default = next((d for name, d in QUOTA_DEFAULTS.values() if name == top), None)
    if default is not None:
        now = current.value if current is not None and isinstance(current.value, int) else default
        fixes.append(
            _set(
                top,
                now * 2,
                now,
                when="Only if the provider does not leak (its usage levels off instead of climbing): ",
            )
        )
    return v.fail(
        f"WMI stopped provider hosts {_times(total)} for exceeding "
        + (top if len(kills_by_quota) == 1 else f"their quotas, {top} most often ({_times(kills_by_quota[top])})")
        + ": every query served by those hosts failed at that moment.",
        evidence,
        causes=[
            "a client running huge or too frequent queries against one provider",
            "a provider leaking memory or handles (a climbing trend between kills)",
            "third-party software hooking WmiPrvSE, or simply the scale of the host",
        ],
        fixes=[
            advice(
                "Find the provider and the client: match the PID with WMI-Activity 5857 "
                "(ProviderName) and 5858 (ClientProcessId) around the kill time",
                command="wmidoctor logs <bundle or log folder>",
            ),
            advice(
                "Fix or throttle the client's queries (narrow WHERE clauses, fewer properties, "
                "longer polling intervals)"
            ),
            *fixes,
        ],
        codes=["0x80041006", "0x8004106C", "0x800706BE"],
    )


register_check(
    host_kills,
    "quotas.host-kills",
    "No WMI provider host was stopped for exceeding a quota (event 5612)",
    severity="error",
    needs=("events",),
)
