"""From what was seen on the wire to a verdict: the stage, the code, the most likely cause (or the causes
the wire cannot tell apart), and the fix on the machine where it has to be made.

`judge(Observation)` is pure: no sockets, no impacket. The probe builds an Observation from its failing
stage; a capture reader (`wmidoctor pcap`) can build the same from the PDUs it decoded. The rules follow
/work/shared/reference/remote-failures.md ("what a real Windows host sends"), section by section.
"""

from __future__ import annotations

from dataclasses import dataclass

from wmidoctor.remote.model import ProbeResult, ProbeVerdict
from wmidoctor.vocabulary import Fix

WMI_FIREWALL = "Windows Management Instrumentation (WMI)"

# Carriers: what held the status on the wire.
FAULT, BIND_NAK, REPLY, KRB_ERROR, HTTP, SOAP_FAULT, SOCKET = (
    "fault",
    "bind_nak",
    "reply",
    "krb_error",
    "http",
    "soap_fault",
    "socket",
)

E_ACCESSDENIED = 0x80070005
WBEM_E_ACCESS_DENIED = 0x80041003
WBEM_S_TIMEDOUT = 0x00040004
ERROR_WSMAN_DESTINATION_UNREACHABLE = 0x80338012
ERROR_WSMAN_CANNOT_CONNECT = 0x80338126
NCA_S_UNK_IF = 0x1C010003

# Kerberos error codes (RFC 4120 section 7.5.9) the KDC answers with: reason tag and its words.
KERBEROS_ERRORS: dict[int, tuple[str, str]] = {
    1: ("krb_client_revoked", "KDC_ERR_NAME_EXP: the account has expired (what an MIT KDC answers)"),
    6: ("krb_client_unknown", "KDC_ERR_C_PRINCIPAL_UNKNOWN: the KDC does not know this user"),
    7: ("krb_server_unknown", "KDC_ERR_S_PRINCIPAL_UNKNOWN: no account holds the target's service principal name"),
    12: (
        "krb_policy",
        "KDC_ERR_POLICY: the KDC's policy refuses this ticket (logon hours, workstation, account restrictions)",
    ),
    14: ("krb_etype", "KDC_ERR_ETYPE_NOSUPP: no encryption type in common with the KDC"),
    18: ("krb_client_revoked", "KDC_ERR_CLIENT_REVOKED: the account is disabled, locked out or expired"),
    23: ("krb_password_expired", "KDC_ERR_KEY_EXPIRED: the password has expired"),
    24: ("krb_preauth_failed", "KDC_ERR_PREAUTH_FAILED: pre-authentication failed (wrong password)"),
    37: ("krb_clock_skew", "KRB_AP_ERR_SKEW: the clocks differ by more than the allowed skew (5 minutes by default)"),
}

# RPC fault statuses (as Win32 numbers) other than access denied, and what they say.
FAULT_REASONS: dict[int, str] = {
    0x721: "sec_pkg_error",  # RPC_S_SEC_PKG_ERROR
    0x6BB: "server_too_busy",  # RPC_S_SERVER_TOO_BUSY
    0x6BE: "server_went_away",  # RPC_S_CALL_FAILED
    0x6BF: "server_went_away",  # RPC_S_CALL_FAILED_DNE
    0x6B5: "server_went_away",  # RPC_S_UNKNOWN_IF: the object is gone
    0x80010108: "server_went_away",  # RPC_E_DISCONNECTED
    NCA_S_UNK_IF: "server_went_away",
}

NEXT_REASONS: dict[int, str] = {
    WBEM_S_TIMEDOUT: "query_timeout",
    0x80041010: "invalid_class",
    0x80041017: "invalid_query",
    0x80041013: "provider_load_failure",
    0x80041006: "quota",
    0x80041032: "call_cancelled",
    WBEM_E_ACCESS_DENIED: "provider_access_denied",
}


@dataclass(frozen=True)
class Observation:
    """One failing exchange as seen on the wire, plus what the conversation proved before it.

    stage: a stage name of the DCOM plan (dns, tcp_135, endpoint_mapper, kdc, authentication,
      activation, dynamic_port, namespace_login, query, fetch) or of the WS-Man plan (dns, tcp, identify,
      authentication, enumerate).
    carrier: fault | bind_nak | reply | krb_error | http | soap_fault | socket.
    code: the status as the carrier holds it (fault status 5 or 0x80010108; bind_nak reason; stub ErrorCode;
      KRB-ERROR code; HTTP status; WSManFault Code); None when nothing came back.
    reason: for carrier "socket" (and nothing else), what the socket said: refused, no_answer, unreachable,
      closed, deadline, certificate, dns_not_found, dns_timeout, budget.
    credentials_proved: an authenticated call succeeded earlier on (authenticated ServerAlive2, or a
      completed Negotiate exchange for WS-Man).
    privacy_retry: for ExecQuery's 0x80041003, how the same call fared at packet privacy: "ok", "denied",
      or "" when it was not retried (or was already at privacy).
    """

    stage: str
    carrier: str
    code: int | None = None
    transport: str = "dcom"
    reason: str = ""
    credentials_proved: bool = False
    local_account: bool = False
    privacy_retry: str = ""
    kerberos: bool = False


