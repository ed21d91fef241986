"""Who the host is: computer name, domain, OS build and edition, from whatever evidence says so.

Sources, each filling only what is still unknown (the live WMI identity query, read first, wins):
- the SYSTEM hive: ComputerName, the DNS domain (Tcpip\\Parameters), ProductOptions!ProductType (edition);
- HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion, from the SOFTWARE hive or a .reg export of that key:
  ProductName, EditionID, InstallationType, build numbers;
- event records: the Computer field (a fully qualified name gives the domain too).
The edition (client or server) is derived last, and says where it came from, because checks judge
Windows defaults that differ by edition with it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wmidoctor.evidence import Evidence
from wmidoctor.knowledge.defaults import (
    INSTALLATION_TYPE_EDITION,
    PRODUCT_OPTIONS_KEY,
    PRODUCT_TYPE_EDITION,
    edition_from_identity,
)

if TYPE_CHECKING:
    from wmidoctor.artifacts.evtx import LogStats

COMPUTER_NAME_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ComputerName"
TCPIP_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters"
CURRENT_VERSION_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"


def _text(key: Any, name: str) -> str:
    value = key.data(name) if key is not None else None
    return value.strip() if isinstance(value, str) else ""


def identity_from_registry(registry: Any, evidence: Evidence) -> None:
    """Fill the identity fields still empty from the hives and .reg exports in `registry`."""
    identity = evidence.identity
    name, tcpip = registry.key(COMPUTER_NAME_KEY), registry.key(TCPIP_KEY)
    version, options = registry.key(CURRENT_VERSION_KEY), registry.key(PRODUCT_OPTIONS_KEY)
    filled = []
    build = _text(version, "CurrentBuild") or _text(version, "CurrentBuildNumber")
    major = version.data("CurrentMajorVersionNumber") if version is not None else None
    minor = version.data("CurrentMinorVersionNumber") if version is not None else None
    numbered = isinstance(major, int) and isinstance(minor, int)
    release = f"{major}.{minor}" if numbered else _text(version, "CurrentVersion")
    facts = {
        "host": (name, _text(name, "ComputerName")),
        "domain": (tcpip, _text(tcpip, "NV Domain") or _text(tcpip, "Domain")),
        "os_caption": (version, _text(version, "ProductName")),
        "os_build": (version, build),
        "os_version": (version, f"{release}.{build}" if release and build else ""),
        "edition_id": (version, _text(version, "EditionID")),
    }
    for field_name, (key, value) in facts.items():
        if value and not getattr(identity, field_name):
            setattr(identity, field_name, value)
            filled.append(f"registry:{key.source}")
    if not identity.host_source and identity.host and name is not None and facts["host"][1] == identity.host:
        identity.host_source = f"registry:{COMPUTER_NAME_KEY}!ComputerName"
    if not identity.edition:
        installation = _text(version, "InstallationType")
        product_type = _text(options, "ProductType")
        if installation.lower() in INSTALLATION_TYPE_EDITION:
            _set_edition(
                evidence,
                INSTALLATION_TYPE_EDITION[installation.lower()],
                f"registry:{CURRENT_VERSION_KEY}!InstallationType = {installation}",
            )
            filled.append(f"registry:{version.source}")
        elif product_type.lower() in PRODUCT_TYPE_EDITION:
            _set_edition(
                evidence,
                PRODUCT_TYPE_EDITION[product_type.lower()],
                f"registry:{PRODUCT_OPTIONS_KEY}!ProductType = {product_type}",
            )
            filled.append(f"registry:{options.source}")
    # ProductType says a domain controller whatever InstallationType gave the edition (it does not tell a member
    # from a standalone host: that is in the SECURITY hive, which is never collected).
    if _text(options, "ProductType").lower() == "lanmannt" and not identity.domain_role:
        identity.domain_role = "domain-controller"
    for source in dict.fromkeys(filled):
        identity.mark_collected(
            source, None if identity.status != "not_collected" else "from the registry (WMI identity not read)"
        )


def identity_from_events(logs: list[LogStats], evidence: Evidence) -> None:
    """The host name (and DNS domain) from the Computer field of the logs' records, when still unknown: the name
    on the newest record (a host renamed after set-up wrote its first records under its set-up name), else, for
    exports that give no record times here, the name most of their first records carry."""
    identity = evidence.identity
    if identity.host:
        return
    names: Counter[str] = Counter()
    for stats in logs:
        names.update(stats.computers)
    dated = [stats for stats in logs if stats.newest_computer]
    if dated:
        newest = max(dated, key=lambda stats: stats.newest_computer_time)
        computer, sample = newest.newest_computer, newest.path
    elif names:
        computer, _ = names.most_common(1)[0]
        sample = next(stats.path for stats in logs if computer in stats.computers)
    else:
        return
    host, _, domain = computer.partition(".")
    identity.host = host
    identity.domain = identity.domain or domain
    identity.host_source = f"evtx:{Path(sample).name}#Computer"
    others = [n for n in names if n != computer]
    identity.mark_collected(
        identity.host_source,
        ("host name from the newest event record" if dated else "host name from event records only")
        + (f" (the logs also name {', '.join(sorted(others)[:3])})" if others else ""),
    )


def _set_edition(evidence: Evidence, edition: str, how: str) -> None:
    evidence.identity.edition, evidence.identity.edition_source = edition, how


def settle_edition(evidence: Evidence) -> None:
    """The edition from the WMI identity (domain role, product name) when nothing stronger gave it."""
    identity = evidence.identity
    if not identity.edition:
        identity.edition, identity.edition_source = edition_from_identity(identity.domain_role, identity.os_caption)
