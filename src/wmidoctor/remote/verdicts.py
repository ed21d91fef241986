"""From the failing stage to a verdict: the layer, the code and its catalogue entry, the most likely
cause, and the fix on the machine where it has to be made (target, client or the network between)."""

from __future__ import annotations

from dataclasses import dataclass

from wmidoctor.remote.model import FixStep, ProbeResult, StageResult, Verdict

WMI_FIREWALL = "Windows Management Instrumentation (WMI)"


@dataclass(frozen=True)
class Rule:
    cause: str
    where: str  # target | client | network
    fixes: tuple[tuple[str, str], ...] = ()


def _rule(cause: str, where: str, *fixes: tuple[str, str]) -> Rule:
    return Rule(cause, where, fixes)


REMOTE_UAC = _rule(
    "the account is local to the target: remote UAC strips the administrator token of local accounts that log "
    "on over the network, so DCOM activation and the WMI namespaces refuse it",
    "target",
    ("use a domain account that is a member of the target's Administrators (or of the groups below)", ""),
    ("or let local administrators keep their token remotely (weakens a protection; prefer a domain account)",
     "reg add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System /v LocalAccountTokenFilterPolicy "
     "/t REG_DWORD /d 1 /f"),
)

# (stage, reason) -> rule; reason "*" matches any reason of that stage.
RULES: dict[tuple[str, str], Rule] = {
    ("dns", "dns_not_found"): _rule(
        "the name does not resolve from this machine", "client",
        ("check the record from the client", "nslookup HOST"), ("use the FQDN or the IP address", "")),
    ("dns", "dns_timeout"): _rule("the resolver did not answer in time", "client",
                                  ("check /etc/resolv.conf or the DNS servers the client uses", "")),
    ("tcp_135", "refused"): _rule(
        "the host answered with a reset: RPCSS is not listening on 135 or the host firewall rejects it", "target",
        ("check the RPC service on the target", "Get-Service RpcSs,RpcEptMapper"),
        ("enable the WMI firewall rule group on the target",
         f"Enable-NetFirewallRule -DisplayGroup '{WMI_FIREWALL}'")),
    ("tcp_135", "no_answer"): _rule(
        "nothing came back: a firewall drops TCP 135 silently, or the host is down", "network",
        ("allow TCP 135 and the dynamic RPC range (49152-65535) from this client to the target on every "
         "firewall in between", ""),
        ("on the target, enable the WMI rule group", f"Enable-NetFirewallRule -DisplayGroup '{WMI_FIREWALL}'"),
        ("from a Windows machine on the same network, compare", "Test-NetConnection HOST -Port 135")),
    ("tcp_135", "unreachable"): _rule("there is no route from this client to the host", "network",
                                      ("check the client's routes and the target's address", "ip route get ADDRESS")),
    ("endpoint_mapper", "no_answer"): _rule(
        "TCP 135 accepts but no RPC reply comes: something other than RPCSS holds the port, or a middlebox "
        "(proxy, IPS) swallows DCE/RPC", "network",
        ("check what listens on 135 on the target", "Get-NetTCPConnection -LocalPort 135 -State Listen"),
        ("check inspection rules for MSRPC on firewalls in the path", "")),
    ("endpoint_mapper", "closed"): _rule(
        "RPCSS closed the connection: an RPC filter or 'Restrict Unauthenticated RPC clients' refuses anonymous "
        "endpoint-mapper calls", "target",
        ("list RPC filters on the target", "netsh rpc filter show filter")),
    ("endpoint_mapper", "bind_nak"): _rule("the RPC server refused the bind", "target",
                                          ("check RPC filters on the target", "netsh rpc filter show filter")),
    ("endpoint_mapper", "bind_nak_auth"): _rule(
        "the RPC server refused the bind's authentication", "target",
        ("check RPC filters and the RPC hardening policy on the target", "netsh rpc filter show filter")),
    ("authentication", "logon_failure"): _rule(
        "the target refused the credentials. Over DCE/RPC, NTLM gives no finer reason: wrong user or password, "
        "locked out, disabled or expired account, expired password, or a local account that does not exist on "
        "this target", "target",
        ("check the account in the domain", "Get-ADUser USER -Properties LockedOut,Enabled,PasswordExpired,"
                                            "AccountExpirationDate"),
        ("for a local account, on the target", "net user USER"),
        ("unlock it if it is locked out", "Unlock-ADAccount USER"),
        ("retry with --kerberos: the KDC names the exact reason (clock skew, locked, expired)", "")),
    ("authentication", "clock_skew"): _rule(
        "the client's clock is off from the domain's by more than Kerberos allows", "client",
        ("synchronise this machine's clock with the domain", "chronyc makestep  (or: timedatectl set-ntp true)")),
    ("authentication", "spn_unknown"): _rule(
        "no account holds the service principal name for this host name", "target",
        ("probe the name the computer account is registered with, or list its SPNs", "setspn -L HOST")),
    ("authentication", "account_revoked"): _rule(
        "the account is disabled, locked out or expired", "target",
        ("check the account", "Get-ADUser USER -Properties LockedOut,Enabled,AccountExpirationDate"),
        ("unlock it if it is locked out", "Unlock-ADAccount USER")),
    ("authentication", "password_expired"): _rule("the account's password has expired", "target",
                                                  ("set a new password for the account", "Set-ADAccountPassword USER")),
    ("authentication", "account_unknown"): _rule("the domain does not know this user", "client",
                                                 ("check the user name and --domain", "")),
    ("authentication", "logon_failure_kerberos"): _rule("wrong password for the account", "client",
                                                        ("check the password given", "")),
    ("activation", "activation_denied"): _rule(
        "DCOM refused to activate WMI for this account: it lacks Remote Launch / Remote Activation in the "
        "machine-wide launch limits, or DCOM is disabled on the target", "target",
        ("add the account to Distributed COM Users on the target",
         "Add-LocalGroupMember -Group 'Distributed COM Users' -Member DOMAIN\\USER"),
        ("check that DCOM is enabled (EnableDCOM = Y)",
         "reg query HKLM\\SOFTWARE\\Microsoft\\Ole /v EnableDCOM"),
        ("look for DCOM event 10016/10027/10036 on the target", "Get-WinEvent -FilterHashtable "
         "@{LogName='System'; ProviderName='Microsoft-Windows-DistributedCOM'} -MaxEvents 20")),
    ("activation", "*"): _rule(
        "the WMI service could not be activated on the target", "target",
        ("check the WMI service", "Get-Service Winmgmt; winmgmt /verifyrepository")),
    ("dynamic_port", "*"): _rule(
        "TCP 135 is open but the dynamic RPC port WMI was given is not: a firewall allows the endpoint mapper "
        "and not the dynamic range", "network",
        ("allow TCP 49152-65535 from this client to the target, or fix WMI to one port and allow that",
         "winmgmt /standalonehost  (then allow TCP 24158)"),
        ("on the target, enable the WMI rule group (it covers the WMI service, not only 135)",
         f"Enable-NetFirewallRule -DisplayGroup '{WMI_FIREWALL}'")),
    ("namespace_login", "access_denied"): _rule(
        "the namespace's security does not grant this account Enable Account and Remote Enable", "target",
        ("grant them in WMI Control (wmimgmt.msc > Properties > Security > the namespace)", "wmimgmt.msc"),
        ("or add the account to the target's Administrators", "")),
    ("namespace_login", "encryption_required"): _rule(
        "the namespace requires an encrypted connection (packet privacy); the client asked for packet integrity",
        "client",
        ("connect at packet privacy", "wmidoctor probe HOST --privacy  (PowerShell: -Authentication PacketPrivacy)")),
    ("namespace_login", "*"): _rule(
        "WMI refused the namespace", "target",
        ("list the namespaces that exist", "Get-CimInstance -Namespace root -ClassName __Namespace")),
    ("query", "query_timeout"): _rule(
        "the provider did not produce a row in time: it is slow, hung, or its host is out of quota", "target",
        ("look at the provider hosts and their quotas",
         "Get-CimInstance -Namespace root -ClassName __ProviderHostQuotaConfiguration")),
    ("query", "*"): _rule(
        "the query failed inside WMI on the target", "target",
        ("check the class and its provider", "Get-CimClass -Namespace NAMESPACE -ClassName CLASS"),
        ("look at WMI-Activity errors on the target", "Get-WinEvent -LogName "
         "Microsoft-Windows-WMI-Activity/Operational -MaxEvents 20")),
    ("*", "budget"): _rule("several stages were slow enough to use up the probe's time limit", "network",
                           ("raise --timeout, or look at the slowest stage", "")),
    ("*", "no_answer"): _rule("the server stopped answering mid-conversation", "network",
                              ("retry; check firewalls that inspect MSRPC or HTTP", "")),
    ("*", "closed"): _rule("the server closed the connection mid-conversation", "target",
                           ("look at the target's System and WMI-Activity logs around this time", "")),
    # WS-Man
    ("tcp_wsman", "refused"): _rule(
        "nothing listens on the WinRM port: the WinRM service or its listener is not set up", "target",
        ("set up WinRM on the target", "winrm quickconfig  (or: Enable-PSRemoting -Force)")),
    ("tcp_wsman", "no_answer"): _rule(
        "a firewall drops the WinRM port silently, or the host is down", "network",
        ("allow TCP 5985 (HTTP) / 5986 (HTTPS) from this client", ""),
        ("on the target", "Enable-NetFirewallRule -Name WINRM-HTTP-In-TCP")),
    ("identify", "*"): _rule(
        "the port answers but not as WS-Management", "target",
        ("check the listeners on the target", "winrm enumerate winrm/config/listener")),
    ("authentication_wsman", "*"): _rule(
        "WinRM refused the credentials or the authentication scheme", "target",
        ("check which schemes the service allows", "winrm get winrm/config/service/auth"),
        ("check the account", "Get-ADUser USER -Properties LockedOut,Enabled,PasswordExpired")),
    ("enumerate", "access_denied"): _rule(
        "WinRM or WMI refused this account", "target",
        ("grant Remote Enable on the namespace (wmimgmt.msc), or add the account to Remote Management Users",
         "Add-LocalGroupMember -Group 'Remote Management Users' -Member DOMAIN\\USER")),
    ("enumerate", "*"): _rule(
        "the enumeration failed inside WinRM or WMI on the target", "target",
        ("check the class and namespace exist", "Get-CimClass -Namespace NAMESPACE -ClassName CLASS")),
}


