"""Provider registration consistency: __Win32Provider -> CLSID -> COM registration -> binary -> registrations."""

from __future__ import annotations

from wmidoctor.checks.events import field, winmgmt_events
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import ComServer, Evidence, Provider
from wmidoctor.findings import EvidenceRef, Finding, Fix
from wmidoctor.knowledge.defaults import (
    COM_LESS_HOSTING,
    DEFAULT_HOSTING_MODEL,
    KNOWN_PROVIDER_BY_NAME,
    LOCAL_SYSTEM_HOSTING,
)

_MAX_LISTED = 25
_WINDOWS_DIRS = ("%systemroot%", "%windir%", "c:\\windows\\")


def _label(p: Provider) -> str:
    return f"{p.namespace}:{p.name}"


def _is_com(p: Provider) -> bool:
    return not (p.hosting_model or "").startswith(COM_LESS_HOSTING)


def _listed(items: list[EvidenceRef]) -> list[EvidenceRef]:
    if len(items) <= _MAX_LISTED:
        return items
    return [*items[:_MAX_LISTED], EvidenceRef("(more)", f"{len(items) - _MAX_LISTED} more not listed")]


def _reinstall(p_names: str) -> list[Fix]:
    return [
        Fix(
            step=f"Re-register the provider's COM server ({p_names}): for a DLL run regsvr32 on it, for an EXE "
            "run it with /regserver (from an elevated prompt)",
            command='regsvr32 /s "<path to provider.dll>"',
            risk="low",
            undo='regsvr32 /u /s "<path to provider.dll>"',
        ),
        Fix(
            step="If the binary is gone, repair or reinstall the product that owns the provider; if the product "
            "was removed, its namespace and provider registration are leftovers: recompile its uninstall "
            "MOF if it shipped one",
            command='mofcomp "<product folder>\\<name>_uninstall.mof"',
            risk="low",
            undo="reinstall the product",
        ),
    ]


def clsid(ev: Evidence, v: Verdict) -> Finding:
    providers = [p for p in ev.providers.providers if _is_com(p)]
    if not providers:
        return v.skip("no __Win32Provider instances in the evidence")
    without = [p for p in providers if not p.clsid]
    if not without:
        return v.ok(f"All {len(providers)} COM-hosted providers name a CLSID.")
    return v.fail(
        f"{len(without)} providers have no CLSID: WMI cannot create them and every class they serve fails.",
        _listed([ref(p.source, f"{_label(p)} has no CLSID") for p in without]),
        causes=[
            "the provider's MOF was compiled incompletely or edited by hand",
            "repository damage (verify the repository before anything else)",
        ],
        fixes=[
            Fix(
                step="Recompile the MOF that registers the provider (in the product's folder or "
                "%windir%\\System32\\wbem)",
                command='mofcomp "<provider>.mof"',
                risk="low",
                undo="nothing simple: restore a repository backup if the result is worse",
            ),
            advice("Verify the repository", command="winmgmt /verifyrepository"),
        ],
        codes=["0x80041012"],
    )


register_check(
    clsid, "providers.clsid", "Every provider registration names a CLSID", severity="error", needs=("providers",)
)


def _com_server(ev: Evidence, p: Provider) -> ComServer | None:
    return ev.providers.com_servers.get((p.clsid or "").upper())


def com_registration(ev: Evidence, v: Verdict) -> Finding:
    if not ev.providers.com_servers:
        return v.skip("the COM registrations (HKLM\\SOFTWARE\\Classes\\CLSID) of the providers were not collected")
    providers = [p for p in ev.providers.providers if p.clsid and _is_com(p)]
    broken = [p for p in providers if (server := _com_server(ev, p)) is None or not server.registered]
    if not broken:
        return v.ok(f"All {len(providers)} provider CLSIDs are registered in COM.")
    evidence = [ref(p.source, f"{_label(p)} CLSID {p.clsid} is not registered") for p in broken]
    return v.fail(
        f"{len(broken)} providers point to a CLSID that COM does not know: their classes fail with "
        "provider load failure (0x80041013).",
        _listed(evidence),
        causes=[
            "the product was uninstalled but its provider registration stayed in the repository",
            "the COM registration was removed or damaged (registry cleaner, failed update)",
            "a 32-bit provider registered only in the 32-bit registry view",
        ],
        fixes=_reinstall(", ".join(sorted({p.name for p in broken})[:5])),
        codes=["0x80041013", "0x80040154"],
    )


register_check(
    com_registration,
    "providers.com-registration",
    "Every provider CLSID is registered in COM",
    severity="error",
    needs=("providers",),
)