def hresult(status: int) -> int:
    """A Win32 status as the HRESULT a Windows client shows (5 -> 0x80070005); others unchanged."""
    return 0x80070000 | status if 0 < status < 0x10000 else status


def reason_for(obs: Observation) -> str:
    """The short tag the rules key on, from where the status sat and what it was."""
    code = obs.code
    if obs.carrier == SOCKET or code is None:
        return obs.reason or "no_answer"
    if obs.carrier == KRB_ERROR:
        return KERBEROS_ERRORS.get(code, ("krb_other", ""))[0]
    if obs.carrier == BIND_NAK:
        return {1: "bind_nak_busy", 4: "bind_nak_version", 8: "bind_nak_authn_type", 9: "bind_nak_security"}.get(
            code, "bind_nak"
        )
    if obs.carrier == FAULT:
        status = code & 0xFFFF if code >> 16 == 0x8007 else code
        if status == 5:
            if obs.stage == "activation":
                return "launch_denied" if obs.credentials_proved else "access_denied_unproved"
            if obs.stage in ("authentication", "endpoint_mapper"):
                return "logon_failure" if obs.stage == "authentication" else "anonymous_refused"
            return "access_denied"
        return FAULT_REASONS.get(status, "fault")
    if obs.carrier == REPLY:
        return _reply_reason(obs)
    if obs.carrier == HTTP:
        if code == 401 and obs.stage in ("authentication", "enumerate"):
            return "not_admitted" if obs.credentials_proved else "logon_failure"
        return "http"
    if obs.carrier == SOAP_FAULT:
        if code in (5, E_ACCESSDENIED, WBEM_E_ACCESS_DENIED):
            return "access_denied"
        return "wsman_fault"
    return "unknown"


def _reply_reason(obs: Observation) -> str:
    code = obs.code or 0
    if obs.stage == "activation":
        return {
            E_ACCESSDENIED: "activation_denied",
            0x8000401A: "runas_logon_failure",
            0x80080005: "server_exec_failure",
        }.get(code, "activation_failed")
    if obs.stage == "namespace_login":
        return {WBEM_E_ACCESS_DENIED: "namespace_access_denied", 0x8004100E: "namespace_missing"}.get(
            code, "wmi_status"
        )
    if obs.stage == "query":  # ExecQuery: namespace-level refusals
        if code == WBEM_E_ACCESS_DENIED:
            return {"ok": "encryption_required", "denied": "query_access_denied"}.get(
                obs.privacy_retry, "query_access_denied"
            )
        if code == 0x80041087:
            return "encryption_required"
        return NEXT_REASONS.get(code, "wmi_status")
    if obs.stage == "fetch":  # IEnumWbemClassObject::Next: class, query and provider errors
        return NEXT_REASONS.get(code, "wmi_status")
    return FAULT_REASONS.get(code, "wmi_status")


@dataclass(frozen=True)
class Rule:
    cause: str
    where: str  # target | client | network
    fixes: tuple[tuple[str, str], ...] = ()
    ambiguous: bool = False


def _rule(cause: str, where: str, *fixes: tuple[str, str], ambiguous: bool = False) -> Rule:
    return Rule(cause, where, fixes, ambiguous)


REMOTE_UAC = _rule(
    "the account is local to the target: remote UAC strips the administrator token of local accounts other "
    "than the built-in Administrator that log on over the network, so DCOM activation and WMI refuse it",
    "target",
    ("use a domain account that is a member of the target's Administrators", ""),
    (
        "or let local administrators keep their token remotely (weakens a protection; prefer a domain account)",
        "reg add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System /v LocalAccountTokenFilterPolicy "
        "/t REG_DWORD /d 1 /f",
    ),
)
# Reasons where a local account's refusal is most likely remote UAC.
UAC_REASONS = frozenset(
    {
        "launch_denied",
        "access_denied_unproved",
        "activation_denied",
        "namespace_access_denied",
        "provider_access_denied",
        "query_access_denied",
        "not_admitted",
        "access_denied",
    }
)

