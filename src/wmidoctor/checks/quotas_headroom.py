"""Running provider hosts measured against the quotas: a WmiPrvSE close to a limit is about to be killed (5612)."""

from __future__ import annotations

from wmidoctor.checks.fixes import advice
from wmidoctor.checks.quotas import quota_fix
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import HOST_HEADROOM_WARN, QUOTA_DEFAULTS

_MB = 1024 * 1024
# host figure -> quota attribute limiting it
_PER_HOST = (("private_bytes", "memory_per_host"), ("handles", "handles_per_host"), ("threads", "threads_per_host"))


def _limit(ev: Evidence, attribute: str) -> int:
    setting: Setting | None = getattr(ev.quotas, attribute)
    if setting is not None and isinstance(setting.value, int) and setting.value > 0:
        return setting.value
    return QUOTA_DEFAULTS[attribute][1]


def _show(attribute: str, value: int) -> str:
    return f"{value / _MB:.0f} MB" if "memory" in attribute else str(value)


def host_headroom(ev: Evidence, v: Verdict) -> Finding:
    hosts = ev.provider_hosts.hosts
    if not hosts:
        return v.ok("No provider host was running when the evidence was collected.")
    close, evidence, nearest = [], [], ("MemoryPerHost", _limit(ev, "memory_per_host"))
    for host in hosts:
        figures = []
        for figure, attribute in _PER_HOST:
            value = getattr(host, figure)
            if value is None:
                continue
            limit = _limit(ev, attribute)
            figures.append(f"{figure} {_show(attribute, value)} of {_show(attribute, limit)}")
            if value >= limit * HOST_HEADROOM_WARN:
                nearest = (QUOTA_DEFAULTS[attribute][0], limit)
                close.append(f"PID {host.pid} {QUOTA_DEFAULTS[attribute][0]} at {value * 100 // limit}%")
        evidence.append(
            ref(
                host.source,
                f"{host.process_name} PID {host.pid} ({host.hosting_model or '?'}): "
                f"{', '.join(figures) or 'no figures'}; providers "
                f"{', '.join(host.providers[:8]) or '?'}",
            )
        )
    total = sum(h.private_bytes or 0 for h in hosts)
    all_limit = _limit(ev, "memory_all_hosts")
    if total >= all_limit * HOST_HEADROOM_WARN:
        nearest = ("MemoryAllHosts", all_limit)
        close.append(f"all hosts together use {total * 100 // all_limit}% of MemoryAllHosts")
    count_limit = _limit(ev, "process_limit_all_hosts")
    if len(hosts) >= count_limit * HOST_HEADROOM_WARN:
        nearest = ("ProcessLimitAllHosts", count_limit)
        close.append(f"{len(hosts)} hosts of ProcessLimitAllHosts {count_limit}")
    if not close:
        unmeasured = sum(all(getattr(h, figure) is None for figure, _ in _PER_HOST) for h in hosts)
        measured = len(hosts) - unmeasured
        if not measured:
            return v.ok(f"{unmeasured} provider host(s) running, without figures to measure against the quotas.")
        return v.ok(
            f"{measured} provider host{'' if measured == 1 else 's'} measured, all below "
            f"{int(HOST_HEADROOM_WARN * 100)}% of their quotas"
            + (f"; {unmeasured} without figures." if unmeasured else "."),
            evidence,
        )
    return v.warn(
        f"Provider hosts are close to their quotas ({'; '.join(close)}): WMI kills a host that crosses a "
        "limit (event 5612) and every query it serves fails at that moment.",
        evidence,
        causes=[
            "a provider leaking memory or handles (figures that climb between collections)",
            "a client running huge or frequent queries against the providers in that host",
            "more providers than usual loaded at once on a busy host",
        ],
        fixes=_fixes(*nearest),
        codes=["0x80041006", "0x8004106C"],
    )


register_check(
    host_headroom,
    "quotas.host-headroom",
    "Running provider hosts stay clear of their quotas",
    severity="warning",
    needs=("provider_hosts",),
)


def _fixes(quota: str, current: int) -> list[Fix]:
    return [
        advice(
            "Collect again in a few minutes: a figure that keeps climbing is a leak in one of the providers "
            "listed for that host",
            command="wmidoctor collect",
        ),
        advice(
            "Find the clients driving that host (WMI-Activity 5858 ClientProcessId, or a trace) and narrow "
            "their queries",
            command="wmidoctor logs <bundle or log folder>",
        ),
        quota_fix(
            f"Only when nothing leaks: raise {quota} (quotas apply to every host; restart the WMI service afterwards)",
            quota,
            current * 2,
            current,
        ),
    ]
