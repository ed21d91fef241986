"""Names of the DCE/RPC interfaces and methods seen on the way to WMI, by interface UUID and opnum.

Sources: [MS-RPCE] 2.2 (endpoint mapper), [MS-DCOM] 1.9 and 3.1.2.5 (activation, OXID resolver,
IRemUnknown), [MS-WMI] 1.9 and 3.1.4 (the IWbem* interfaces and their opnums), [MS-OAUT] (IDispatch,
ITypeInfo); https://learn.microsoft.com/openspecs/windows_protocols/ms-dcom, .../ms-wmi, .../ms-oaut.
Opnums 0-2 of a DCOM interface are IUnknown's, never sent on the wire.
"""

from __future__ import annotations

INTERFACES: dict[str, str] = {
    "e1af8308-5d1f-11c9-91a4-08002b14a0fa": "EPM",  # the endpoint mapper (ept_map)
    "99fcfec4-5260-101b-bbcb-00aa0021347a": "IObjectExporter",
    "000001a0-0000-0000-c000-000000000046": "IRemoteSCMActivator",  # ISystemActivator in Windows' names
    "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57": "IActivation",
    "00000131-0000-0000-c000-000000000046": "IRemUnknown",
    "00000143-0000-0000-c000-000000000046": "IRemUnknown2",
    "f309ad18-d86a-11d0-a075-00c04fb68820": "IWbemLevel1Login",
    "9556dc99-828c-11cf-a37e-00aa003240c7": "IWbemServices",
    "027947e1-d731-11ce-a357-000000000001": "IEnumWbemClassObject",
    "44aca674-e8fc-11d0-a07c-00c04fb68820": "IWbemContext",
    "423ec01e-2e35-11d2-b604-00104b703efd": "IWbemWCOSmartEnum",
    "1c1c45ee-4395-11d2-b60b-00104b703efd": "IWbemFetchSmartEnum",
    "d4781cd6-e5d3-44df-ad94-930efe48a887": "IWbemLoginClientID",
    "9f6c78ef-fce5-42fa-abea-3e7df91921dc": "IWbemLoginClientIDEx",
    "44aca675-e8fc-11d0-a07c-00c04fb68820": "IWbemCallResult",
    "7c857801-7381-11cf-884d-00aa004b2e24": "IWbemObjectSink",
    "c49e32c7-bc8b-11d2-85d4-00105a1f8304": "IWbemBackupRestore",
    "a359dec5-e813-4834-8a2a-ba7f1d777d76": "IWbemBackupRestoreEx",
    "541679ab-2e5f-11d3-b34e-00104bcc4b4a": "IWbemLoginHelper",
    "00020400-0000-0000-c000-000000000046": "IDispatch",
    "00020401-0000-0000-c000-000000000046": "ITypeInfo",
    "00000001-0000-0000-c000-000000000046": "IClassFactory",
}

WMI_INTERFACES = frozenset(
    name for name in INTERFACES.values() if name.startswith("IWbem") or name == "IEnumWbemClassObject"
)

METHODS: dict[tuple[str, int], str] = {
    ("EPM", 3): "ept_map",
    ("IObjectExporter", 0): "ResolveOxid",
    ("IObjectExporter", 1): "SimplePing",
    ("IObjectExporter", 2): "ComplexPing",
    ("IObjectExporter", 3): "ServerAlive",
    ("IObjectExporter", 4): "ResolveOxid2",
    ("IObjectExporter", 5): "ServerAlive2",
    ("IRemoteSCMActivator", 3): "RemoteGetClassObject",
    ("IRemoteSCMActivator", 4): "RemoteCreateInstance",
    ("IActivation", 0): "RemoteActivation",
    ("IRemUnknown", 3): "RemQueryInterface",
    ("IRemUnknown", 4): "RemAddRef",
    ("IRemUnknown", 5): "RemRelease",
    ("IRemUnknown2", 3): "RemQueryInterface",
    ("IRemUnknown2", 4): "RemAddRef",
    ("IRemUnknown2", 5): "RemRelease",
    ("IRemUnknown2", 6): "RemQueryInterface2",
    ("IWbemLevel1Login", 3): "EstablishPosition",
    ("IWbemLevel1Login", 4): "RequestChallenge",
    ("IWbemLevel1Login", 5): "WBEMLogin",
    ("IWbemLevel1Login", 6): "NTLMLogin",
    ("IWbemServices", 3): "OpenNamespace",
    ("IWbemServices", 4): "CancelAsyncCall",
    ("IWbemServices", 5): "QueryObjectSink",
    ("IWbemServices", 6): "GetObject",
    ("IWbemServices", 7): "GetObjectAsync",
    ("IWbemServices", 8): "PutClass",
    ("IWbemServices", 9): "PutClassAsync",
    ("IWbemServices", 10): "DeleteClass",
    ("IWbemServices", 11): "DeleteClassAsync",
    ("IWbemServices", 12): "CreateClassEnum",
    ("IWbemServices", 13): "CreateClassEnumAsync",
    ("IWbemServices", 14): "PutInstance",
    ("IWbemServices", 15): "PutInstanceAsync",
    ("IWbemServices", 16): "DeleteInstance",
    ("IWbemServices", 17): "DeleteInstanceAsync",
    ("IWbemServices", 18): "CreateInstanceEnum",
    ("IWbemServices", 19): "CreateInstanceEnumAsync",
    ("IWbemServices", 20): "ExecQuery",
    ("IWbemServices", 21): "ExecQueryAsync",
    ("IWbemServices", 22): "ExecNotificationQuery",
    ("IWbemServices", 23): "ExecNotificationQueryAsync",
    ("IWbemServices", 24): "ExecMethod",
    ("IWbemServices", 25): "ExecMethodAsync",
    ("IEnumWbemClassObject", 3): "Reset",
    ("IEnumWbemClassObject", 4): "Next",
    ("IEnumWbemClassObject", 5): "NextAsync",
    ("IEnumWbemClassObject", 6): "Clone",
    ("IEnumWbemClassObject", 7): "Skip",
    ("IWbemFetchSmartEnum", 3): "GetSmartEnum",
    ("IWbemWCOSmartEnum", 3): "Next",
    ("IWbemCallResult", 3): "GetResultObject",
    ("IWbemCallResult", 4): "GetResultString",
    ("IWbemCallResult", 5): "GetResultServices",
    ("IWbemCallResult", 6): "GetCallStatus",
    ("IWbemLoginClientID", 3): "SetClientInfo",
    ("IClassFactory", 3): "CreateInstance",
    ("IClassFactory", 4): "LockServer",
    ("IDispatch", 3): "GetTypeInfoCount",
    ("IDispatch", 4): "GetTypeInfo",
    ("IDispatch", 5): "GetIDsOfNames",
    ("IDispatch", 6): "Invoke",
}

# CLSIDs an activation request names (the class asked for), [MS-WMI] 1.9 and [MS-DCOM].
CLASSES: dict[str, str] = {
    "8bc3f05e-d86b-11d0-a075-00c04fb68820": "WbemLevel1Login",
    "9ba05972-f6a8-11cf-a442-00a0c90a8f39": "ShellWindows",
    "c08afd90-f2a1-11d1-8455-00a0c91f3880": "ShellBrowserWindow",
    "49b2791a-b1ae-4c90-9b8e-e860ba07f889": "MMC20.Application",
    "00024500-0000-0000-c000-000000000046": "Excel.Application",
}


def interface_name(uuid: str) -> str:
    return INTERFACES.get(uuid, uuid)


def method_name(interface: str, opnum: int) -> str:
    return METHODS.get((interface, opnum), f"opnum {opnum}")