_CHECK_ACCOUNT = (
    "check the account in the domain",
    "Get-ADUser USER -Properties LockedOut,Enabled,PasswordExpired,AccountExpirationDate",
)
_LAUNCH_RIGHTS = (
    "grant Remote Launch and Remote Activation: add the account to Distributed COM Users on the target",
    "Add-LocalGroupMember -Group 'Distributed COM Users' -Member DOMAIN\\USER",
)
_DCOM_EVENTS = (
    "look for DCOM events 10016/10027/10036 in the target's System log",
    "Get-WinEvent -FilterHashtable @{LogName='System'; ProviderName='Microsoft-Windows-DistributedCOM'} -MaxEvents 20",
)
_FAILED_LOGONS = (
    "read the failed logon's sub-status on the target or the DC (Security 4625 / 4776)",
    "Get-WinEvent -FilterHashtable @{LogName='Security'; Id=4625,4776} -MaxEvents 10",
)
_WENT_AWAY = (
    "look at the target's System log for the WMI service or its provider host stopping "
    "(7031/7034) and WMI-Activity 5612 (quota kill)",
    "Get-WinEvent -FilterHashtable @{LogName='System'; Id=7031,7034} -MaxEvents 10",
)

# (stage, reason) -> rule; stage "*" matches any stage.
RULES: dict[tuple[str, str], Rule] = {
    ("dns", "dns_not_found"): _rule(
        "the name does not resolve from this machine",
        "client",
        ("check the record from the client", "nslookup HOST"),
        ("use the FQDN or the IP address", ""),
    ),
    ("dns", "dns_timeout"): _rule(
        "the resolver did not answer in time",
        "client",
        ("check /etc/resolv.conf or the DNS servers the client uses", ""),
    ),
    ("tcp_135", "refused"): _rule(
        "the host answered with a reset: RPCSS is not listening on 135 or the host firewall rejects it",
        "target",
        ("check the RPC service on the target", "Get-Service RpcSs,RpcEptMapper"),
        ("enable the WMI firewall rule group on the target", f"Enable-NetFirewallRule -DisplayGroup '{WMI_FIREWALL}'"),
    ),
    ("tcp_135", "no_answer"): _rule(
        "nothing came back: a firewall drops TCP 135 silently, or the host is down",
        "network",
        (
            "allow TCP 135 and the dynamic RPC range (49152-65535) from this client to the target on every "
            "firewall in between",
            "",
        ),
        ("on the target, enable the WMI rule group", f"Enable-NetFirewallRule -DisplayGroup '{WMI_FIREWALL}'"),
        ("from a Windows machine on the same network, compare", "Test-NetConnection HOST -Port 135"),
    ),
    ("tcp_135", "unreachable"): _rule(
        "there is no route from this client to the host",
        "network",
        ("check the client's routes and the target's address", "ip route get ADDRESS"),
    ),
    ("endpoint_mapper", "no_answer"): _rule(
        "TCP 135 accepts but no RPC reply comes: something other than RPCSS holds the port, or a middlebox "
        "(proxy, IPS) swallows DCE/RPC",
        "network",
        ("check what listens on 135 on the target", "Get-NetTCPConnection -LocalPort 135 -State Listen"),
        ("check inspection rules for MSRPC on firewalls in the path", ""),
    ),
    ("endpoint_mapper", "closed"): _rule(
        "RPCSS closed the connection: an RPC filter refuses anonymous endpoint-mapper calls",
        "target",
        ("list RPC filters on the target", "netsh rpc filter show filter"),
    ),
    ("endpoint_mapper", "anonymous_refused"): _rule(
        "RPCSS refused the anonymous ServerAlive2 with access denied: 'Restrict Unauthenticated RPC clients' "
        "(RestrictRemoteClients) or an RPC filter",
        "target",
        (
            "check the policy on the target",
            'reg query "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc" /v RestrictRemoteClients',
        ),
        ("list RPC filters on the target", "netsh rpc filter show filter"),
    ),
    ("*", "bind_nak"): _rule(
        "the RPC server refused the bind", "target", ("check RPC filters on the target", "netsh rpc filter show filter")
    ),
    ("*", "bind_nak_version"): _rule(
        "the RPC server refused the protocol version of the bind",
        "target",
        ("check that 135 is Windows RPCSS and not another RPC server", ""),
    ),
    ("*", "bind_nak_busy"): _rule(
        "the RPC server refused the bind for temporary congestion",
        "target",
        ("retry later; check the target's load", ""),
    ),
    ("*", "bind_nak_authn_type"): _rule(
        "the target does not offer the authentication type asked for (bind_nak reason 8)",
        "target",
        ("use the other one (NTLM or --kerberos)", ""),
        ("check NTLM restrictions on the target (Network security: Restrict NTLM)", ""),
    ),
    ("*", "bind_nak_security"): _rule(
        "the target refused the security context in the bind (bind_nak reason 9): with Kerberos, a service "
        "ticket it cannot accept — a stale ticket, the SPN registered on another account, or a key that "
        "changed (computer password reset, duplicate computer name)",
        "target",
        ("check which account holds the target's SPN", "setspn -Q HOST/NAME"),
        ("check the computer account's secure channel on the target", "Test-ComputerSecureChannel -Verbose"),
        ("retry with NTLM (no --kerberos) to see whether the account itself is fine", ""),
    ),
    ("authentication", "logon_failure"): _rule(
        "the target refused the credentials on an authenticated call that needs no right beyond logging on "
        "(ServerAlive2): wrong user or password, locked out, disabled or expired account, expired password, or "
        "a local account that does not exist on this target. NTLM over DCE/RPC carries no finer reason",
        "target",
        _CHECK_ACCOUNT,
        ("for a local account, on the target", "net user USER"),
        _FAILED_LOGONS,
        ("retry with --kerberos: the KDC names the exact reason", ""),
    ),
    ("*", "sec_pkg_error"): _rule(
        "the security package failed (RPC_S_SEC_PKG_ERROR): NTLM restricted or NTLMv1 refused by policy, or a "
        "Kerberos key or time problem",
        "target",
        (
            "check 'Network security: Restrict NTLM' and LAN Manager authentication level on the target and DCs",
            "reg query HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v LmCompatibilityLevel",
        ),
        ("compare the clocks of client, target and DC", "w32tm /stripchart /computer:HOST /samples:3"),
    ),
    ("*", "server_too_busy"): _rule(
        "the target's RPC server is overloaded (RPC_S_SERVER_TOO_BUSY)",
        "target",
        ("retry later; look at the target's CPU and RPC load", ""),
    ),
    ("*", "server_went_away"): _rule(
        "WMI or its provider host went away during the conversation (restarted, crashed, or killed by quota)",
        "target",
        ("reconnect and retry", ""),
        _WENT_AWAY,
    ),
    ("activation", "launch_denied"): _rule(
        "the credentials are valid (an authenticated ServerAlive2 succeeded on the same connection) but DCOM "
        "refused to launch or activate WMI for this account: it lacks Remote Launch / Remote Activation in the "
        "machine-wide limits, or it is a local administrator filtered by remote UAC",
        "target",
        _LAUNCH_RIGHTS,
        _DCOM_EVENTS,
    ),
    ("activation", "access_denied_unproved"): _rule(
        "RemoteCreateInstance was refused with RPC fault 5, and no earlier authenticated call proved the "
        "credentials: a wrong password and a valid account without Remote Launch / Activation rights (or "
        "filtered by remote UAC) look the same on the wire and cannot be told apart here",
        "target",
        _CHECK_ACCOUNT,
        _LAUNCH_RIGHTS,
        _FAILED_LOGONS,
        ambiguous=True,
    ),
    ("activation", "activation_denied"): _rule(
        "the credentials were accepted and DCOM refused the activation (E_ACCESSDENIED in the reply): the "
        "account lacks Remote Launch / Remote Activation, DCOM is disabled, or the activation was below packet "
        "integrity (DCOM hardening, target event 10036)",
        "target",
        _LAUNCH_RIGHTS,
        ("check that DCOM is enabled (EnableDCOM = Y)", "reg query HKLM\\SOFTWARE\\Microsoft\\Ole /v EnableDCOM"),
        _DCOM_EVENTS,
    ),
    ("activation", "runas_logon_failure"): _rule(
        "the server is set to run as the interactive user and nobody is logged on (CO_E_RUNAS_LOGON_FAILURE)",
        "target",
        ("check the identity of the WMI AppID in dcomcnfg", "dcomcnfg"),
    ),
    ("activation", "server_exec_failure"): _rule(
        "DCOM could not start the WMI server (CO_E_SERVER_EXEC_FAILURE)",
        "target",
        ("check the WMI service", "Get-Service Winmgmt; winmgmt /verifyrepository"),
    ),
    ("activation", "activation_failed"): _rule(
        "the WMI service could not be activated on the target",
        "target",
        ("check the WMI service", "Get-Service Winmgmt; winmgmt /verifyrepository"),
    ),
    ("dynamic_port", "*"): _rule(
        "TCP 135 is open but the dynamic RPC port WMI was given is not: a firewall allows the endpoint mapper "
        "and not the dynamic range",
        "network",
        (
            "allow TCP 49152-65535 from this client to the target, or fix WMI to one port and allow that",
            "winmgmt /standalonehost  (then allow TCP 24158)",
        ),
        (
            "on the target, enable the WMI rule group (it covers the WMI service, not only 135)",
            f"Enable-NetFirewallRule -DisplayGroup '{WMI_FIREWALL}'",
        ),
    ),
    ("dynamic_port", "no_binding"): _rule(
        "the activation reply named no TCP binding with a port",
        "target",
        ("check the target's DCOM protocols (ncacn_ip_tcp must be listed)", "dcomcnfg"),
    ),
    ("namespace_login", "namespace_access_denied"): _rule(
        "the namespace's security does not grant this account Enable Account and Remote Enable",
        "target",
        ("grant them in WMI Control (wmimgmt.msc > Properties > Security > the namespace)", "wmimgmt.msc"),
        ("or add the account to the target's Administrators", ""),
    ),
    ("namespace_login", "namespace_missing"): _rule(
        "the namespace does not exist on the target (missing or misspelt)",
        "target",
        ("list the namespaces that exist", "Get-CimInstance -Namespace root -ClassName __Namespace"),
    ),
    ("namespace_login", "*"): _rule(
        "WMI refused the namespace",
        "target",
        ("list the namespaces that exist", "Get-CimInstance -Namespace root -ClassName __Namespace"),
    ),
    ("query", "encryption_required"): _rule(
        "the namespace requires an encrypted connection: ExecQuery was refused at packet integrity and "
        "accepted at packet privacy (the target logs WMI event 5605)",
        "client",
        (
            "connect at packet privacy",
            "wmidoctor probe HOST --privacy  (PowerShell: -Authentication PacketPrivacy; "
            "impacket: -rpc-auth-level privacy)",
        ),
    ),
    ("query", "query_access_denied"): _rule(
        "ExecQuery was refused with WBEM_E_ACCESS_DENIED, also at packet privacy: the namespace or the "
        "provider denies this account",
        "target",
        ("grant Enable Account and Remote Enable on the namespace", "wmimgmt.msc"),
        (
            "look at WMI-Activity errors on the target",
            "Get-WinEvent -LogName Microsoft-Windows-WMI-Activity/Operational -MaxEvents 20",
        ),
    ),
    ("*", "query_timeout"): _rule(
        "the provider did not produce a row within Next's time-out (WBEM_S_TIMEDOUT): it is slow or hung, or "
        "its host is out of quota",
        "target",
        (
            "look at the provider hosts and their quotas",
            "Get-CimInstance -Namespace root -ClassName __ProviderHostQuotaConfiguration",
        ),
        ("raise --timeout if the provider is known to be slow", ""),
    ),
    ("*", "invalid_class"): _rule(
        "the class does not exist in this namespace",
        "target",
        ("check the class name and namespace", "Get-CimClass -Namespace NAMESPACE -ClassName CLASS"),
    ),
    ("*", "invalid_query"): _rule("WMI could not parse the query", "client", ("check the WQL syntax of --query", "")),
    ("*", "provider_load_failure"): _rule(
        "the class's provider failed to load",
        "target",
        ("find the provider and its registration", "Get-CimInstance -Namespace NAMESPACE -ClassName __Win32Provider"),
        (
            "look at WMI-Activity errors on the target",
            "Get-WinEvent -LogName Microsoft-Windows-WMI-Activity/Operational -MaxEvents 20",
        ),
    ),
    ("*", "quota"): _rule(
        "WMI or the provider host ran out of memory or quota",
        "target",
        (
            "look at the provider host quotas",
            "Get-CimInstance -Namespace root -ClassName __ProviderHostQuotaConfiguration",
        ),
    ),
    ("*", "call_cancelled"): _rule("the call was cancelled on the target", "target", ("retry", "")),
    ("*", "provider_access_denied"): _rule(
        "the provider refused this account for this class (access denied from Next)",
        "target",
        ("grant the account the rights the provider checks, or use an administrator", ""),
    ),
    ("*", "wmi_status"): _rule(
        "the call failed inside WMI on the target",
        "target",
        (
            "look at WMI-Activity errors on the target",
            "Get-WinEvent -LogName Microsoft-Windows-WMI-Activity/Operational -MaxEvents 20",
        ),
    ),
    # Kerberos: a KRB-ERROR means the same whether the KDC sent it (stage kdc) or the target's service answered
    # the ticket with it (seen in a capture, stage authentication)
    ("*", "krb_client_unknown"): _rule(
        "the domain does not know this user", "client", ("check the user name and --realm/--domain", "")
    ),
    ("*", "krb_server_unknown"): _rule(
        "no account holds the service principal name for this host name (the name probed is not the one the "
        "computer is registered with, or it is an address)",
        "target",
        ("probe the computer's registered name, or list its SPNs", "setspn -L HOST"),
    ),
    ("*", "krb_policy"): _rule(
        "the KDC's policy refuses this logon",
        "target",
        (
            "check the account's logon hours, workstations and restrictions",
            "Get-ADUser USER -Properties LogonHours,LogonWorkstations",
        ),
    ),
    ("*", "krb_etype"): _rule(
        "the client and the KDC share no encryption type (for example RC4 disabled and no AES keys for the account)",
        "target",
        (
            "check the account's supported encryption types; reset its password to create AES keys",
            "Get-ADUser USER -Properties msDS-SupportedEncryptionTypes",
        ),
    ),
    ("*", "krb_client_revoked"): _rule(
        "the account is disabled, locked out or expired",
        "target",
        _CHECK_ACCOUNT,
        ("unlock it if it is locked out", "Unlock-ADAccount USER"),
    ),
    ("*", "krb_password_expired"): _rule(
        "the account's password has expired", "target", ("set a new password", "Set-ADAccountPassword USER")
    ),
    ("*", "krb_preauth_failed"): _rule(
        "wrong password for the account (the KDC says so)", "client", ("check the password given", "")
    ),
    ("*", "krb_clock_skew"): _rule(
        "this machine's clock differs from the KDC's by more than Kerberos allows",
        "client",
        ("synchronise this machine's clock with the domain", "chronyc makestep  (or: timedatectl set-ntp true)"),
    ),
    ("*", "krb_other"): _rule("the KDC refused the request", "target", ("see the KRB-ERROR code", "")),
    ("kdc", "no_answer"): _rule(
        "the KDC did not answer in time (down, filtered, or the wrong address)",
        "network",
        ("check which KDC is used and that TCP/UDP 88 reach it", "nslookup -type=SRV _kerberos._tcp.REALM"),
        ("name the KDC with --kdc HOST", ""),
    ),
    ("kdc", "refused"): _rule(
        "nothing listens on the KDC's port 88", "network", ("check the KDC address (--kdc HOST) and its service", "")
    ),
    ("kdc", "missing"): _rule(
        "no Kerberos domain to ask", "client", ("give --realm REALM (and --kdc HOST when DNS does not find it)", "")
    ),
    ("*", "budget"): _rule(
        "several stages were slow enough to use up the probe's time limit",
        "network",
        ("raise --timeout, or look at the slowest stage", ""),
    ),
    ("*", "deadline"): _rule(
        "the server kept the stage busy past its time limit (it answers, but too slowly)",
        "network",
        ("look at the slowest stage; raise --timeout", ""),
    ),
    ("*", "no_answer"): _rule(
        "the server stopped answering mid-conversation",
        "network",
        ("retry; check firewalls that inspect MSRPC or HTTP", ""),
    ),
    ("*", "closed"): _rule(
        "the server closed the connection mid-conversation",
        "target",
        ("look at the target's System and WMI-Activity logs around this time", ""),
    ),
}