def _match(transport: str, stage: StageResult) -> tuple[Rule, bool]:
    """The rule for this stage and reason, and whether it was written for exactly that reason."""
    name = stage.name
    if transport == "wsman" and name in ("tcp", "authentication"):
        name = {"tcp": "tcp_wsman", "authentication": "authentication_wsman"}[name]
    reason = stage.reason
    if stage.name == "authentication" and reason == "logon_failure" and "Kerberos" in stage.detail:
        reason = "logon_failure_kerberos"
    for key in ((name, reason), (name, "*"), ("*", reason)):
        if key in RULES:
            return RULES[key], key == (name, reason)
    return _rule("see the code's explanation", "target"), False


# What a WS-Man fault carries: WMI's own status (0x8004xxxx) or a WinRM one (FACILITY_WINRM, 0x8033xxxx).
_FAULT_FACILITIES = (0x8004, 0x8033)
_CATALOGUE_FIXES = 4


def _catalogue_rule(code: int | None, where: str) -> Rule | None:
    """The code's own likeliest cause and first fixes from the catalogue, for a WS-Man fault that the rules
    above know only generically (None when the catalogue has no fixes for it)."""
    if code is None or code >> 16 not in _FAULT_FACILITIES:
        return None
    from wmidoctor.knowledge.codes import lookup

    entry = lookup(code)
    if not entry.known or not entry.fixes:
        return None
    return Rule(entry.causes[0] if entry.causes else entry.meaning, where,
                tuple((fix.step, fix.command) for fix in entry.fixes[:_CATALOGUE_FIXES]))


