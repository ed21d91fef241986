"""Inputs for the fuzz targets: random bytes, and real corpus files mutated (bytes flipped, cut, spliced)."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """`seed` with a few byte flips, an insertion or deletion, and perhaps a cut, drawn by Hypothesis."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(("flip", "set", "insert", "delete")))
        if action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":
            data[at] = draw(st.sampled_from((0x00, 0xFF, 0x7F, 0x80, ord("<"), ord("{"), ord('"'), ord("\\"))))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    if data and draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    return bytes(data)


def bytes_or_mutated(seed: bytes):
    return st.one_of(st.binary(max_size=4096), mutated(seed))