WSMAN_RULES: dict[tuple[str, str], Rule] = {
    ("tcp", "refused"): _rule(
        "nothing listens on the WinRM port: the WinRM service or its listener is not set up "
        "(ERROR_WSMAN_DESTINATION_UNREACHABLE)",
        "target",
        ("set up WinRM on the target", "winrm quickconfig  (or: Enable-PSRemoting -Force)"),
        ("list the listeners", "winrm enumerate winrm/config/listener"),
    ),
    ("tcp", "no_answer"): _rule(
        "a firewall drops the WinRM port silently, or the host is down",
        "network",
        ("allow TCP 5985 (HTTP) / 5986 (HTTPS) from this client", ""),
        ("on the target", "Enable-NetFirewallRule -Name WINRM-HTTP-In-TCP"),
    ),
    ("*", "certificate"): _rule(
        "the listener's certificate is not trusted by this client (unknown CA, or the name does not match the "
        "host name used): a client-side trust problem, not a network one",
        "client",
        ("probe the name the certificate was issued to, or add its CA to this machine's trust store", ""),
        ("see the certificate", "openssl s_client -connect HOST:5986 -showcerts </dev/null"),
    ),
    ("identify", "*"): _rule(
        "the port answers but not as WS-Management",
        "target",
        ("check the listeners on the target", "winrm enumerate winrm/config/listener"),
    ),
    ("authentication", "logon_failure"): _rule(
        "WinRM refused the credentials: the Negotiate exchange did not complete (wrong user or password, "
        "locked, disabled or expired account, or the scheme is disabled)",
        "target",
        ("check which schemes the service allows", "winrm get winrm/config/service/auth"),
        _CHECK_ACCOUNT,
    ),
    ("*", "not_admitted"): _rule(
        "the credentials are valid (the Negotiate exchange completed) but WinRM does not admit the account: "
        "RootSDDL grants only Administrators and Remote Management Users by default, or remote UAC filters a "
        "local administrator",
        "target",
        (
            "add the account to Remote Management Users",
            "Add-LocalGroupMember -Group 'Remote Management Users' -Member DOMAIN\\USER",
        ),
        ("see who is admitted", "winrm get winrm/config/service  (RootSDDL)"),
    ),
    ("authentication", "gssapi_missing"): _rule(
        "WS-Man Kerberos from this machine needs the python gssapi package, which is not installed",
        "client",
        ("install the extra", "pip install 'wmidoctor[kerberos]'"),
    ),
    ("*", "tls"): _rule(
        "the TLS handshake with the listener failed",
        "target",
        ("check the HTTPS listener's certificate and protocols", "winrm enumerate winrm/config/listener"),
    ),
    ("authentication", "http"): _rule(
        "WinRM answered the authentication with an HTTP error, not a 401 or a result",
        "target",
        ("look at the WinRM service on the target", "winrm get winrm/config"),
    ),
    ("enumerate", "access_denied"): _rule(
        "WinRM or WMI refused this account",
        "target",
        (
            "grant Remote Enable on the namespace (wmimgmt.msc), or add the account to Remote Management Users",
            "Add-LocalGroupMember -Group 'Remote Management Users' -Member DOMAIN\\USER",
        ),
    ),
    ("enumerate", "http"): _rule(
        "WinRM answered with an HTTP error that is not a WS-Management fault (a proxy, or a broken listener)",
        "target",
        ("check the listeners on the target", "winrm enumerate winrm/config/listener"),
    ),
    ("enumerate", "*"): _rule(
        "the enumeration failed inside WinRM or WMI on the target",
        "target",
        ("check the class and namespace exist", "Get-CimClass -Namespace NAMESPACE -ClassName CLASS"),
    ),
}

