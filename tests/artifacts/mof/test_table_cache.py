"""The MOF parser's LALR tables are cached between processes only where it is safe: a 0700 folder of this user,
a file nobody else may write; a damaged or foreign cache never changes what is parsed."""

from __future__ import annotations

import os

from wmidoctor.artifacts.mof.parser import MofParser, table_cache

MOF = 'class Demo { [key] string Name; uint32 Count = 3; };\ninstance of Demo { Name = "a"; };\n'


def _statements(parser: MofParser) -> list[str]:
    return [type(s).__name__ for s in parser.parse_text(MOF).statements]


def test_the_cache_lives_in_a_private_folder_of_the_user(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("WMIDOCTOR_NO_CACHE", raising=False)
    path = table_cache()
    assert path is not None and path.startswith(str(tmp_path / "wmidoctor"))
    assert (tmp_path / "wmidoctor").stat().st_mode & 0o777 == 0o700
    assert _statements(MofParser()) == ["ClassDecl", "Instance"]
    assert os.path.getsize(path) > 0  # written by the first parser, read by the next
    assert _statements(MofParser()) == ["ClassDecl", "Instance"]


def test_a_folder_or_file_others_may_write_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("WMIDOCTOR_NO_CACHE", raising=False)
    folder = tmp_path / "wmidoctor"
    folder.mkdir(mode=0o700)
    folder.chmod(0o777)
    assert table_cache() is None
    folder.chmod(0o700)
    path = table_cache()
    assert path is not None
    with open(path, "wb") as handle:
        handle.write(b"planted")
    os.chmod(path, 0o666)
    assert table_cache() is None


def test_a_damaged_cache_file_is_rebuilt_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("WMIDOCTOR_NO_CACHE", raising=False)
    path = table_cache()
    with open(path, "wb") as handle:
        handle.write(b"\x80\x04 not a pickle of tables")
    assert _statements(MofParser()) == ["ClassDecl", "Instance"]


def test_the_cache_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("WMIDOCTOR_NO_CACHE", "1")
    assert table_cache() is None
