"""CIMOM registry values that change how WMI treats its clients and its repository when set away from their
defaults: the arbitrator's idle limit, callback security for asynchronous calls, automatic repository restore."""

from __future__ import annotations

from wmidoctor.checks.fixes import backup_key, restart_winmgmt
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import ARB_TASK_MAX_IDLE_MS, CIMOM_DEFAULTS, CIMOM_KEY


def _int(setting: Setting | None) -> int | None:
    if setting is None:
        return None
    try:
        return int(str(setting.value), 0)
    except ValueError:
        return None


def _reset(name: str, value: int) -> Fix:
    return Fix(
        step=f"Delete {name} so the default ({CIMOM_DEFAULTS[name]}) applies, then restart WMI",
        command=f'reg delete "{CIMOM_KEY}" /v {name} /f',
        risk="low",
        undo=f'reg add "{CIMOM_KEY}" /v {name} /t REG_DWORD /d {value} /f',
    )


def cimom_settings(ev: Evidence, v: Verdict) -> Finding:
    values = {name: _int(s) for name, s in ev.repository.cimom.items()}
    evidence = [ref(s.source, f"{name}={s.value}") for name, s in ev.repository.cimom.items()]
    warnings, notes, fixes = [], [], []
    idle = values.get("ArbTaskMaxIdle")
    if idle is not None and idle < ARB_TASK_MAX_IDLE_MS:
        warnings.append(
            f"ArbTaskMaxIdle={idle} ms (default {ARB_TASK_MAX_IDLE_MS}): the arbitrator cancels client "
            f"tasks idle for {idle // 1000} s instead of 20 minutes, so slow readers (monitoring agents "
            "paging through large enumerations) get 0x80041032"
        )
        fixes.append(_reset("ArbTaskMaxIdle", idle))
    if values.get("UnsecAppAccessControlDefault") == 1:
        notes.append(
            "UnsecAppAccessControlDefault=1: callbacks of asynchronous calls (script sinks through "
            "unsecapp.exe) are refused unless the server authenticates, so async queries to hosts in "
            "untrusted domains or workgroups never return results; semisynchronous calls are unaffected"
        )
    if values.get("AllowAnonymousCallback") == 1:
        notes.append(
            "AllowAnonymousCallback=1: anonymous callbacks are accepted (needed only between computers "
            "without a trust relationship; elsewhere it only widens what can feed a client's sink)"
        )
        fixes.append(_reset("AllowAnonymousCallback", 1))
    if values.get("AutoRestoreEnabled") == 0:
        notes.append(
            "AutoRestoreEnabled=0: WMI does not restore its repository by itself when it finds it "
            "damaged, so a corruption stays until someone repairs it"
        )
        fixes.append(_reset("AutoRestoreEnabled", 0))
    if not warnings and not notes:
        return v.ok("The CIMOM values that change WMI's behaviour are absent or at their defaults.", evidence)
    fixes = [backup_key(CIMOM_KEY, "cimom"), *fixes, restart_winmgmt()] if fixes else []
    summary = "; ".join(warnings + notes) + "."
    if warnings:
        return v.warn(
            summary,
            evidence,
            causes=["a tuning guide or an application's installer changed the value"],
            fixes=fixes,
            codes=["0x80041032"],
        )
    return v.info(summary, evidence, fixes=fixes)


register_check(
    cimom_settings,
    "repository.cimom-settings",
    "CIMOM settings that change WMI's behaviour are at their defaults",
    severity="warning",
    needs=("repository",),
)
