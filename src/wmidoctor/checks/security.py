"""Security: WMI event subscriptions used for persistence (ATT&CK T1546.003), judged chain by chain.

Runs on whatever evidence exists: the repository (or the live subscription query), WMI-Activity 5859/5861,
Sysmon 19/20/21 and process creation (Sysmon 1, Security 4688). A malicious-looking chain is an error, a
suspicious one a warning, an allow-listed or unremarkable one info. The finding names the evidence read.
"""

from __future__ import annotations

from wmidoctor.checks.fixes import advice
from wmidoctor.checks.security_chains import JudgedChain, judge_chains
from wmidoctor.checks.security_indicators import summary
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import EvidenceRef, Finding, Fix
from wmidoctor.knowledge.persistence import MALICIOUS, SUSPICIOUS

ATTACK_URL = "https://attack.mitre.org/techniques/T1546/003/"
EXPORT_FOLDER = "$env:SystemDrive\\WmiDoctor-evidence"
# (label, channel/provider/id keys in the per-log counts) of the event evidence the security checks read
EVENT_EVIDENCE = (
    ("WMI-Activity 5861/5859", ("Microsoft-Windows-WMI-Activity/5861", "Microsoft-Windows-WMI-Activity/5859")),
    ("Sysmon 19/20/21", ("Microsoft-Windows-Sysmon/19", "Microsoft-Windows-Sysmon/20", "Microsoft-Windows-Sysmon/21")),
    (
        "process creation (Sysmon 1, Security 4688)",
        ("Microsoft-Windows-Sysmon/1", "Microsoft-Windows-Security-Auditing/4688"),
    ),
    ("network logons (Security 4624)", ("Microsoft-Windows-Security-Auditing/4624",)),
)


def evidence_read(ev: Evidence) -> str:
    """Which kinds of evidence the security checks could use, in words (with record counts for the logs)."""
    parts = []
    subs = ev.subscriptions
    if subs.collected:
        parts.append("event subscriptions from " + ", ".join(subs.sources))
    else:
        parts.append(f"no repository or subscription query ({subs.reason})")
    if ev.events.collected:
        counts: dict[str, int] = {}
        for log in ev.events.logs:
            for key, n in log.counts.items():
                channel_provider_id = key.split("/")
                short = f"{channel_provider_id[-2]}/{channel_provider_id[-1]}" if len(channel_provider_id) >= 2 else key
                counts[short] = counts.get(short, 0) + n
        for label, keys in EVENT_EVIDENCE:
            n = sum(counts.get(k, 0) for k in keys)
            parts.append(f"{label}: {n} records" if n else f"{label}: none in the logs read")
    else:
        parts.append("no event logs")
    return "; ".join(parts)


def summary_locator(ev: Evidence) -> str:
    """Where the evidence summary comes from: the bundle or volume read."""
    return f"{ev.collection.kind or 'evidence'}:{ev.collection.path or 'this evidence'}"


def _quote(text: str) -> str:
    """A value for a WQL single-quoted literal inside a PowerShell double-quoted string."""
    wql = text.replace("\\", "\\\\").replace("'", "\\'")
    return wql.replace("`", "``").replace('"', '`"').replace("$", "`$")