# What a Windows client shows when the socket gives no status.
SOCKET_CODES = {
    ("dcom", "refused"): 0x800706BA,
    ("dcom", "no_answer"): 0x800706BA,
    ("dcom", "unreachable"): 0x800706BA,
    ("wsman", "refused"): ERROR_WSMAN_DESTINATION_UNREACHABLE,
    ("wsman", "no_answer"): ERROR_WSMAN_CANNOT_CONNECT,
    ("wsman", "unreachable"): ERROR_WSMAN_CANNOT_CONNECT,
    ("dcom", "closed"): 0x800706BE,
    ("dcom", "deadline"): 0x800705B4,
    ("dcom", "budget"): 0x800705B4,
    ("wsman", "deadline"): 0x800705B4,
    ("wsman", "budget"): 0x800705B4,
}


def client_code(obs: Observation) -> int | None:
    """The code a Windows client would report for this observation (None when it has none to show)."""
    if obs.carrier == SOCKET or obs.code is None:
        return SOCKET_CODES.get((obs.transport, obs.reason))
    if obs.carrier in (FAULT, SOAP_FAULT):
        return hresult(obs.code) if obs.code != NCA_S_UNK_IF else 0x800706B5
    if obs.carrier == REPLY:
        return obs.code
    if obs.carrier == HTTP and obs.code == 401:
        return E_ACCESSDENIED
    return None  # bind_nak reasons, KRB-ERROR codes and HTTP statuses are not Windows codes: they stay in detail


