"""DCOM: enabled, machine-wide limits and defaults vs Windows' defaults ACE by ACE, legacy levels, the WMI AppID."""

from __future__ import annotations

from functools import partial

from wmidoctor.checks.acl import com_rights, compare, describe
from wmidoctor.checks.fixes import add_to_distributed_com_users, backup_key, edit_com_security
from wmidoctor.checks.host import key_read, missing_artifacts
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.evidence.security import SecurityDescriptor
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import (
    ACCESS_REMOTE,
    ADMINISTRATORS,
    AUTHENTICATED_USERS,
    AUTHENTICATION_LEVELS,
    DCOM_ACLS,
    DISTRIBUTED_COM_USERS,
    EVERYONE,
    IMPERSONATION_LEVELS,
    LAUNCH_REMOTE,
    LEGACY_AUTHENTICATION_LEVEL,
    LEGACY_IMPERSONATION_LEVEL,
    NEVER_GRANT,
    OLE_KEY,
    REMOTE_COM_RIGHTS,
    WMI_APPID,
    WMI_APPID_KEY,
    WMI_APPID_LAUNCH,
    DefaultAce,
)

# Who stands for "administrators" when deciding whether remote use is still possible (groups not expanded).
_ADMIN_PATHS = (ADMINISTRATORS, EVERYONE, AUTHENTICATED_USERS)


def enabled(ev: Evidence, v: Verdict) -> Finding:
    setting = ev.dcom.enable_dcom
    if setting is None or setting.value is None:
        return v.ok("EnableDCOM is not set; Windows enables DCOM by default.")
    evidence = [ref(setting.source, f"EnableDCOM={setting.value}")]
    if str(setting.value).strip().upper() == "Y":
        return v.ok("DCOM is enabled.", evidence)
    return v.fail(
        "DCOM is disabled machine-wide: no remote WMI over DCOM in or out of this host.",
        evidence,
        causes=[
            "a hardening baseline or script set EnableDCOM=N",
            "someone disabled it in Component Services > My Computer > Default Properties",
        ],
        fixes=[
            backup_key(OLE_KEY, "ole"),
            Fix(
                step="Enable DCOM again, then restart the host (DCOM reads the value at boot)",
                command=f'reg add "{OLE_KEY}" /v EnableDCOM /t REG_SZ /d Y /f',
                risk="low",
                undo=f'reg add "{OLE_KEY}" /v EnableDCOM /t REG_SZ /d N /f',
            ),
        ],
        codes=["0x80070005", "0x800706BA"],
    )


register_check(enabled, "dcom.enabled", "DCOM is enabled (EnableDCOM=Y)", severity="critical", needs=("dcom",))


def _grants_remote(sd: SecurityDescriptor, needed: int) -> bool:
    return any(sd.allowed_mask(sid) & needed == needed for sid in _ADMIN_PATHS)


def dcom_acl(
    attribute: str, value_name: str, label: str, defaults: tuple[DefaultAce, ...], ev: Evidence, v: Verdict
) -> Finding:
    """One of the four DCOM ACLs (machine or default, launch or access) against its Windows default."""
    limit = attribute.startswith("machine_")
    launch = "launch" in attribute
    needed = LAUNCH_REMOTE if launch else ACCESS_REMOTE
    sd: SecurityDescriptor | None = getattr(ev.dcom, attribute)
    if sd is None:
        return v.ok(f"{value_name} is not set: Windows' built-in default applies.")
    diff = compare(sd, defaults)
    lines = describe(diff, com_rights)
    evidence = [ref(sd.source or f"registry:{OLE_KEY}!{value_name}", line) for line in lines]
    if not diff.changed:
        return v.ok(
            f"{value_name} holds exactly the default ACEs.",
            [ref(sd.source or f"registry:{OLE_KEY}!{value_name}", sd.sddl)],
        )
    # Joining Distributed COM Users helps only while this ACL still gives that group the remote rights.
    group_works = sd.allowed_mask(DISTRIBUTED_COM_USERS) & needed == needed
    via_group = [add_to_distributed_com_users()] if group_works else []
    fixes = [
        backup_key(OLE_KEY, "ole"),
        *via_group,
        edit_com_security(
            f"{'Launch and Activation' if launch else 'Access'} Permissions > "
            f"{'Edit Limits' if limit else 'Edit Default'}",
            "give BUILTIN\\Administrators (and Distributed COM Users) "
            + ("Local and Remote Launch and Activation" if launch else "Local and Remote Access")
            + " back",
        ),
    ]
    if limit and (diff.breaks_required or not _grants_remote(sd, needed)):
        return v.fail(
            f"{value_name} ({label}) no longer lets administrators "
            + ("launch and activate WMI remotely" if launch else "call WMI remotely")
            + ": remote WMI over DCOM fails with access denied (0x80070005).",
            evidence,
            causes=[
                "a hardening baseline or Group Policy (DCOM: Machine "
                f"{'Launch' if launch else 'Access'} Restrictions in SDDL) replaced the ACL",
                "an edit in Component Services removed the default entries",
            ],
            fixes=fixes,
            codes=["0x80070005"],
        )
    risky = [
        a
        for a in sd.dacl or []
        if a.type == "allow"
        and a.sid in NEVER_GRANT
        and a.mask & REMOTE_COM_RIGHTS
        and not any(d.sid == a.sid and d.mask & REMOTE_COM_RIGHTS for d in defaults)
    ]
    if diff.no_dacl or risky:
        return v.warn(
            f"{value_name} grants remote DCOM rights to anonymous or every caller: any network "
            "user can reach COM servers on this host.",
            evidence,
            causes=[
                "legacy advice to open DCOM to ANONYMOUS LOGON or Everyone for monitoring",
                "a tool that wrote a permissive descriptor",
            ],
            fixes=[
                backup_key(OLE_KEY, "ole"),
                edit_com_security(
                    f"{'Launch and Activation' if launch else 'Access'} Permissions",
                    "remove the remote rights of Everyone and ANONYMOUS LOGON that the default does not have",
                ),
                *via_group,
            ],
        )
    if not limit and (diff.breaks_required or diff.denies):
        return v.warn(
            f"{value_name} lost default entries or holds deny entries: COM servers that rely on "
            "the default permissions refuse those callers.",
            evidence,
            fixes=fixes,
            causes=[
                "an edit in Component Services (Edit Default) or a hardening script",
                "a deny entry meant for one account that also matches others",
            ],
            codes=["0x80070005"],
        )
    return v.info(f"{value_name} differs from the default but still lets administrators in remotely.", evidence)


