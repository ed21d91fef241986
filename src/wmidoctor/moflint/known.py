"""What Windows already provides, so the linter does not ask the linted files to declare it.

Classes: system classes (`__` prefix) and the standard schemas are recognised by prefix; the standard
event consumers by name. Providers: the in-box providers whose `__Win32Provider` registration ships
with Windows, so a class naming them needs no registration in the linted files.
"""

from __future__ import annotations

from wmidoctor.knowledge.defaults import KNOWN_PROVIDER_BY_NAME

EXTERNAL_CLASS_PREFIXES = (
    "__",
    "cim_",
    "win32_",
    "msft_",
    "msft",
    "ms_",
    "mswmi_",
    "msndis_",
    "msacpi_",
    "msstorage",
    "msdiskdriver",
    "msmcaevent",
    "msserial",
    "msparallel",
    "msredbook",
    "mspower",
    "msmouse",
    "mskeyboard",
    "msvm_",
    "omi_",
    "wmi_",
)
STANDARD_CLASSES = frozenset(
    name.lower()
    for name in (
        "ActiveScriptEventConsumer",
        "CommandLineEventConsumer",
        "LogFileEventConsumer",
        "NTEventLogEventConsumer",
        "SMTPEventConsumer",
        "StdRegProv",
        "SystemRestore",
        "WMIEvent",
        "EventTrace",
        "RegistryEvent",
        "RegistryKeyChangeEvent",
        "RegistryTreeChangeEvent",
        "RegistryValueChangeEvent",
    )
)
INBOX_PROVIDERS = frozenset(
    {
        *KNOWN_PROVIDER_BY_NAME,
        *(
            name.lower()
            for name in (
                "WMIProv",
                "CIMWin32",
                "CIMWin32a",
                "RegProv",
                "RegPropProv",
                "RegistryEventProvider",
                "MSIProv",
                "HiPerfCooker_v1",
                "NT5_GenericPerfProvider_V1",
                "MS_NT_EVENTLOG_PROVIDER",
                "MS_NT_EVENTLOG_EVENT_PROVIDER",
                "MS_VIEW_INSTANCE_PROVIDER",
                "SECRCW32",
                "WBEMCORE",
                "Msft_ProviderSubSystem",
                "SessionProvider",
                "RouteProvider",
                "DskQuotaProvider",
                "Win32ClockProvider",
                "WhqlProvider",
                "SystemConfigurationChangeEvents",
                "NamedJobObjectProv",
                "NamedJobObjectSecLimitSetProv",
                "NamedJobObjectLimitSetProv",
                "WMIPerfInst",
                "WMIPerfClass",
                "SCM Event Provider",
                "VmmsWmiInstanceAndMethodProvider",
                "VmmsWmiEventProvider",
            )
        ),
    }
)


def is_external_class(name: str) -> bool:
    """True for classes Windows or the standard schemas declare (never expected in the linted files)."""
    lower = name.lower()
    return lower in STANDARD_CLASSES or lower.startswith(EXTERNAL_CLASS_PREFIXES)


def is_inbox_provider(name: str) -> bool:
    return name.lower() in INBOX_PROVIDERS
