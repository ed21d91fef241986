"""Permanent event subscriptions: inventory, orphans, dead filters. Whether a subscription looks like persistence
is judged in checks.security (security.subscriptions), chain by chain."""

from __future__ import annotations

from wmidoctor.checks.events import field, winmgmt_events
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Binding, EventConsumer, Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.subscriptions import path_class, path_keys


def _name_in(path: str) -> str:
    return path_keys(path).get("name", path)


def _consumer_key(c: EventConsumer) -> tuple[str, str, str]:
    return c.namespace.lower(), c.class_name.lower(), c.name.lower()


def _binding_consumer(b: Binding) -> tuple[str, str, str]:
    return b.namespace.lower(), path_class(b.consumer).lower(), _name_in(b.consumer).lower()


def _remove_binding(binding: Binding) -> Fix:
    """Bindings have no Name: they are found by the names of the filter and consumer they join."""
    match = f"$_.Filter.Name -eq '{_name_in(binding.filter)}' -and $_.Consumer.Name -eq '{_name_in(binding.consumer)}'"
    return Fix(
        step=f"After you have confirmed nobody needs it, export and remove the binding {binding.filter} -> "
        f"{binding.consumer} in {binding.namespace}",
        command=f"Get-CimInstance -Namespace {binding.namespace} -ClassName __FilterToConsumerBinding | "
        f"Where-Object {{ {match} }} | Tee-Object -Variable saved | Remove-CimInstance",
        risk="low",
        undo="recreate it from the exported properties ($saved) with New-CimInstance, or "
        "recompile the MOF of the product that created it",
    )


def inventory(ev: Evidence, v: Verdict) -> Finding:
    s = ev.subscriptions
    evidence = [ref(f.source, f"filter {f.namespace}:{f.name}: {f.query}") for f in s.filters]
    evidence += [ref(c.source, f"consumer {c.namespace}:{c.class_name}.{c.name}") for c in s.consumers]
    evidence += [ref(b.source, f"binding {b.namespace}: {b.filter} -> {b.consumer}") for b in s.bindings]
    evidence += [
        ref(t.source, f"timer {t.namespace}:{t.class_name} {t.timer_id} every {t.interval_ms} ms") for t in s.timers
    ]
    counts = (
        f"{len(s.filters)} filters, {len(s.consumers)} consumers, {len(s.bindings)} bindings, {len(s.timers)} timers"
    )
    if not evidence:
        return v.ok("No permanent event subscription.")
    return v.info(f"Permanent subscriptions: {counts}.", evidence)


register_check(
    inventory,
    "subscriptions.inventory",
    "Permanent event subscriptions on this host",
    severity="info",
    needs=("subscriptions",),
)


def orphans(ev: Evidence, v: Verdict) -> Finding:
    s = ev.subscriptions
    filters = {(f.namespace.lower(), f.name.lower()) for f in s.filters}
    consumers = {_consumer_key(c) for c in s.consumers}
    broken = [
        b
        for b in s.bindings
        if (b.namespace.lower(), _name_in(b.filter).lower()) not in filters or _binding_consumer(b) not in consumers
    ]
    evidence = [
        ref(
            b.source,
            f"binding {b.filter} -> {b.consumer}: "
            + (
                "filter missing"
                if (b.namespace.lower(), _name_in(b.filter).lower()) not in filters
                else "consumer missing"
            ),
        )
        for b in broken
    ]
    dead = []
    if ev.events.collected:
        for group in winmgmt_events(ev, 10):
            dead.append(group)
            evidence.append(
                ref(
                    group.source,
                    f"event 10 x{group.count}: filter could not be reactivated "
                    f"(namespace {field(group, 'Namespace', 'param1')}, query "
                    f"{field(group, 'Query', 'param2')}, error "
                    f"{field(group, 'Error', 'param3')})",
                )
            )
    if not broken and not dead:
        return v.ok(
            f"All {len(s.bindings)} bindings resolve"
            + ("" if ev.events.collected else " (the Application log was not read for event 10)")
            + "."
        )
    fixes = [_remove_binding(broken[0])] if broken else []
    return v.warn(
        f"{len(broken)} bindings point to a missing filter or consumer and {len(dead)} filters could not "
        "be reactivated: leftovers of uninstalled software, or filters on classes that are gone.",
        evidence,
        causes=[
            "a product was uninstalled without removing its subscription",
            "the filter's class or namespace no longer exists (0x80041010) or its owner lost rights (0x80041003)",
        ],
        fixes=[
            advice(
                "Find the product that created each leftover (names usually tell); reinstalling "
                "and uninstalling it cleanly is the safest removal"
            ),
            *fixes,
        ],
        codes=["0x80041010", "0x80041003"] if dead else [],
    )


register_check(
    orphans,
    "subscriptions.orphans",
    "Every binding points to an existing filter and consumer",
    severity="warning",
    needs=("subscriptions",),
)