for _attribute, (_value, _label, _defaults) in DCOM_ACLS.items():
    register_check(
        partial(dcom_acl, _attribute, _value, _label, _defaults),
        f"dcom.{_attribute.replace('_', '-')}",
        f"DCOM {_label} match the Windows defaults",
        severity="error" if _attribute.startswith("machine_") else "warning",
        needs=("dcom",),
    )


def _level(setting: Setting | None, default: int) -> int:
    return int(setting.value) if setting is not None and isinstance(setting.value, int) else default


def legacy_levels(ev: Evidence, v: Verdict) -> Finding:
    auth = _level(ev.dcom.legacy_authentication_level, LEGACY_AUTHENTICATION_LEVEL)
    imp = _level(ev.dcom.legacy_impersonation_level, LEGACY_IMPERSONATION_LEVEL)
    evidence = [
        ref(s.source, f"{name}={s.value}")
        for name, s in (
            ("LegacyAuthenticationLevel", ev.dcom.legacy_authentication_level),
            ("LegacyImpersonationLevel", ev.dcom.legacy_impersonation_level),
        )
        if s is not None
    ]
    summary = (
        f"authentication {AUTHENTICATION_LEVELS.get(auth, auth)}, impersonation {IMPERSONATION_LEVELS.get(imp, imp)}"
    )
    problems = []
    if auth == 1:
        problems.append(
            "authentication level None lets clients that do not set their own level call without any authentication"
        )
    if imp == 1:
        problems.append("impersonation level Anonymous makes WMI calls from clients that rely on the default fail")
    if not problems:
        return v.ok(f"Machine defaults: {summary} (clients should still set Impersonate themselves).", evidence)
    sentence = "; ".join(problems)
    return v.warn(
        sentence[0].upper() + sentence[1:] + ".",  # not str.capitalize(), which lowercases "WMI" and "None"
        evidence,
        causes=["the value was changed from its default (2) by a tool or a hardening guide"],
        fixes=[
            backup_key(OLE_KEY, "ole"),
            Fix(
                step="Return both values to their default by deleting them",
                command=f'reg delete "{OLE_KEY}" /v LegacyAuthenticationLevel /f & '
                f'reg delete "{OLE_KEY}" /v LegacyImpersonationLevel /f',
                risk="low",
                undo="reg import the saved Ole key",
            ),
        ],
    )


register_check(
    legacy_levels,
    "dcom.legacy-levels",
    "DCOM legacy authentication and impersonation levels are usable by WMI",
    severity="warning",
    needs=("dcom",),
)


def wmi_appid(ev: Evidence, v: Verdict) -> Finding:
    sd = ev.dcom.wmi_appid_launch_permission
    if sd is None and not key_read(ev.dcom, WMI_APPID_KEY):
        return v.skip(
            f"not known: the WMI DCOM application's key ({WMI_APPID_KEY}) was not collected "
            f"({missing_artifacts(ev, 'wmi-appid.reg', 'config/SOFTWARE')} not in the evidence)"
        )
    if sd is None:
        return v.ok(f"The WMI application ({WMI_APPID}) has no own launch permission; the defaults apply.")
    diff = compare(sd, WMI_APPID_LAUNCH)
    source = sd.source or f"registry:{WMI_APPID_KEY}!LaunchPermission"
    evidence = [ref(source, line) for line in describe(diff, com_rights)] or [ref(source, sd.sddl)]
    if diff.breaks_required or not _grants_remote(sd, LAUNCH_REMOTE):
        return v.fail(
            "The Windows Management Instrumentation DCOM application does not let administrators "
            "launch and activate it remotely: remote WMI fails with 0x80070005.",
            evidence,
            causes=[
                "an edit in Component Services > DCOM Config > Windows Management Instrumentation",
                "a hardening script that rewrote the AppID's LaunchPermission",
            ],
            fixes=[
                backup_key(WMI_APPID_KEY, "wmi-appid"),
                Fix(
                    step="Component Services > DCOM Config > Windows Management Instrumentation > "
                    "Properties > Security > Launch and Activation > Customize > Edit: give "
                    "BUILTIN\\Administrators Local and Remote Launch and Activation",
                    command="dcomcnfg",
                    risk="low",
                    undo="reg import the saved AppID key",
                ),
                add_to_distributed_com_users(),
            ],
            codes=["0x80070005"],
        )
    if diff.changed:
        return v.info(
            "The WMI DCOM application's launch permission differs from the default but still admits administrators.",
            evidence,
        )
    return v.ok("The WMI DCOM application's launch permission is the default.", evidence)


register_check(
    wmi_appid,
    "dcom.wmi-appid",
    "The WMI DCOM application grants administrators remote launch",
    severity="error",
    needs=("dcom",),
)
