"""The loader reads the JSON Windows PowerShell 5.1 writes, whichever way an array came out: a one-item array
collapsed into the item, or a PSObject-wrapped array as {"value": [...], "Count": n}; UTF-8 with or without a
BOM. The collector avoids both shapes (arrays made with @() and passed with -InputObject), but a bundle
written by a modified or older script must still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wmidoctor.sources.bundle import load
from wmidoctor.sources.wmi_queries import as_list


def wrapped(items: list) -> dict:
    return {"value": items, "Count": len(items)}


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, []),
        ([], []),
        ({"a": 1}, [{"a": 1}]),
        ("x", ["x"]),
        ([1, 2], [1, 2]),
        (wrapped([1, 2]), [1, 2]),
        ({"value": 3, "Count": 1}, [{"value": 3, "Count": 1}]),
    ],
)
def test_as_list(value, expected) -> None:
    assert as_list(value) == expected


def _write(root: Path, name: str, data: object, bom: bool = False) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(data, indent=4).encode("utf-8"))


@pytest.fixture()
def collapsed_bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    _write(
        root,
        "manifest.json",
        {
            "schema": "wmidoctor.bundle/1",
            "tool": "Collect-WmiDoctor",
            "version": "0.2.0",
            "host": "PC01",
            "collected_at": "2024-05-01T13:02:11Z",
            "personal_data": "host name",
            "artifacts": {"name": "wmi/quotas.json", "status": "ok", "error": "", "duration_ms": 12},
        },
        bom=True,
    )
    _write(root, "wmi/namespaces.json", {"namespaces": {"name": "root", "sddl": "", "error": ""}, "errors": []})
    _write(
        root,
        "wmi/providers.json",
        {
            "providers": {
                "namespace": "root\\cimv2",
                "name": "CIMWin32",
                "clsid": "{d63a5850-8f16-11cf-9f47-00aa00bf345c}",
                "hosting_model": "NetworkServiceHost",
                "registrations": "__InstanceProviderRegistration",
            },
            "errors": {"namespace": "root\\x", "error": "Access denied"},
        },
    )
    _write(
        root,
        "wmi/provider-hosts.json",
        {
            "hosts": {
                "pid": 4242,
                "process_name": "WmiPrvSE.exe",
                "hosting_model": "NetworkServiceHost",
                "user": "",
                "providers": "root\\cimv2:CIMWin32",
                "working_set": 1024,
                "private_bytes": 2048,
                "handles": 300,
                "threads": 12,
            },
            "errors": [],
        },
    )
    _write(
        root,
        "wmi/subscriptions.json",
        {
            "filters": {
                "namespace": "root\\subscription",
                "name": "F",
                "query": "SELECT * FROM __InstanceCreationEvent",
                "query_language": "WQL",
                "event_namespace": "root\\cimv2",
                "creator_sid": "S-1-5-32-544",
            },
            "consumers": wrapped(
                [
                    {
                        "namespace": "root\\subscription",
                        "class": "CommandLineEventConsumer",
                        "name": "C",
                        "properties": {"CommandLineTemplate": "cmd.exe /c echo"},
                        "creator_sid": "S-1-5-32-544",
                    }
                ]
            ),
            "bindings": {
                "namespace": "root\\subscription",
                "filter": '__EventFilter.Name="F"',
                "consumer": 'CommandLineEventConsumer.Name="C"',
            },
            "timers": [],
            "errors": [],
        },
    )
    _write(
        root,
        "wmi/quotas.json",
        {
            "errors": [],
            "ThreadsPerHost": 256,
            "HandlesPerHost": 4096,
            "ProcessLimitAllHosts": 32,
            "MemoryPerHost": 536870912,
            "MemoryAllHosts": 1073741824,
        },
    )
    _write(
        root,
        "files/repository.json",
        {
            "directory": "C:\\Windows\\system32\\wbem\\Repository",
            "files": {"name": "OBJECTS.DATA", "size": 4096, "modified": "2024-05-01T13:00:00Z"},
            "corrupted_rec": False,
            "errors": [],
        },
        bom=True,
    )
    _write(
        root,
        "files/autorecover-mofs.json",
        {
            "source": "x",
            "mofs": {
                "path": "%SystemRoot%\\system32\\wbem\\cimwin32.mof",
                "expanded": "C:\\Windows\\system32\\wbem\\cimwin32.mof",
                "exists": True,
                "copy": "",
            },
            "errors": [],
        },
    )
    return root


def test_collapsed_and_wrapped_arrays_load(collapsed_bundle: Path) -> None:
    evidence = load(collapsed_bundle)
    statuses = {a.name: a.status for a in evidence.collection.artifacts}
    for name in (
        "manifest.json",
        "wmi/namespaces.json",
        "wmi/providers.json",
        "wmi/provider-hosts.json",
        "wmi/subscriptions.json",
        "wmi/quotas.json",
        "files/repository.json",
        "files/autorecover-mofs.json",
    ):
        assert statuses[name] == "parsed", name
    assert evidence.collection.personal_data == ["host name"]
    assert [n.name for n in evidence.namespaces.namespaces] == ["root"]
    provider = evidence.providers.providers[0]
    assert (provider.name, provider.registrations) == ("CIMWin32", ["__InstanceProviderRegistration"])
    assert any("Access denied" in p for p in evidence.providers.problems)
    assert evidence.provider_hosts.hosts[0].providers == ["root\\cimv2:CIMWin32"]
    subscriptions = evidence.subscriptions
    assert (len(subscriptions.filters), len(subscriptions.consumers), len(subscriptions.bindings)) == (1, 1, 1)
    assert subscriptions.consumers[0].properties == {"CommandLineTemplate": "cmd.exe /c echo"}
    assert [f.name for f in evidence.repository.files] == ["OBJECTS.DATA"]
    assert evidence.repository.autorecover_mofs[0].exists is True
    assert evidence.quotas.handles_per_host.value == 4096