# Reasons that mean the same at any stage: their general rule beats a stage's catch-all.
GENERAL_REASONS = frozenset(
    {
        "sec_pkg_error",
        "server_too_busy",
        "server_went_away",
        "bind_nak",
        "bind_nak_version",
        "bind_nak_busy",
        "bind_nak_authn_type",
        "bind_nak_security",
        "budget",
        "deadline",
        "certificate",
        "query_timeout",
    }
)


def _match(obs: Observation, reason: str) -> Rule:
    tables = (WSMAN_RULES, RULES) if obs.transport == "wsman" else (RULES,)
    order = (
        ((obs.stage, reason), ("*", reason), (obs.stage, "*"))
        if reason in GENERAL_REASONS
        else ((obs.stage, reason), (obs.stage, "*"), ("*", reason))
    )
    for table in tables:
        for key in order:
            if key in table:
                return table[key]
    return _rule("see the code's explanation", "target")


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
    return Rule(
        entry.causes[0] if entry.causes else entry.meaning,
        where,
        tuple((fix.step, fix.command) for fix in entry.fixes[:_CATALOGUE_FIXES]),
    )


PROOFS = {
    "launch_denied": "credentials accepted: an authenticated ServerAlive2 succeeded before RemoteCreateInstance",
    "activation_denied": "credentials accepted: DCOM answered RemoteCreateInstance with its own status",
    "logon_failure": "credentials refused on the first authenticated call",
    "access_denied_unproved": "not proved: no authenticated call succeeded before the refusal",
    "not_admitted": "credentials accepted: the server completed the Negotiate exchange",
    "encryption_required": "ExecQuery refused at packet integrity and accepted at packet privacy",
    "query_access_denied": "ExecQuery refused at packet integrity and at packet privacy",
}


