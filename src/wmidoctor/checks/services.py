"""Services WMI stands on: Winmgmt, RpcSs, DcomLaunch, RpcEptMapper (state and start type vs defaults)."""

from __future__ import annotations

from functools import partial

from wmidoctor.checks.host import PRE_VISTA, build, generation
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import RPC_EPTMAPPER_FIRST_BUILD, SERVICES, ServiceDefault


def _absence_explained(ev: Evidence, default: ServiceDefault, v: Verdict) -> Finding | None:
    """A missing service key that says nothing about the host: the service list was damaged, or the service
    did not exist yet on that Windows version. None when the absence is a real finding."""
    if ev.services.problems:
        return v.skip(
            f"not known: {default.name} is not among the service keys that could be read, and the "
            f"service list is damaged ({len(ev.services.problems)} unreadable records, see "
            "evidence.integrity); its key may be one of them"
        )
    if default.name == "RpcEptMapper":
        number = build(ev)
        era, how = generation(ev)
        if (number is not None and number < RPC_EPTMAPPER_FIRST_BUILD) or era == PRE_VISTA:
            return v.ok(
                f"No RpcEptMapper service, as expected before Windows 7 ({how or f'OS build {number}'}): "
                "RpcSs holds the endpoint mapper there."
            )
    return None


def service_runs(default: ServiceDefault, ev: Evidence, v: Verdict) -> Finding:
    service = ev.services.get(default.name)
    if service is None and (explained := _absence_explained(ev, default, v)) is not None:
        return explained
    if service is None:
        return v.fail(
            f"The {default.name} service is not registered on this host: this breaks {default.what_breaks}.",
            [
                ref(
                    ev.services.sources[0] if ev.services.sources else "",
                    f"no {default.name} service in the service list",
                )
            ],
            causes=[
                "the service key was deleted (damaged installation or aggressive hardening)",
                "the collector could not read this service (see the evidence section problems)",
            ],
            fixes=[
                Fix(
                    step="Repair the system files that register the service",
                    command="DISM /Online /Cleanup-Image /RestoreHealth && sfc /scannow",
                    risk="low",
                    undo="nothing to undo (repairs only restore Windows files)",
                )
            ],
            codes=["0x80070424"],
        )
    evidence = [
        ref(
            service.source,
            f"state={service.state or 'unknown'}, start type="
            f"{service.start_type or 'unknown'}, default {default.start_type}",
        )
    ]
    problems, fixes, causes, codes = [], [], [], []
    if service.start_type == "disabled":
        problems.append("is disabled")
        causes.append("someone or a hardening policy/script disabled it (check Group Policy System Services)")
        codes.append("0x80070422")
        fixes.append(
            Fix(
                step=f"Set {default.name} back to its default start type",
                command=f"sc config {default.name} start= auto",
                risk="low",
                undo=f"sc config {default.name} start= disabled",
            )
        )
    elif service.start_type not in (None, default.start_type, "delayed-auto"):
        problems.append(f"starts '{service.start_type}' instead of '{default.start_type}'")
        causes.append("the start type was changed from the Windows default")
        fixes.append(
            Fix(
                step=f"Restore the default start type of {default.name}",
                command=f"sc config {default.name} start= auto",
                risk="low",
                undo=f"sc config {default.name} start= {service.start_type}",
            )
        )
    if service.state not in (None, "running"):
        problems.append(f"is {service.state}")
        causes.append("the service stopped or crashed (look for Service Control Manager events 7031/7034)")
        fixes.append(
            Fix(
                step=f"Start {default.name}",
                command=f"sc start {default.name}",
                risk="none",
                undo=f"sc stop {default.name}",
            )
        )
    if not problems:
        if service.state is None:
            return v.ok(
                f"{default.name} starts {service.start_type or 'as configured'} (its running state "
                "was not part of the evidence).",
                evidence,
            )
        return v.ok(f"{default.name} is running.", evidence)
    summary = f"{default.name} {' and '.join(problems)}: this breaks {default.what_breaks}."
    return v.fail(summary, evidence, causes=causes, fixes=fixes, codes=codes)


for _default in SERVICES:
    register_check(
        partial(service_runs, _default),
        f"services.{_default.name.lower()}",
        f"{_default.display_name} ({_default.name}) runs and starts automatically",
        severity="critical",
        needs=("services",),
    )


def winmgmt_hosting(ev: Evidence, v: Verdict) -> Finding:
    service = ev.services.get("Winmgmt")
    if service is None:
        return v.skip("the Winmgmt service is not in the evidence (see services.winmgmt)")
    own = service.service_type == "own-process"
    hosting = (
        f"its own svchost ({service.svchost_group or 'own group'})"
        if own
        else f"the shared svchost group '{service.svchost_group or 'unknown'}'"
    )
    dependents = ev.services.winmgmt_dependents
    summary = f"Winmgmt runs in {hosting}. " + (
        f"Services that stop with it: {', '.join(dependents)}." if dependents else "No service depends on it."
    )
    evidence = [ref(service.source, f"type={service.service_type or 'unknown'}, image={service.image_path or '?'}")]
    fixes = (
        []
        if own
        else [
            Fix(
                step="To see WMI's own CPU and memory apart from other services while you "
                "investigate, move it to its own svchost",
                command="sc config Winmgmt type= own && net stop winmgmt /y && net start winmgmt",
                risk="low",
                undo="sc config Winmgmt type= share && net stop winmgmt /y && net start winmgmt",
            )
        ]
    )
    return v.info(summary, evidence, fixes=fixes)


register_check(
    winmgmt_hosting,
    "services.winmgmt-hosting",
    "How Winmgmt is hosted and what depends on it",
    severity="info",
    needs=("services",),
)
