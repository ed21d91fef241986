"""Parsers of Windows command outputs the collector saves: `winmgmt /verifyrepository`, `sc qc`,
`sc queryex`, `sc sdshow`, `netsh advfirewall`, `netsh int ipv4 show dynamicport`. They read the English
output and say when the text is in another language (so callers can fall back on exit codes or on the
order of values); what the values mean for WMI is decided elsewhere.
"""

from wmidoctor.artifacts.cmdout.dynamicport import DynamicPortRange, parse_dynamic_ports
from wmidoctor.artifacts.cmdout.netsh import (
    FirewallProfileState,
    NetshRule,
    RulesOutput,
    parse_profiles,
    parse_rules,
)
from wmidoctor.artifacts.cmdout.sc import ScError, ServiceConfig, ServiceStatus, parse_qc, parse_queryex, parse_sdshow
from wmidoctor.artifacts.cmdout.verify import VerifyOutput, parse_verify

__all__ = [
    "DynamicPortRange",
    "FirewallProfileState",
    "NetshRule",
    "RulesOutput",
    "ScError",
    "ServiceConfig",
    "ServiceStatus",
    "VerifyOutput",
    "parse_dynamic_ports",
    "parse_profiles",
    "parse_qc",
    "parse_queryex",
    "parse_rules",
    "parse_sdshow",
    "parse_verify",
]