def _file_stem(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "consumer"


def chain_fixes(judged: JudgedChain) -> list[Fix]:
    """Save every part of the chain to files, then remove binding, consumer, filter (and timer); the undo
    recreates them from the files."""
    c = judged.chain
    ns = c.namespace or "root\\subscription"
    cls = c.consumer_class or "__EventConsumer"
    stem = _file_stem(c.consumer_name)
    get = f"Get-CimInstance -Namespace '{ns}' -ClassName"
    get_filter = f"{get} __EventFilter -Filter \"Name='{_quote(c.filter_name)}'\""
    get_consumer = f"{get} {cls} -Filter \"Name='{_quote(c.consumer_name)}'\""
    get_binding = (
        f"Get-CimInstance -Namespace '{ns}' -ClassName __FilterToConsumerBinding | Where-Object "
        f"{{ $_.Consumer.Name -eq '{c.consumer_name.replace(chr(39), chr(39) * 2)}' }}"
    )
    timers = [t.split()[:2] for t in c.timers if len(t.split()) >= 2]
    get_timers = [
        f"Get-CimInstance -Namespace '{ns}' -ClassName {tc} -Filter \"TimerId='{_quote(tid)}'\"" for tc, tid in timers
    ]
    parts = [(get_binding, "binding"), (get_consumer, "consumer")]
    if c.filter_name:
        parts.append((get_filter, "filter"))
    parts += [(t, f"timer{i}") for i, t in enumerate(get_timers, 1)]
    saved = "; ".join(f'{get} | Export-Clixml "$d\\{stem}-{what}.xml"' for get, what in parts)
    export = Fix(
        step=f"Save every part of the subscription {c.label} in {ns} ({', '.join(w for _, w in parts)}) "
        f"to {EXPORT_FOLDER} before removing anything: evidence for the investigation, and what the "
        "undo of the next step restores",
        command=f'$d = "{EXPORT_FOLDER}"; New-Item -ItemType Directory -Force $d | Out-Null; {saved}',
        risk="none",
        undo="nothing to undo (only files were written)",
    )
    removed = "; ".join(f"{get} | Remove-CimInstance" for get, _ in parts)
    restore_one = (
        "$restore = { param($file, $class) $o = Import-Clixml $file; $p = @{}; "
        "$o.PSObject.Properties | Where-Object { $_.Name -notmatch '^(PS|Cim)' -and "
        "$_.Name -ne 'CreatorSID' -and $null -ne $_.Value } | ForEach-Object { $p[$_.Name] = $_.Value }; "
        f"New-CimInstance -Namespace '{ns}' -ClassName $class -Property $p }}"
    )
    restores = [f'& $restore "$d\\{stem}-consumer.xml" {cls}']
    if c.filter_name:
        restores.append(f'& $restore "$d\\{stem}-filter.xml" __EventFilter')
    restores += [f'& $restore "$d\\{stem}-timer{i}.xml" {tc}' for i, (tc, _) in enumerate(timers, 1)]
    if c.filter_name:
        restores.append(
            f"New-CimInstance -Namespace '{ns}' -ClassName __FilterToConsumerBinding -Property "
            f"@{{Filter = ({get_filter}); Consumer = ({get_consumer})}}"
        )
    remove = Fix(
        step=f"Remove the subscription {c.label}: the binding first (it stops firing), then the consumer"
        + (", the filter" if c.filter_name else "")
        + (" and its timer" if timers else ""),
        command=f"{removed}",
        risk="low",
        undo=f'$d = "{EXPORT_FOLDER}"; {restore_one}; ' + "; ".join(restores),
    )
    return [export, remove]


def _chain_refs(judged: JudgedChain) -> list[EvidenceRef]:
    c = judged.chain
    why = "; ".join(r.reason for r in judged.assessment.matched)
    if judged.assessment.allowed:
        why = f"allow-listed: {judged.assessment.allowed.product} ({judged.assessment.allowed.reason})"
    labels = [f"score {judged.assessment.score}", *judged.assessment.techniques]
    head = f"{judged.verdict.upper()} ({', '.join(labels)}): {judged.headline()}" + (f"; why: {why}" if why else "")
    if judged.indicators:
        head += f"; indicators: {summary(judged.indicators)}"
    if c.timers:
        head += f"; timers: {', '.join(c.timers)}"
    refs = [ref(c.sightings[0].source if c.sightings else "", head)]
    if judged.payload:
        refs.append(
            ref(
                c.sightings[0].source if c.sightings else "",
                f'payload of "{c.consumer_name}" in full: {judged.payload}',
            )
        )
    for decoded in judged.indicators.get("decoded", []):
        refs.append(ref(c.sightings[0].source if c.sightings else "", f"decoded: {decoded}"))
    for s in sorted(c.sightings, key=lambda s: s.time):
        by = f" by {s.user}" if s.user else ""
        refs.append(
            ref(
                s.source,
                f"{s.what}: {s.kind} {s.operation}"
                + (f" at {s.time}" if s.time else "")
                + by
                + (f" on {s.host}" if s.host else ""),
            )
        )
    for r in c.runs:
        refs.append(
            ref(
                r.source,
                f"{r.what}: the consumer ran: {r.parent_image} started {r.image} "
                f"`{r.command_line}` as {r.user or '?'} at {r.time}",
            )
        )
    return refs


def subscriptions(ev: Evidence, v: Verdict) -> Finding:
    read = evidence_read(ev)
    judged = judge_chains(ev)
    if not judged:
        return v.ok(f"No permanent event subscription in the evidence read ({read}).")
    evidence = [ref(summary_locator(ev), f"evidence read: {read}")]
    for j in judged:
        evidence += _chain_refs(j)
    items = [j.item() for j in judged]
    alarming = [j for j in judged if j.verdict in (MALICIOUS, SUSPICIOUS)]
    fixes: list[Fix] = []
    for j in alarming:
        if j.chain.state == "removed":
            fixes.append(
                advice(
                    f"The subscription {j.chain.label} was removed again (logged); find out what it "
                    "ran and from which account it was created: the removal does not undo its effects"
                )
            )
        else:
            fixes += chain_fixes(j)
    causes = [
        "persistence, privilege escalation or anti-analysis planted through WMI (MITRE ATT&CK T1546.003)",
        "a management product that reacts to events with scripts or commands (check the allow-list and the creator)",
    ]
    refs = [ATTACK_URL]
    malicious = [j for j in judged if j.verdict == MALICIOUS]
    names = ", ".join(f'"{j.chain.consumer_name}"' for j in alarming)
    if malicious:
        return v.fail(
            f"{len(malicious)} of {len(judged)} subscriptions look malicious ({names}): a consumer runs "
            "script or commands with attacker traits. Treat it as an incident: save every part, then "
            "remove it.",
            evidence,
            severity="error",
            causes=causes,
            fixes=[
                advice(
                    "Treat the host as compromised: find how the creator account was used, and "
                    "look for the same subscription on other hosts"
                ),
                *fixes,
            ],
            references=refs,
            items=items,
        )
    if alarming:
        return v.warn(
            f"{len(alarming)} of {len(judged)} subscriptions run script or commands ({names}) and are not "
            "on the allow-list: review each one.",
            evidence,
            causes=list(reversed(causes)),
            fixes=[
                advice("Identify the owner of each consumer (creator, product, install date) before removing anything"),
                *fixes,
            ],
            references=refs,
            items=items,
        )
    return v.info(f"{len(judged)} subscriptions, none suspicious ({read}).", evidence, references=refs, items=items)


register_check(
    subscriptions,
    "security.subscriptions",
    "No WMI event subscription looks like persistence",
    severity="error",
    needs=(),
    needs_any=("subscriptions", "wmi_traces"),
)
