"""Remote UAC: whether local accounts keep their administrator token when they connect over the network."""

from __future__ import annotations

from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix

_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"


def token_filter(ev: Evidence, v: Verdict) -> Finding:
    policy = ev.remote_uac.local_account_token_filter_policy
    evidence = [
        ref(s.source, f"{name}={s.value}")
        for name, s in (
            ("LocalAccountTokenFilterPolicy", policy),
            ("EnableLUA", ev.remote_uac.enable_lua),
            ("FilterAdministratorToken", ev.remote_uac.filter_administrator_token),
        )
        if s is not None
    ]
    if ev.remote_uac.enable_lua is not None and ev.remote_uac.enable_lua.value == 0:
        return v.warn(
            "UAC is turned off (EnableLUA=0): every administrator runs with a full token, locally and remotely.",
            evidence,
            causes=["UAC was disabled by policy or by hand"],
            fixes=[
                Fix(
                    step="Turn UAC back on and restart",
                    command=f'reg add "{_KEY}" /v EnableLUA /t REG_DWORD /d 1 /f',
                    risk="low",
                    undo=f'reg add "{_KEY}" /v EnableLUA /t REG_DWORD /d 0 /f',
                )
            ],
        )
    if policy is not None and policy.value == 1:
        return v.warn(
            "LocalAccountTokenFilterPolicy=1: remote logons of local administrator accounts get a full "
            "administrator token. Remote WMI works for them, and so does any attacker holding a local "
            "administrator password (pass-the-hash).",
            evidence,
            causes=["it was set to make remote WMI work for a local (workgroup) account"],
            fixes=[
                Fix(
                    step="Prefer a domain account in the local Administrators group, or give a dedicated "
                    "local account explicit DCOM remote rights (Distributed COM Users) and "
                    "namespace Remote Enable; then turn filtering back on",
                    command=f'reg delete "{_KEY}" /v LocalAccountTokenFilterPolicy /f',
                    risk="low",
                    undo=f'reg add "{_KEY}" /v LocalAccountTokenFilterPolicy /t REG_DWORD /d 1 /f',
                )
            ],
        )
    role = ev.identity.domain_role if ev.identity.collected else ""
    workgroup = role.startswith("standalone")
    note = (
        "This host is not in a domain: remote WMI with a local administrator account gets a filtered token "
        "and fails with access denied unless that account is the built-in Administrator or has explicit "
        "grants."
        if workgroup
        else "Domain accounts in the local Administrators group keep their full token; local accounts other than "
        "the built-in Administrator are filtered when they connect remotely."
    )
    fixes = (
        [
            Fix(
                step="For a local monitoring account, grant least-privilege rights instead of lifting the filter: "
                "add it to Distributed COM Users and give it Enable Account + Remote Enable on the namespace",
                command='Add-LocalGroupMember -SID S-1-5-32-562 -Member "<account>"',
                risk="low",
                undo='Remove-LocalGroupMember -SID S-1-5-32-562 -Member "<account>"',
            )
        ]
        if workgroup
        else []
    )
    if ev.remote_uac.filter_administrator_token is not None and ev.remote_uac.filter_administrator_token.value == 1:
        note += " FilterAdministratorToken=1 filters the built-in Administrator as well."
    return v.info(
        f"Remote UAC filtering is on (the default). {note}",
        evidence,
        fixes=fixes,
        codes=["0x80070005"] if workgroup else [],
    )


register_check(
    token_filter,
    "remote-uac.token-filter",
    "Remote UAC token filtering is understood (LocalAccountTokenFilterPolicy)",
    severity="warning",
    needs=("remote_uac",),
)