def binary(ev: Evidence, v: Verdict) -> Finding:
    pairs = [(p, s) for p in ev.providers.providers if p.clsid and (s := _com_server(ev, p)) and s.registered]
    checked = [(p, s) for p, s in pairs if s.binary_exists is not None]
    if not checked:
        return v.skip("the evidence does not say whether the providers' server binaries exist")
    missing = [(p, s) for p, s in checked if s.binary_exists is False]
    if not missing:
        return v.ok(f"The server binaries of {len(checked)} providers exist.")
    evidence = [
        ref(s.source, f"{_label(p)}: {s.inproc_server or s.local_server or '?'} is missing") for p, s in missing
    ]
    names = ", ".join(sorted({p.name for p, _ in missing})[:5])
    first = missing[0][1].inproc_server or missing[0][1].local_server or "<path to provider.dll>"
    return v.fail(
        f"{len(missing)} providers are registered to a DLL or EXE that is not on disk: WMI cannot load "
        "them and their classes fail with provider load failure.",
        _listed(evidence),
        causes=[
            "the product was partly uninstalled or its files were removed",
            "the path in the COM registration is wrong after a move or upgrade",
        ],
        fixes=[
            advice(
                f"Confirm on the host that the file is gone ({names})",
                command="Test-Path -LiteralPath ([Environment]::ExpandEnvironmentVariables('"
                + first.replace("'", "''")
                + "'))",
            ),
            *_reinstall(names)[::-1],
        ],
        codes=["0x80041013", "0x8007007E"],
    )


register_check(
    binary, "providers.binary", "Every provider's COM server binary exists", severity="error", needs=("providers",)
)


def registrations(ev: Evidence, v: Verdict) -> Finding:
    providers = ev.providers.providers
    if not any(p.registrations for p in providers):
        return v.skip("the provider registration objects (__InstanceProviderRegistration and kin) were not read")
    orphans = [p for p in providers if not p.registrations]
    if not orphans:
        return v.ok(f"All {len(providers)} providers have at least one registration object.")
    return v.warn(
        f"{len(orphans)} providers have a __Win32Provider instance but no registration object: WMI will "
        "not route any request to them.",
        _listed([ref(p.source, _label(p)) for p in orphans]),
        causes=["leftover of an uninstalled product", "a MOF that was only partly compiled"],
        fixes=[
            Fix(
                step="Recompile the provider's registration MOF, or remove the leftover with the "
                "product's uninstall MOF",
                command='mofcomp "<provider>.mof"',
                risk="low",
                undo="nothing simple: restore a repository backup if needed",
            )
        ],
        codes=["0x80041012"],
    )


register_check(
    registrations,
    "providers.registrations",
    "Every provider has a registration object",
    severity="warning",
    needs=("providers",),
)


def _outside_windows(server: ComServer | None) -> bool:
    """True when the provider's COM server is known and does not live in the Windows directory."""
    binary = (server.inproc_server or server.local_server or "") if server else ""
    return bool(binary) and not binary.lower().lstrip('"').startswith(_WINDOWS_DIRS)


def hosting(ev: Evidence, v: Verdict) -> Finding:
    providers = ev.providers.providers
    if not providers:
        return v.skip("no __Win32Provider instances in the evidence")
    system = [p for p in providers if (p.hosting_model or DEFAULT_HOSTING_MODEL).split(":")[0] in LOCAL_SYSTEM_HOSTING]
    foreign = [
        p for p in system if p.name.lower() not in KNOWN_PROVIDER_BY_NAME and _outside_windows(_com_server(ev, p))
    ]
    evidence = [ref(p.source, f"{_label(p)} HostingModel={p.hosting_model}") for p in foreign or system]
    if ev.events.collected:
        evidence += [
            ref(
                g.source,
                f"event 63 x{g.count}: {field(g, 'Namespace', 'param2')}:"
                f"{field(g, 'Provider', 'param1')} registered to run as LocalSystem",
            )
            for g in winmgmt_events(ev, 63)
        ]
    if not system:
        return v.ok("No provider is hosted as LocalSystem.")
    if not foreign:
        how = (
            "all of them served from the Windows directory"
            if ev.providers.com_servers
            else "the COM registrations were not collected, so their binaries' locations are unknown"
        )
        return v.info(f"{len(system)} providers are hosted as LocalSystem; {how}.", _listed(evidence))
    return v.warn(
        f"{len(foreign)} providers from outside the Windows directory are hosted as LocalSystem: any flaw "
        "in them runs with full control of the host, and they share a WmiPrvSE with other LocalSystem "
        "providers.",
        _listed(evidence),
        causes=[
            "the vendor registered LocalSystemHost for convenience",
            "an old provider written before Vista relied on running as LocalSystem",
        ],
        fixes=[
            advice(
                "Ask the vendor for a version registered as NetworkServiceHost or LocalServiceHost "
                "(that impersonates its callers); do not edit the HostingModel of a provider "
                "you do not own"
            )
        ],
    )


register_check(
    hosting,
    "providers.hosting",
    "Providers do not run as LocalSystem without need",
    severity="warning",
    needs=("providers",),
)
