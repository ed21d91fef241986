"""Well-known security identifiers: their account names and their two-letter SDDL aliases.

Names follow what Windows shows in English ("BUILTIN\\Administrators", "NT AUTHORITY\\SYSTEM").
Domain-relative SIDs (S-1-5-21-<domain>-<rid>) are named by their well-known relative id.
"""

from __future__ import annotations

WELL_KNOWN_SIDS: dict[str, str] = {
    "S-1-0-0": "NULL SID",
    "S-1-1-0": "Everyone",
    "S-1-2-0": "LOCAL",
    "S-1-2-1": "CONSOLE LOGON",
    "S-1-3-0": "CREATOR OWNER",
    "S-1-3-1": "CREATOR GROUP",
    "S-1-3-2": "CREATOR OWNER SERVER",
    "S-1-3-3": "CREATOR GROUP SERVER",
    "S-1-3-4": "OWNER RIGHTS",
    "S-1-5": "NT AUTHORITY",
    "S-1-5-1": "NT AUTHORITY\\DIALUP",
    "S-1-5-2": "NT AUTHORITY\\NETWORK",
    "S-1-5-3": "NT AUTHORITY\\BATCH",
    "S-1-5-4": "NT AUTHORITY\\INTERACTIVE",
    "S-1-5-6": "NT AUTHORITY\\SERVICE",
    "S-1-5-7": "NT AUTHORITY\\ANONYMOUS LOGON",
    "S-1-5-8": "NT AUTHORITY\\PROXY",
    "S-1-5-9": "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS",
    "S-1-5-10": "NT AUTHORITY\\SELF",
    "S-1-5-11": "NT AUTHORITY\\Authenticated Users",
    "S-1-5-12": "NT AUTHORITY\\RESTRICTED",
    "S-1-5-13": "NT AUTHORITY\\TERMINAL SERVER USER",
    "S-1-5-14": "NT AUTHORITY\\REMOTE INTERACTIVE LOGON",
    "S-1-5-15": "NT AUTHORITY\\This Organization",
    "S-1-5-17": "NT AUTHORITY\\IUSR",
    "S-1-5-18": "NT AUTHORITY\\SYSTEM",
    "S-1-5-19": "NT AUTHORITY\\LOCAL SERVICE",
    "S-1-5-20": "NT AUTHORITY\\NETWORK SERVICE",
    "S-1-5-32-544": "BUILTIN\\Administrators",
    "S-1-5-32-545": "BUILTIN\\Users",
    "S-1-5-32-546": "BUILTIN\\Guests",
    "S-1-5-32-547": "BUILTIN\\Power Users",
    "S-1-5-32-548": "BUILTIN\\Account Operators",
    "S-1-5-32-549": "BUILTIN\\Server Operators",
    "S-1-5-32-550": "BUILTIN\\Print Operators",
    "S-1-5-32-551": "BUILTIN\\Backup Operators",
    "S-1-5-32-552": "BUILTIN\\Replicator",
    "S-1-5-32-554": "BUILTIN\\Pre-Windows 2000 Compatible Access",
    "S-1-5-32-555": "BUILTIN\\Remote Desktop Users",
    "S-1-5-32-556": "BUILTIN\\Network Configuration Operators",
    "S-1-5-32-558": "BUILTIN\\Performance Monitor Users",
    "S-1-5-32-559": "BUILTIN\\Performance Log Users",
    "S-1-5-32-562": "BUILTIN\\Distributed COM Users",
    "S-1-5-32-568": "BUILTIN\\IIS_IUSRS",
    "S-1-5-32-569": "BUILTIN\\Cryptographic Operators",
    "S-1-5-32-573": "BUILTIN\\Event Log Readers",
    "S-1-5-32-574": "BUILTIN\\Certificate Service DCOM Access",
    "S-1-5-32-575": "BUILTIN\\RDS Remote Access Servers",
    "S-1-5-32-576": "BUILTIN\\RDS Endpoint Servers",
    "S-1-5-32-577": "BUILTIN\\RDS Management Servers",
    "S-1-5-32-578": "BUILTIN\\Hyper-V Administrators",
    "S-1-5-32-579": "BUILTIN\\Access Control Assistance Operators",
    "S-1-5-32-580": "BUILTIN\\Remote Management Users",
    "S-1-5-33": "NT AUTHORITY\\WRITE RESTRICTED",
    "S-1-5-64-10": "NT AUTHORITY\\NTLM Authentication",
    "S-1-5-64-14": "NT AUTHORITY\\SChannel Authentication",
    "S-1-5-64-21": "NT AUTHORITY\\Digest Authentication",
    "S-1-5-80-0": "NT SERVICE\\ALL SERVICES",
    "S-1-5-84-0-0-0-0-0": "NT AUTHORITY\\USER MODE DRIVERS",
    "S-1-5-113": "NT AUTHORITY\\Local account",
    "S-1-5-114": "NT AUTHORITY\\Local account and member of Administrators group",
    "S-1-15-2-1": "APPLICATION PACKAGE AUTHORITY\\ALL APPLICATION PACKAGES",
    "S-1-15-2-2": "APPLICATION PACKAGE AUTHORITY\\ALL RESTRICTED APPLICATION PACKAGES",
    "S-1-16-0": "Mandatory Label\\Untrusted Mandatory Level",
    "S-1-16-4096": "Mandatory Label\\Low Mandatory Level",
    "S-1-16-8192": "Mandatory Label\\Medium Mandatory Level",
    "S-1-16-8448": "Mandatory Label\\Medium Plus Mandatory Level",
    "S-1-16-12288": "Mandatory Label\\High Mandatory Level",
    "S-1-16-16384": "Mandatory Label\\System Mandatory Level",
    "S-1-16-20480": "Mandatory Label\\Protected Process Mandatory Level",
    "S-1-18-1": "Authentication authority asserted identity",
    "S-1-18-2": "Service asserted identity",
}

