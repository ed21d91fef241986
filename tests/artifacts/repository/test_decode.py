"""The record decoder's building blocks on hand-made bytes (no corpus needed)."""

from __future__ import annotations

import pytest

from wmidoctor.artifacts.repository.decode import (
    EMBEDDING_DEPTH_LIMIT,
    DecodeError,
    Heap,
    read_embedded_object,
    read_encoded_string,
)


def test_encoded_strings_in_both_widths_end_where_their_terminator_does():
    narrow = b"\x00Win32_Service\x00rest"
    assert read_encoded_string(narrow, 0) == ("Win32_Service", 15)
    # A UTF-16 string whose character bytes hold a 00 00 pair at an odd offset: only an aligned pair ends it.
    wide = b"\x01" + "\u0100x".encode("utf-16-le") + b"\x00\x00tail"
    assert read_encoded_string(wide, 0) == ("\u0100x", 7)


@pytest.mark.parametrize("data", [b"\x00no end", b"\x01" + "ab".encode("utf-16-le") + b"\x00"])
def test_an_unterminated_string_is_a_decode_error_not_a_crash(data):
    with pytest.raises(DecodeError):
        read_encoded_string(data, 0)
    with pytest.raises(DecodeError):
        Heap(data).string(0)


def test_embedded_objects_nested_past_the_limit_are_a_decode_error():
    heap = Heap(b"\x10\x00\x00\x00" + bytes(16), depth=EMBEDDING_DEPTH_LIMIT)
    with pytest.raises(DecodeError):
        read_embedded_object(heap, 0)


# Cut short; decorated with an unterminated server name; flags naming neither class nor instance; a
# class with no class part.
@pytest.mark.parametrize(
    "data",
    [b"\x40\x00\x00\x00\x02", b"\x03\x00\x00\x00\x04\x00\x41", b"\x01\x00\x00\x00\x08", b"\x02\x00\x00\x00\x01\x00"],
)
def test_a_cut_short_or_unknown_embedded_object_is_a_decode_error(data):
    with pytest.raises(DecodeError):
        read_embedded_object(Heap(data), 0)
