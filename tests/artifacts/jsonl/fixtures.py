"""Hand-made export records for the shapes the corpus has no real sample of (Winlogbeat, Splunk, Sentinel).

There is no real export of these in ../shared/corpus, so each record is built from the field names the
product documents (Elastic: winlogbeat exported-fields-winlog; Splunk: search export JSON, XmlWinEventLog
and WinEventLog sourcetypes; Azure Monitor: the Event, SecurityEvent and WindowsEvent table references).
All carry the same WMI-Activity 5858 event as USERDATA_XML (tests/logs/test_xml.py's record), so every
shape must normalise to the Event the XML export gives.
"""

from __future__ import annotations

import json

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
WMI_NS = "http://manifests.microsoft.com/win/2006/windows/WMI"
CHANNEL = "Microsoft-Windows-WMI-Activity/Operational"
PROVIDER = "Microsoft-Windows-WMI-Activity"
OPERATION = "Start IWbemServices::ExecQuery - root\\cimv2 : SELECT * FROM Win32_Nope"
DATA = {
    "Id": "{00000000-0000-0000-0000-000000000000}",
    "ClientMachine": "HOST1",
    "User": "CONTOSO\\svc",
    "ClientProcessId": "4242",
    "Component": "Unknown",
    "Operation": OPERATION,
    "ResultCode": "0x80041010",
    "PossibleCause": "Unknown",
}
MESSAGE = "; ".join(f"{name} = {value}" for name, value in DATA.items())
USER_DATA = "".join(f"<{name}>{value}</{name}>" for name, value in DATA.items())

USERDATA_XML = (
    f'<Event xmlns="{NS}"><System><Provider Name="{PROVIDER}" '
    'Guid="{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}"/><EventID>5858</EventID><Level>2</Level>'
    '<TimeCreated SystemTime="2024-05-01T13:14:15.1234567Z"/><EventRecordID>42</EventRecordID>'
    f"<Channel>{CHANNEL}</Channel><Computer>HOST1</Computer></System><UserData>"
    f'<Operation_ClientFailure xmlns="{WMI_NS}">{USER_DATA}</Operation_ClientFailure></UserData></Event>'
)

WINLOGBEAT = {
    "@timestamp": "2024-05-01T13:14:15.123Z",
    "event": {"code": "5858", "provider": PROVIDER, "kind": "event", "created": "2024-05-01T13:14:16.000Z"},
    "log": {"level": "error"},
    "host": {"name": "host1.contoso.test"},
    "message": MESSAGE,
    "winlog": {
        "channel": CHANNEL,
        "event_id": "5858",
        "provider_name": PROVIDER,
        "computer_name": "HOST1",
        "record_id": "42",
        "api": "wineventlog",
        "opcode": "Info",
        "provider_guid": "{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}",
        "process": {"pid": 1234},
        "user": {"identifier": "S-1-5-18"},
        "user_data": {"xml_name": "Operation_ClientFailure", **DATA},
    },
}
WINLOGBEAT_FLAT = {
    "@timestamp": WINLOGBEAT["@timestamp"],
    "winlog.channel": CHANNEL,
    "winlog.event_id": 5858,
    "winlog.provider_name": PROVIDER,
    "winlog.computer_name": "HOST1",
    "winlog.record_id": 42,
    **{f"winlog.user_data.{k}": v for k, v in DATA.items()},
}
WINLOGBEAT_6 = {
    "@timestamp": WINLOGBEAT["@timestamp"],
    "log_name": CHANNEL,
    "source_name": PROVIDER,
    "event_id": 5858,
    "computer_name": "HOST1",
    "record_number": "42",
    "level": "Error",
    "user_data": dict(DATA),
    "type": "wineventlog",
}
ELASTIC_HIT = {"_index": "winlogbeat-8.12.0", "_id": "a1", "_score": 1.0, "_source": WINLOGBEAT}

SPLUNK_XML = {
    "preview": False,
    "offset": 0,
    "result": {
        "_raw": USERDATA_XML.replace('"', "'"),
        "_time": "2024-05-01T15:14:15.123+02:00",
        "host": "HOST1",
        "source": f"XmlWinEventLog:{CHANNEL}",
        "sourcetype": "XmlWinEventLog",
        "EventCode": "5858",
    },
}
SPLUNK_CLASSIC = {
    "preview": False,
    "offset": 1,
    "result": {
        "_raw": "05/01/2024 03:14:15 PM\nLogName=" + CHANNEL + "\nEventCode=5858\nEventType=2\nComputerName=HOST1\n"
        "User=NOT_TRANSLATED\nSid=S-1-5-18\nSidType=0\nSourceName=" + PROVIDER + "\nType=Error\n"
        "RecordNumber=42\nKeywords=None\nTaskCategory=None\nOpCode=Info\nMessage=" + MESSAGE,
        "_time": "2024-05-01T15:14:15.000+02:00",
        "host": "HOST1",
        "source": "WinEventLog:" + CHANNEL,
        "sourcetype": "WinEventLog",
        "LogName": CHANNEL,
        "EventCode": "5858",
    },
}

