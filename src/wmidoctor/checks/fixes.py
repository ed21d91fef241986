"""Fix steps several checks prescribe, written once: exact commands, their risk and how to undo them."""

from __future__ import annotations

from wmidoctor.findings import Fix
from wmidoctor.vocabulary import Risk

ACCOUNT = "<DOMAIN\\account>"  # placeholder the reader replaces with the account that connects


def advice(step: str, command: str = "", risk: Risk = "none") -> Fix:
    """A step that changes nothing WMI could roll back (a look, a decision, a product's own repair): nothing to undo."""
    return Fix(step=step, command=command, risk=risk, undo="nothing to undo")


def backup_key(key: str, name: str) -> Fix:
    return Fix(
        step=f"Save the current values of {key} before changing anything",
        command=f'reg export "{key}" "%TEMP%\\{name}-before-wmidoctor.reg" /y',
        risk="none",
        undo=f'reg import "%TEMP%\\{name}-before-wmidoctor.reg" restores the saved values',
    )


def add_to_distributed_com_users() -> Fix:
    return Fix(
        step="Give the connecting account DCOM remote rights the least-privilege way: add it to the "
        "local Distributed COM Users group (the default limits grant that group remote launch, "
        "activation and access)",
        command=f'Add-LocalGroupMember -SID S-1-5-32-562 -Member "{ACCOUNT}"',
        risk="low",
        undo=f'Remove-LocalGroupMember -SID S-1-5-32-562 -Member "{ACCOUNT}"',
    )


def edit_com_security(section: str, grant: str) -> Fix:
    return Fix(
        step=f"In Component Services, My Computer > Properties > COM Security > {section}: {grant}. "
        "If a Group Policy sets this ACL (DCOM: Machine Launch/Access Restrictions in SDDL), change "
        "the policy instead, or it will overwrite your edit",
        command="dcomcnfg",
        risk="low",
        undo="re-import the saved Ole key (reg import) or undo the edit in the same dialog",
    )


def restart_winmgmt() -> Fix:
    return Fix(
        step="Restart the WMI service so the change takes effect (services that depend on it stop too)",
        command="net stop winmgmt /y && net start winmgmt",
        risk="low",
        undo="start the dependent services again: (Get-Service Winmgmt).DependentServices | Start-Service",
    )


def repository_ladder() -> list[Fix]:
    """The only order in which the repository may be repaired: verify, back up, salvage, reset last."""
    return [
        advice("Confirm the verdict on the live repository (read-only)", command="winmgmt /verifyrepository"),
        Fix(
            step="Back up the repository before any repair",
            command="winmgmt /backup %TEMP%\\wmi-repository.bak",
            risk="none",
            undo="the backup can be restored with: winmgmt /restore %TEMP%\\wmi-repository.bak 1",
        ),
        Fix(
            step="Salvage: rebuild the repository keeping whatever of the old content is readable, then "
            "recompile the autorecover MOFs",
            command="winmgmt /salvagerepository",
            risk="low",
            undo="winmgmt /restore %TEMP%\\wmi-repository.bak 1",
        ),
        Fix(
            step="Only if salvage fails and verification still reports an inconsistency: reset to the "
            "installation state (content of MOFs that are not autorecover, static instances, "
            "subscriptions and namespace security changes are lost; reinstall or recompile them after)",
            command="winmgmt /resetrepository",
            risk="high",
            undo="winmgmt /restore %TEMP%\\wmi-repository.bak 1",
        ),
    ]
