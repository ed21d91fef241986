"""Seeded single-byte flips in the bytes a repository really uses: whatever a flip breaks, no exception
escapes from opening the copy or from any `repo` verb (a clean input error, e.g. `show` of a class the
flip made unreadable, is allowed). Ten flips per file, one per test, so xdist spreads them."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from wmidoctor.artifacts.repository import open_repository
from wmidoctor.artifacts.repository.index import INDEX_FILE
from wmidoctor.artifacts.repository.index import PAGE_SIZE as INDEX_PAGE
from wmidoctor.artifacts.repository.locate import OBJECTS_FILE
from wmidoctor.artifacts.repository.mapping import UNMAPPED
from wmidoctor.artifacts.repository.objects import PAGE_SIZE as OBJECT_PAGE
from wmidoctor.artifacts.repository.reader import parse_ref
from wmidoctor.commands.repo import command
from wmidoctor.errors import InputError

from .conftest import WIN10

FLIPS_PER_FILE = 10
VERBS = (
    ("verify",),
    ("ls",),
    ("show", "root\\cimv2:Win32_Service"),
    ("show", 'root\\subscription:__EventFilter.Name="SCM Event Log Filter"'),
    ("show", "root:__ProviderHostQuotaConfiguration=@"),
    ("providers",),
    ("persistence",),
)


def _target(folder, file: str, rng: random.Random) -> tuple[int, bool]:
    """A byte offset in use on the clean copy, and whether the integrity pass must notice a flip there:
    in INDEX.BTR any byte of a mapped page; in OBJECTS.DATA any byte (on its first page) of a record the
    index refers to, which the pass must notice when the page keeps the record's CRC-32."""
    with open_repository(folder) as repository:
        if file == INDEX_FILE:
            physical = rng.choice([p for p in repository.mappings.index.pages if p != UNMAPPED])
            return physical * INDEX_PAGE + rng.randrange(INDEX_PAGE), False
        refs = sorted(
            {ref for key in repository.walk.keys if (ref := parse_ref(key.rsplit("/", 1)[-1]))},
            key=lambda r: (r.page, r.record),
        )
        ref = rng.choice(refs)
        entry = repository.store.toc(ref.page)[ref.record]
        physical = repository.mappings.objects.physical(ref.page)
        length = min(entry.size, OBJECT_PAGE - entry.offset)
        return physical * OBJECT_PAGE + entry.offset + rng.randrange(length), entry.checksum != 0


@pytest.mark.parametrize("file,seed", [(f, n) for f in (INDEX_FILE, OBJECTS_FILE) for n in range(FLIPS_PER_FILE)])
def test_a_single_byte_flip_never_raises(damaged_copy, file, seed):
    folder = damaged_copy(WIN10)
    rng = random.Random(f"{file}-{seed}")
    at, must_notice = _target(folder, file, rng)
    path = folder / file
    data = bytearray(path.read_bytes())
    data[at] ^= rng.randrange(1, 256)
    path.write_bytes(bytes(data))
    with open_repository(folder) as repository:
        repository.namespaces()
    runner = CliRunner()
    for verb in VERBS:
        result = runner.invoke(command, [verb[0], str(folder), *verb[1:]])
        escaped = None if isinstance(result.exception, (SystemExit, InputError)) else result.exception
        assert escaped is None, (verb, f"{file} byte {at}", result.exc_info)
        assert result.exit_code in (0, 1), (verb, f"{file} byte {at}", result.output[-300:])
        if verb == ("verify",) and must_notice:
            assert result.exit_code == 1 and "INCONSISTENT" in result.output, f"{file} byte {at}"