def verdict_for(result: ProbeResult, local_account: bool) -> Verdict | None:
    """The verdict of a probe, or None when every stage passed."""
    stage = result.failing_stage
    if stage is None:
        return None
    rule, exact = _match(result.transport, stage)
    if result.transport == "wsman" and not exact:
        rule = _catalogue_rule(stage.code, rule.where) or rule
    if local_account and stage.reason in ("activation_denied", "access_denied"):
        rule = Rule(REMOTE_UAC.cause + "; failing that, " + rule.cause, rule.where, REMOTE_UAC.fixes + rule.fixes)
    symbol, meaning = catalogue_entry(stage.code)
    return Verdict(stage=stage.name, layer=stage.layer, code=stage.code,
                   code_hex=f"0x{stage.code:08X}" if stage.code is not None else "",
                   symbol=symbol, meaning=meaning, cause=rule.cause, where=rule.where,
                   fixes=[FixStep(step, command) for step, command in rule.fixes])


def catalogue_entry(code: int | None) -> tuple[str, str]:
    """The code's symbol and meaning from the project's catalogue (`wmidoctor explain` shows the rest)."""
    if code is None:
        return "", ""
    from wmidoctor.knowledge.codes import explain

    entry = explain(code)
    return entry.symbol, entry.meaning