def judge(obs: Observation) -> ProbeVerdict:
    """The verdict for one observation. Pure: the same observation always gives the same verdict."""
    reason = reason_for(obs)
    rule = _match(obs, reason)
    code = client_code(obs)
    if obs.transport == "wsman" and obs.carrier == SOAP_FAULT and reason == "wsman_fault":
        rule = _catalogue_rule(code, rule.where) or rule
    if obs.local_account and reason in UAC_REASONS:
        rule = Rule(
            REMOTE_UAC.cause + "; failing that, " + rule.cause,
            rule.where,
            REMOTE_UAC.fixes + rule.fixes,
            rule.ambiguous,
        )
    symbol, meaning = catalogue_entry(code)
    if obs.carrier == KRB_ERROR and obs.code is not None:
        symbol, meaning = f"KRB-ERROR {obs.code}", KERBEROS_ERRORS.get(obs.code, ("", "Kerberos error"))[1]
    elif obs.carrier == BIND_NAK and obs.code is not None:
        symbol, meaning = f"bind_nak reason {obs.code}", ""
    layer = _layer(obs)
    return ProbeVerdict(
        stage=obs.stage,
        layer=layer,
        code=code,
        code_hex=f"0x{code:08X}" if code is not None else "",
        symbol=symbol,
        meaning=meaning,
        cause=rule.cause,
        where=rule.where,
        fixes=[Fix(step, command) for step, command in rule.fixes],
        proof=PROOFS.get(reason, ""),
        ambiguous=rule.ambiguous,
    )