# Relative ids of accounts and groups inside a domain or a machine's account database.
DOMAIN_RIDS: dict[int, str] = {
    500: "Administrator",
    501: "Guest",
    502: "krbtgt",
    512: "Domain Admins",
    513: "Domain Users",
    514: "Domain Guests",
    515: "Domain Computers",
    516: "Domain Controllers",
    517: "Cert Publishers",
    518: "Schema Admins",
    519: "Enterprise Admins",
    520: "Group Policy Creator Owners",
    521: "Read-only Domain Controllers",
    553: "RAS and IAS Servers",
}

# Two-letter SDDL aliases (Sddl.h) for SIDs that do not depend on a domain.
SDDL_ALIASES: dict[str, str] = {
    "AA": "S-1-5-32-579",
    "AC": "S-1-15-2-1",
    "AN": "S-1-5-7",
    "AO": "S-1-5-32-548",
    "AS": "S-1-18-1",
    "AU": "S-1-5-11",
    "BA": "S-1-5-32-544",
    "BG": "S-1-5-32-546",
    "BO": "S-1-5-32-551",
    "BU": "S-1-5-32-545",
    "CD": "S-1-5-32-574",
    "CG": "S-1-3-1",
    "CO": "S-1-3-0",
    "CY": "S-1-5-32-569",
    "ED": "S-1-5-9",
    "ER": "S-1-5-32-573",
    "ES": "S-1-5-32-576",
    "HA": "S-1-5-32-578",
    "HI": "S-1-16-12288",
    "IS": "S-1-5-32-568",
    "IU": "S-1-5-4",
    "LS": "S-1-5-19",
    "LU": "S-1-5-32-559",
    "LW": "S-1-16-4096",
    "ME": "S-1-16-8192",
    "MP": "S-1-16-8448",
    "MS": "S-1-5-32-577",
    "MU": "S-1-5-32-558",
    "NO": "S-1-5-32-556",
    "NS": "S-1-5-20",
    "NU": "S-1-5-2",
    "OW": "S-1-3-4",
    "PO": "S-1-5-32-550",
    "PS": "S-1-5-10",
    "PU": "S-1-5-32-547",
    "RA": "S-1-5-32-575",
    "RC": "S-1-5-12",
    "RD": "S-1-5-32-555",
    "RE": "S-1-5-32-552",
    "RM": "S-1-5-32-580",
    "RU": "S-1-5-32-554",
    "SI": "S-1-16-16384",
    "SO": "S-1-5-32-549",
    "SS": "S-1-18-2",
    "SU": "S-1-5-6",
    "SY": "S-1-5-18",
    "UD": "S-1-5-84-0-0-0-0-0",
    "WD": "S-1-1-0",
    "WR": "S-1-5-33",
}

ALIAS_OF_SID: dict[str, str] = {sid: alias for alias, sid in SDDL_ALIASES.items()}


def account_name(sid: str) -> str:
    """The account name Windows shows for a well-known `sid`, or "" when it depends on the host."""
    name = WELL_KNOWN_SIDS.get(sid.upper())
    if name:
        return name
    parts = sid.split("-")
    if sid.upper().startswith("S-1-5-21-") and len(parts) == 8 and parts[-1].isdigit():
        rid_name = DOMAIN_RIDS.get(int(parts[-1]))
        return f"(domain or machine)\\{rid_name}" if rid_name else ""
    if sid.upper().startswith("S-1-5-80-"):
        return "NT SERVICE\\(a service)"
    if sid.upper().startswith("S-1-5-5-"):
        return "NT AUTHORITY\\LogonSessionId"
    return ""


# An AppContainer's package SID (Store and sandboxed apps). Windows grants AppContainers no launch or activation
# of the WMI service on purpose, so DCOM 10016 refusals of one on WMI's AppID are by design.
# https://learn.microsoft.com/en-us/windows/win32/secauthz/appcontainer-isolation
APPCONTAINER_SID_PREFIX = "S-1-15-2-"


def is_appcontainer(sid: str) -> bool:
    return sid.upper().startswith(APPCONTAINER_SID_PREFIX) and sid.count("-") > 4  # not the S-1-15-2-1/2 groups
