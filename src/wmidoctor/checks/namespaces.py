"""Namespace security: default ACEs of root and root\\cimv2, who may connect remotely, encryption demands."""

from __future__ import annotations

from collections import Counter

from wmidoctor.checks.acl import compare, describe, namespace_rights
from wmidoctor.checks.events import client_failures, field, operation, operation_namespace, winmgmt_events
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.host import PRE_VISTA, VISTA_OR_LATER, generation
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import (
    ENCRYPTED_BY_DESIGN,
    NAMESPACE_DEFAULT,
    NAMESPACES_WITH_DEFAULT_SECURITY,
    NEVER_GRANT,
    PRE_VISTA_NAMESPACE_DEFAULT,
)
from wmidoctor.knowledge.rights import WBEM_REMOTE_ACCESS

WBEM_E_ACCESS_DENIED = 0x80041003


def backup_namespace_sd(namespace: str) -> Fix:
    file = f"$env:TEMP\\{namespace.replace(chr(92), '-')}-sd.bin"
    return Fix(
        step=f"Save the current security descriptor of {namespace}",
        command=f"$sd = Invoke-WmiMethod -Namespace {namespace} -Path __SystemSecurity=@ -Name GetSD; "
        f'[IO.File]::WriteAllBytes("{file}", [byte[]]$sd.SD)',
        risk="none",
        undo=f"Invoke-WmiMethod -Namespace {namespace} -Path __SystemSecurity=@ -Name SetSD -ArgumentList "
        f'(,[byte[]][IO.File]::ReadAllBytes("{file}"))',
    )


def grant_in_wmi_control(namespace: str, what: str) -> Fix:
    return Fix(
        step=f"WMI Control (wmimgmt.msc) > WMI Control > Properties > Security > {namespace} > Security: "
        f"{what}; under Advanced set 'Applies to' to 'This namespace and subnamespaces'",
        command="wmimgmt.msc",
        risk="low",
        undo="SetSD with the saved descriptor (see the previous step)",
    )


def default_security(ev: Evidence, v: Verdict) -> Finding:
    judged = [
        (n, security)
        for name in NAMESPACES_WITH_DEFAULT_SECURITY
        if (n := ev.namespaces.get(name)) is not None and (security := n.security) is not None
    ]
    if not judged:
        return v.skip("the security descriptors of root and root\\cimv2 were not collected")
    evidence, broken, open_to_all, changed = [], [], [], []
    era, how = generation(ev)
    for ns, security in judged:
        diff = compare(security, NAMESPACE_DEFAULT)
        old = compare(security, PRE_VISTA_NAMESPACE_DEFAULT)
        source = security.source or ns.source
        # Judge by the defaults of the host's Windows generation; not knowing it, by whichever default matches.
        if era == PRE_VISTA or (era != VISTA_OR_LATER and not old.changed and diff.changed):
            diff = old
            evidence.append(
                ref(
                    source,
                    f"{ns.name}: judged against the Windows XP / Server 2003 default "
                    f"({how or 'the generation is not known; this is the default it matches'})",
                )
            )
        evidence += [ref(source, f"{ns.name}: {line}") for line in describe(diff, namespace_rights)]
        if diff.breaks_required:
            broken.append(ns.name)
        if diff.no_dacl or any(
            a.type == "allow" and a.sid in NEVER_GRANT and a.mask & WBEM_REMOTE_ACCESS for a in security.dacl or []
        ):
            open_to_all.append(ns.name)
        if diff.changed:
            changed.append(ns.name)
        remote = [
            f"{a.account or a.sid}" for a in security.dacl or [] if a.type == "allow" and a.mask & WBEM_REMOTE_ACCESS
        ]
        evidence.append(ref(source, f"{ns.name}: Remote Enable granted to {', '.join(remote) or 'nobody'}"))
    if broken:
        target = broken[0]
        return v.fail(
            f"Default namespace entries were removed, reduced or denied in {', '.join(broken)}: "
            "administrators or ordinary users get WBEM_E_ACCESS_DENIED (0x80041003).",
            evidence,
            causes=[
                "an edit in WMI Control that removed or narrowed a default group",
                "a deny entry added to block one account that also matches others",
                "a product installer that rewrote the namespace security",
            ],
            fixes=[
                backup_namespace_sd(target),
                grant_in_wmi_control(
                    target,
                    "give Administrators every right and Authenticated Users, "
                    "LOCAL SERVICE and NETWORK SERVICE Enable Account, Execute "
                    "Methods and Provider Write; remove deny entries you did "
                    "not add on purpose",
                ),
            ],
            codes=["0x80041003"],
        )
    if open_to_all:
        return v.warn(
            f"Remote Enable is granted to Everyone or ANONYMOUS LOGON in {', '.join(open_to_all)}.",
            evidence,
            causes=["a permissive edit made while troubleshooting remote access"],
            fixes=[
                backup_namespace_sd(open_to_all[0]),
                grant_in_wmi_control(
                    open_to_all[0],
                    "remove Remote Enable from Everyone and "
                    "ANONYMOUS LOGON; grant it to the specific "
                    "accounts that need it",
                ),
            ],
        )
    if changed:
        return v.info(f"{', '.join(changed)} differ from the defaults but keep every default entry.", evidence)
    return v.ok(f"{', '.join(n.name for n, _ in judged)} hold the default entries.", evidence)


