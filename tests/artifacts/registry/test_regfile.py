"""`.reg` exports: both dialects and encodings, every value type, deletions, round trips."""

from __future__ import annotations

import pytest

from wmidoctor.artifacts.registry.model import (
    REG_BINARY,
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_NONE,
    REG_QWORD,
    REG_SZ,
    RegValue,
    canonical_path,
)
from wmidoctor.artifacts.registry.regfile import (
    RegFileError,
    decode_text,
    parse_reg_text,
    read_reg_file,
    write_reg_file,
    write_reg_text,
)
from wmidoctor.artifacts.registry.tree import RegTree

KEY = "HKLM\\SOFTWARE\\Test\\Types"
ALL_TYPES = [
    RegValue("", REG_SZ, "default text"),
    RegValue("plain", REG_SZ, 'quote " and backslash \\ and ünïcode €'),
    RegValue("empty", REG_SZ, ""),
    RegValue("expand", REG_EXPAND_SZ, "%SystemRoot%\\system32\\wbem"),
    RegValue("binary", REG_BINARY, bytes(range(256)) * 2),
    RegValue("dword", REG_DWORD, 0xDEADBEEF),
    RegValue("big endian", REG_DWORD_BIG_ENDIAN, 0x01020304),
    RegValue("multi", REG_MULTI_SZ, ["%windir%\\system32\\wbem\\cimwin32.mof", "second", "三"]),
    RegValue("multi empty", REG_MULTI_SZ, []),
    RegValue("qword", REG_QWORD, 0x0123456789ABCDEF),
    RegValue("none", REG_NONE, b"\x01\x02"),
    RegValue("resource list", 8, b"\x00\x01"),
]


def _tree() -> RegTree:
    tree = RegTree()
    for value in ALL_TYPES:
        tree.set_value(KEY, value)
    tree.add_key("HKLM\\SOFTWARE\\Test\\Empty key")
    tree.set_value("HKU\\.DEFAULT\\Software\\X", RegValue("v", REG_DWORD, 1))
    tree.add_root("HKLM\\SOFTWARE\\Test")
    tree.add_root("HKU\\.DEFAULT\\Software\\X")
    return tree


def _snapshot(tree: RegTree) -> list[tuple[str, list[tuple[str, int, object]]]]:
    return [(k.path, [(v.name, v.type, v.data) for v in k.values]) for k in tree.iter_keys() if "\\" in k.path]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
def test_round_trip_every_type(tmp_path, encoding):
    path = tmp_path / "export.reg"
    write_reg_file(_tree(), path, encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(b"\xff\xfe") == (encoding == "utf-16")
    problems: list[str] = []
    back = read_reg_file(path, problems=problems)
    assert problems == []
    assert _snapshot(back) == _snapshot(_tree())
    # and once more: the second write is identical to the first
    assert write_reg_text(back) == write_reg_text(_tree())


def test_written_text_looks_like_regedit():
    text = write_reg_text(_tree())
    assert text.startswith("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Test]")
    assert '"dword"=dword:deadbeef' in text
    assert '@="default text"' in text
    assert '"qword"=hex(b):ef,cd,ab,89,67,45,23,01' in text
    assert "[HKEY_USERS\\.DEFAULT\\Software\\X]" in text
    assert all(len(line) <= 80 for line in text.split("\r\n"))


def test_real_export_in_utf8(corpus):
    tree = read_reg_file(corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg")
    ole = tree.key("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Ole")
    assert ole.data("EnableDCOM") == "Y"
    assert ole.value("LegacyAuthenticationLevel").type == REG_DWORD and ole.data("LegacyAuthenticationLevel") == 2
    assert len(ole.data("MachineLaunchRestriction")) == 0x98
    assert ole.subkeys == ["AppCompat", "Eventlog", "Instrumentation", "NONREDIST"]
    exemptions = tree.key("HKLM\\SOFTWARE\\Microsoft\\Ole\\AppCompat\\ActivationSecurityCheckExemptionList")
    assert len(exemptions.values) == 13
    assert tree.roots == ["HKLM\\SOFTWARE\\Microsoft\\Ole"]


def test_real_export_reencoded_as_collector_writes_it(corpus, tmp_path):
    """The collector writes UTF-16 LE with a BOM and CRLF: the same export must read the same."""
    source = corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg"
    text = source.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    utf16 = tmp_path / "ole.reg"
    utf16.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert _snapshot(read_reg_file(utf16)) == _snapshot(read_reg_file(source))


def test_deletions_continuations_comments_and_escapes():
    text = "\n".join(
        [
            "Windows Registry Editor Version 5.00",
            "; a comment",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]",
            '"keep"="C:\\\\path\\\\"',
            '"gone"=dword:00000001',
            '"long"=hex:01,02,\\',
            "  03,04",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\Child]",
            '"x"="y"',
            "[HKEY_CLASSES_ROOT\\AppID\\{8BC3F05E-D86B-11D0-A075-00C04FB68820}]",
            '@="Windows Management Instrumentation"',
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]",
            '"gone"=-',
            "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\Child]",
        ]
    )
    tree = parse_reg_text(text)
    key = tree.key("HKLM\\SOFTWARE\\A")
    assert key.data("keep") == "C:\\path\\"
    assert key.value("gone") is None
    assert key.data("long") == b"\x01\x02\x03\x04"
    assert tree.key("HKLM\\SOFTWARE\\A\\Child") is None
    appid = tree.key("HKLM\\SOFTWARE\\Classes\\AppID\\{8bc3f05e-d86b-11d0-a075-00c04fb68820}")
    assert appid.data("") == "Windows Management Instrumentation"


def test_regedit4_hex_strings_are_ansi():
    text = (
        "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\B]\r\n"
        '"e"=hex(2):25,77,69,6e,64,69,72,25,00\r\n"m"=hex(7):61,00,62,00,00\r\n'
    )
    key = parse_reg_text(text).key("HKLM\\SOFTWARE\\B")
    assert key.data("e") == "%windir%"
    assert key.data("m") == ["a", "b"]


def test_bad_lines_are_problems_not_errors():
    problems: list[str] = []
    text = (
        'Windows Registry Editor Version 5.00\n\n"orphan"="x"\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\C]\n'
        '"bad"=dword:zz\n"ok"=dword:00000002\n"nohex"=hex(7):61,00,zz\n'
    )
    key = parse_reg_text(text, source="c.reg", problems=problems).key("HKLM\\SOFTWARE\\C")
    assert key.data("ok") == 2
    assert [p.split(":")[0] for p in problems] == ["c.reg line 3", "c.reg line 5", "c.reg line 7"]


def test_not_an_export_is_rejected():
    with pytest.raises(RegFileError):
        parse_reg_text("hello\n[HKEY_LOCAL_MACHINE\\X]\n")


def test_text_decoding_and_paths():
    assert decode_text(b"\xff\xfe" + "Ä".encode("utf-16-le")) == "Ä"
    assert decode_text("Ä".encode("utf-16-le") + "b".encode("utf-16-le")) == "Äb"
    assert decode_text(b"\xef\xbb\xbfx") == "x"
    assert decode_text(b"caf\xe9") == "café"
    assert canonical_path("HKLM:/Software/X") == "HKLM\\Software\\X"
    assert canonical_path("HKEY_CLASSES_ROOT\\CLSID") == "HKLM\\SOFTWARE\\Classes\\CLSID"
    with pytest.raises(ValueError):
        canonical_path("NOPE\\X")