def _layer(obs: Observation) -> str:
    if obs.carrier in (KRB_ERROR,) or obs.stage in ("kdc", "authentication"):
        return "authentication"
    if obs.stage == "activation" and obs.carrier != SOCKET:
        return "dcom"
    if obs.carrier == SOCKET and obs.stage in ("dns", "tcp", "tcp_135", "dynamic_port"):
        return "network"
    if obs.carrier == BIND_NAK or obs.carrier == FAULT:
        return "rpc"
    if obs.stage == "activation":
        return "dcom"
    if obs.stage in ("namespace_login", "query", "fetch"):
        return "wmi"
    if obs.carrier in (HTTP, SOAP_FAULT):
        return "wmi" if obs.code is not None and obs.code >> 16 == 0x8004 else "wsman"
    return "network" if obs.carrier == SOCKET else "rpc"


def observation_of(result: ProbeResult, local_account: bool) -> Observation | None:
    """The Observation of a probe's failing stage (None when every stage passed)."""
    stage = result.failing_stage
    if stage is None:
        return None
    carrier = stage.carrier or SOCKET
    return Observation(
        stage=stage.name,
        carrier=carrier,
        code=stage.raw if carrier != SOCKET else None,
        transport=result.transport,
        reason=stage.reason if carrier == SOCKET else "",
        credentials_proved=bool(result.facts.get("credentials_proved")),
        local_account=local_account,
        privacy_retry=str(result.facts.get("privacy_retry", "")),
        kerberos=bool(result.facts.get("kerberos")),
    )


def verdict_for(result: ProbeResult, local_account: bool) -> ProbeVerdict | None:
    """The verdict of a probe, or None when every stage passed."""
    obs = observation_of(result, local_account)
    return judge(obs) if obs is not None else None


def catalogue_entry(code: int | None) -> tuple[str, str]:
    """The code's symbol and meaning from the project's catalogue (`wmidoctor explain` shows the rest)."""
    if code is None:
        return "", ""
    from wmidoctor.knowledge.codes import explain

    entry = explain(code)
    return entry.symbol, entry.meaning
