"""The text views of `wmidoctor repo providers` and `repo persistence`: the providers grouped by namespace, and
the subscriptions as tables with each consumer's payload in full. The JSON documents hold the same data."""

from __future__ import annotations

from typing import Any

from wmidoctor.evidence.model import Provider, Subscriptions
from wmidoctor.output import aligned_fields, wrapped_table

PROVIDER_COLUMNS = ("NAME", "CLSID", "REGISTRATIONS", "HOSTING MODEL")
# CLSIDs are 38 wide. The hosting model comes last, so a long one (NetworkServiceHost:[Name]) wraps at a
# colon without pushing any column out of line; 28 fits the part after the colon.
PROVIDER_CAPS, HOSTING_MODEL_WIDTH = (40, 38, 16), 28


def providers_text(found: list[Provider]) -> str:
    """One table, its columns sized over every namespace, the providers grouped under their namespace."""
    if not found:
        return "no providers"
    rows = [
        (
            p.name,
            p.clsid or "-",
            ", ".join(r.removeprefix("__").removesuffix("ProviderRegistration") for r in p.registrations) or "-",
            p.hosting_model or "(default)",
        )
        for p in found
    ]
    header, laid_out = wrapped_table(PROVIDER_COLUMNS, rows, PROVIDER_CAPS, min_last=HOSTING_MODEL_WIDTH)
    lines = [f"{len(found)} providers", header]
    namespace = None
    for provider, row_lines in zip(found, laid_out, strict=True):
        if provider.namespace != namespace:
            namespace = provider.namespace
            count = sum(1 for p in found if p.namespace == namespace)
            lines.append(f"{namespace} ({count})")
        lines.extend(row_lines)
    return "\n".join(lines)


def persistence_text(subs: Subscriptions, consumers: list[dict[str, Any]]) -> str:
    """Filters, bindings and timers as tables; each consumer as a block with its payload in full."""
    lines = [
        f"{len(subs.filters)} filters, {len(consumers)} consumers, {len(subs.bindings)} bindings, "
        f"{len(subs.timers)} timers"
    ]
    if subs.filters:
        header, rows = wrapped_table(
            ("NAMESPACE", "NAME", "CREATOR", "QUERY"),
            [
                (
                    f.namespace,
                    f.name,
                    f.creator_sid or "-",
                    f.query + ("" if f.query_language.upper() == "WQL" else f"  [{f.query_language}]"),
                )
                for f in subs.filters
            ],
            (24, 32, 46),
        )
        lines += ["", "Filters", header, *(line for row in rows for line in row)]
    if consumers:
        lines += ["", "Consumers"]
    for c in consumers:
        mark = "FLAGGED" if c["flagged"] else ("default" if c["default"] else "")
        lines.append(
            f'  {mark:<7}  {c["namespace"]}:{c["class"]}.Name="{c["name"]}"'
            + ("  (installed by Windows: normal)" if c["default"] else "")
        )
        pairs = [("bound to", ", ".join(c["filters"]) or "(no binding)"), ("creator", c["creator_sid"] or "-")]
        pairs += [(key, value if isinstance(value, str) else str(value)) for key, value in c["payload"].items()]
        lines += aligned_fields(pairs, " " * 13)
    if subs.bindings:
        header, rows = wrapped_table(
            ("NAMESPACE", "FILTER", "CONSUMER"), [(b.namespace, b.filter, b.consumer) for b in subs.bindings], (24, 60)
        )
        lines += ["", "Bindings", header, *(line for row in rows for line in row)]
    if subs.timers:
        header, rows = wrapped_table(
            ("NAMESPACE", "CLASS", "TIMER ID", "EVERY"),
            [
                (t.namespace, t.class_name, t.timer_id, "-" if t.interval_ms is None else f"{t.interval_ms} ms")
                for t in subs.timers
            ],
            (24, 28, 40),
        )
        lines += ["", "Timers", header, *(line for row in rows for line in row)]
    return "\n".join(lines)
