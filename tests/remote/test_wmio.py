"""The lean first-row reader agrees with impacket's full [MS-WMIO] decoder, and gives up cleanly."""

from __future__ import annotations

import pytest
from impacket.dcerpc.v5.dcom import wmi
from tests.remote.fakes.wmio import encode_instance

from wmidoctor.remote.wmio import summary_values

WANTED = ("Caption", "Version", "Name", "CSName")


@pytest.mark.parametrize(
    "values",
    [
        {"Caption": "Microsoft Windows Server 2022 Standard", "Version": "10.0.20348", "CSName": "FAKEWMI"},
        {
            "BuildNumber": "17763",
            "Name": "Microsoft Windows Server 2019|C:\\Windows|\\Device\\Harddisk0\\Partition2",
            "Caption": "Windows 10 Enterprise",
            "Zeta": "z",
        },
        {"A": "1", "B": "2", "C": "3", "D": "4", "E": "5", "Version": "6.3.9600"},  # NdTable over two octets
    ],
)
def test_reads_what_impacket_reads(values):
    data = encode_instance("Win32_OperatingSystem", values, "HOST1")
    block = wmi.ENCODING_UNIT(data)["ObjectBlock"]
    block.parseObject()
    expected = {k: v["value"] for k, v in block.ctCurrent["properties"].items() if k in WANTED}
    assert summary_values(data, WANTED) == (block.ctCurrent["name"], expected)


@pytest.mark.parametrize("data", [b"", b"\x78\x56\x34\x12\x10\x00\x00\x00\x06", b"\x00" * 40])
def test_gives_up_on_what_it_cannot_read(data):
    assert summary_values(data, WANTED) is None


def test_gives_up_when_the_instance_carries_property_qualifiers():
    data = bytearray(encode_instance("Win32_Service", {"Name": "winmgmt"}, "HOST1"))
    flag = data.rindex(b"\x04\x00\x00\x00\x01") + 4  # InstanceQualifierSet (empty), then the flag octet
    data[flag] = 2
    assert summary_values(bytes(data), WANTED) is None