register_check(
    default_security,
    "namespaces.default-security",
    "root and root\\cimv2 keep their default security",
    severity="error",
    needs=("namespaces",),
)


def remote_denied(ev: Evidence, v: Verdict) -> Finding:
    denied = [g for g in client_failures(ev) if g[0] == WBEM_E_ACCESS_DENIED]
    if not denied:
        return v.ok("No client operation failed with WBEM_E_ACCESS_DENIED in the WMI-Activity log.")
    by_who: Counter[tuple[str, str]] = Counter()
    evidence = []
    for _, group in denied:
        user = field(group, "User") or "?"
        namespace = operation_namespace(group) or "?"
        by_who[(user, namespace)] += group.count
        evidence.append(
            ref(
                group.source,
                f"{user} -> {namespace} from {field(group, 'ClientMachine') or '?'}: "
                f"x{group.count} ({operation(group)})",
            )
        )
    first_user, first_ns = by_who.most_common(1)[0][0]
    target = first_ns if first_ns != "?" else "root\\cimv2"
    return v.fail(
        f"{sum(by_who.values())} WMI operations were refused by namespace security; most for "
        f"{first_user} on {first_ns}.",
        evidence[:25],
        causes=[
            "the account lacks Remote Enable (remote) or Enable Account (local) on the namespace",
            "the namespace requires encryption and the client connected below Packet Privacy",
            "a method call needs Execute Methods or a privilege the client did not enable",
        ],
        fixes=[
            backup_namespace_sd(target),
            grant_in_wmi_control(
                target,
                f"add {first_user} with Enable Account and Remote Enable (plus Execute Methods if it calls methods)",
            ),
            advice(
                "If the namespace requires encryption, connect with Packet Privacy "
                "(PowerShell: Get-CimInstance over WinRM encrypts; Get-WmiObject -Authentication "
                "PacketPrivacy)"
            ),
        ],
        codes=["0x80041003"],
    )


register_check(
    remote_denied,
    "namespaces.remote-denied",
    "Accounts that connect are allowed in (no WBEM_E_ACCESS_DENIED)",
    severity="error",
    needs=("events",),
)


def encryption(ev: Evidence, v: Verdict) -> Finding:
    if not ev.namespaces.collected and not ev.events.collected:
        return v.skip("neither the namespaces nor the Application log were collected")
    required = [n for n in ev.namespaces.namespaces if n.requires_encryption]
    evidence = [ref(n.source, f"{n.name} requires encryption") for n in required]
    refused = []
    if ev.events.collected:
        for group in winmgmt_events(ev, 5605, 5606):
            namespace = field(group, "Namespace", "param1").lower()
            evidence.append(ref(group.source, f"event {group.event_id} x{group.count}: {namespace}"))
            if namespace not in ENCRYPTED_BY_DESIGN:
                refused.append(namespace or "?")
    if refused:
        return v.warn(
            f"Clients were refused for connecting without encryption to {', '.join(sorted(set(refused)))} "
            "(events 5605/5606).",
            evidence,
            causes=[
                "the client connects at the default or Packet Integrity level instead of Packet Privacy",
                "asynchronous calls to an encrypted namespace from a host without trust (5606)",
            ],
            fixes=[
                advice(
                    "Set the client's authentication level to Packet Privacy (wmic "
                    "/authlevel:pktprivacy, Get-WmiObject -Authentication PacketPrivacy, "
                    "impacket -rpc-auth-level privacy); use semisynchronous calls"
                )
            ],
            codes=["0x80041087", "0x80041003"],
        )
    if required:
        return v.info(f"{len(required)} namespaces require Packet Privacy; no refusals seen.", evidence)
    return v.ok("No namespace requires encryption beyond Windows' own and no client was refused.", evidence)


register_check(
    encryption,
    "namespaces.encryption",
    "Clients meet the encryption that namespaces require",
    severity="warning",
    needs=(),
)