SENTINEL_EVENT = {
    "TenantId": "00000000-0000-0000-0000-000000000001",
    "SourceSystem": "OpsManager",
    "TimeGenerated": "2024-05-01T13:14:15.123Z",
    "Source": PROVIDER,
    "EventLog": CHANNEL,
    "Computer": "HOST1",
    "EventLevel": 2,
    "EventLevelName": "Error",
    "EventID": 5858,
    "EventCategory": 0,
    "UserName": "N/A",
    "EventData": (
        f'<DataItem type="System.XmlData" time="2024-05-01T13:14:15.1234567Z" '
        f'sourceHealthServiceId="00000000-0000-0000-0000-000000000002"><UserData>'
        f'<Operation_ClientFailure xmlns="{WMI_NS}">{USER_DATA}</Operation_ClientFailure></UserData>'
        "</DataItem>"
    ),
    "ParameterXml": "",
    "RenderedDescription": MESSAGE,
    "ManagementGroupName": "AOI-1",
    "Type": "Event",
    "_ResourceId": "/subscriptions/x/resourcegroups/y/providers/microsoft.compute/virtualmachines/host1",
}
SENTINEL_WINDOWSEVENT = {
    "TenantId": "00000000-0000-0000-0000-000000000001",
    "TimeGenerated": "2024-05-01T13:14:15.123Z",
    "Channel": CHANNEL,
    "Provider": PROVIDER,
    "Computer": "HOST1",
    "EventID": 5858,
    "EventLevel": 2,
    "EventLevelName": "Error",
    "EventRecordId": "42",
    "EventData": dict(DATA),
    "RawEventData": None,
    "SystemUserId": "S-1-5-18",
    "Type": "WindowsEvent",
}
NXLOG = {
    "EventTime": "2024-05-01 09:14:15",
    "Hostname": "HOST1",
    "Keywords": 4611686018427387904,
    "EventType": "ERROR",
    "SeverityValue": 4,
    "Severity": "ERROR",
    "EventID": 5858,
    "SourceName": PROVIDER,
    "ProviderGuid": "{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}",
    "Version": 0,
    "Task": 0,
    "OpcodeValue": 0,
    "RecordNumber": 42,
    "ExecutionProcessID": 1234,
    "ThreadID": 99,
    "Channel": CHANNEL,
    "Domain": "NT AUTHORITY",
    "AccountName": "SYSTEM",
    "UserID": "S-1-5-18",
    "AccountType": "User",
    "Message": MESSAGE,
    "Opcode": "Info",
    "EventReceivedTime": "2024-05-01 09:14:16",
    "SourceModuleName": "eventlog",
    "SourceModuleType": "im_msvistalog",
    "@timestamp": "2024-05-01T13:14:16.500Z",
}
SECURITY_4688_XML_DATA = {
    "SubjectUserSid": "S-1-5-20",
    "NewProcessId": "0x1b4",
    "NewProcessName": "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
    "ProcessId": "0x2a8",
    "CommandLine": "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
}
SENTINEL_SECURITYEVENT = {
    "TenantId": "00000000-0000-0000-0000-000000000001",
    "TimeGenerated": "2024-05-01T13:14:20Z",
    "Computer": "HOST1",
    "EventID": 4688,
    "Activity": "4688 - A new process has been created.",
    "Channel": "Security",
    "EventSourceName": "Microsoft-Windows-Security-Auditing",
    "Level": "8",
    "EventData": f'<EventData xmlns="{NS}">'
    + "".join(f'<Data Name="{k}">{v}</Data>' for k, v in SECURITY_4688_XML_DATA.items())
    + "</EventData>",
    "NewProcessName": SECURITY_4688_XML_DATA["NewProcessName"],
    "NewProcessId": "0x1b4",
    "Type": "SecurityEvent",
}

SAME_5858 = {
    "winlogbeat": WINLOGBEAT,
    "winlogbeat-flattened": WINLOGBEAT_FLAT,
    "winlogbeat-6": WINLOGBEAT_6,
    "elasticsearch-hit": ELASTIC_HIT,
    "splunk-xml": SPLUNK_XML,
    "splunk-classic": SPLUNK_CLASSIC,
    "sentinel-event": SENTINEL_EVENT,
    "sentinel-windowsevent": SENTINEL_WINDOWSEVENT,
    "nxlog": NXLOG,
}


def line(record: dict) -> str:
    return json.dumps(record) + "\n"
