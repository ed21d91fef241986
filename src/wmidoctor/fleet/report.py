"""Across the fleet: which causes affect how many hosts (with examples and the fix they share), how sites and
OS builds compare, and what changed between two runs. Works on stored rows only (no WMI knowledge here: a
cause is a check id with its severity and first fix, as the checks wrote them)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

SEVERITY_RANK = {"critical": 0, "error": 1, "warning": 2, "info": 3}
EXAMPLES = 5


def root_causes(hosts: list[dict[str, Any]], findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per check that raised a problem anywhere: hosts affected, share of the fleet, worst severity,
    example hosts and the most common first fix; most hosts first, then worst severity."""
    names = {h["source"]: h["host"] or h["source"] for h in hosts}
    by_check: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in findings:
        by_check[row["check_id"]].append(row)
    total = len(hosts) or 1
    causes = []
    for check, rows in by_check.items():
        affected = sorted({r["source"] for r in rows})
        severity = min((r["severity"] for r in rows), key=lambda s: SEVERITY_RANK.get(s, 9))
        fix, _ = _commonest(Counter(r["fix"] for r in rows))
        codes = sorted({c for r in rows for c in r["codes"].split(",") if c})
        causes.append(
            {
                "check": check,
                "severity": severity,
                "hosts": len(affected),
                "share": round(100 * len(affected) / total, 1),
                "examples": [names.get(s, s) for s in affected[:EXAMPLES]],
                "codes": codes,
                "fix": fix,
            }
        )
    return sorted(causes, key=lambda c: (-c["hosts"], SEVERITY_RANK.get(c["severity"], 9), c["check"]))


def _commonest(counts: Counter[str]) -> tuple[str, int]:
    """The most frequent item; ties by name, so SQLite and PostgreSQL, which return rows in different orders,
    give the same report."""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))


def breakdown(hosts: list[dict[str, Any]], findings: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Per value of `key` (site, os_build): hosts, hosts with problems, unreadable entries, the commonest cause."""
    checks_of: dict[str, set[str]] = defaultdict(set)
    for row in findings:
        checks_of[row["source"]].add(row["check_id"])
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for host in hosts:
        groups[host[key] or "(unknown)"].append(host)
    rows = []
    for value, members in groups.items():
        causes = Counter(c for h in members for c in checks_of.get(h["source"], ()))
        top = [_commonest(causes)] if causes else []
        rows.append(
            {
                key: value,
                "hosts": len(members),
                "with_problems": sum(1 for h in members if checks_of.get(h["source"])),
                "unreadable": sum(1 for h in members if h["error"]),
                "top_cause": f"{top[0][0]} ({top[0][1]})" if top else "",
            }
        )
    return sorted(rows, key=lambda r: (-r["with_problems"], -r["hosts"], r[key]))


def changes(before: tuple[list[dict], list[dict]], after: tuple[list[dict], list[dict]]) -> dict[str, list[dict]]:
    """Per host and check between two runs: new problems, fixed ones, and those still failing. Hosts are matched
    by source (the same collection path) so renamed hosts are not mistaken for new ones."""

    def problems(run: tuple[list[dict], list[dict]]) -> dict[tuple[str, str], dict]:
        names = {h["source"]: h["host"] or h["source"] for h in run[0]}
        return {
            (r["source"], r["check_id"]): {
                "host": names.get(r["source"], r["source"]),
                "check": r["check_id"],
                "severity": r["severity"],
            }
            for r in run[1]
        }

    old, new = problems(before), problems(after)
    present = {h["source"] for h in after[0]}

    def listed(keys: set[tuple[str, str]], side: dict) -> list[dict]:
        return sorted((side[k] for k in keys), key=lambda r: (r["host"], r["check"]))

    fixed_keys = {k for k in set(old) - set(new) if k[0] in present}  # a host not in the later run is not fixed
    return {
        "new": listed(set(new) - set(old), new),
        "fixed": listed(fixed_keys, old),
        "still": listed(set(new) & set(old), new),
    }
