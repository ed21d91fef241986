"""The JSON of each .evtx record is decoded by orjson, and by the standard library, without its strictness, for
what orjson refuses: no record is lost to the faster decoder. Hand-made strings: the corpus logs decode with
orjson alone, which the corpus tests cover."""

from __future__ import annotations

import orjson
import pytest

from wmidoctor.artifacts.evtx.binary import record_json


def test_ordinary_records_decode_as_json() -> None:
    text = '{"Event":{"System":{"EventID":5858,"Channel":"Microsoft-Windows-WMI-Activity/Operational"}}}'
    assert record_json(text) == {
        "Event": {"System": {"EventID": 5858, "Channel": "Microsoft-Windows-WMI-Activity/Operational"}}
    }


def test_a_raw_control_character_that_orjson_refuses_is_still_decoded() -> None:
    text = '{"Data":"line one\tand a raw tab"}'
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    assert record_json(text) == {"Data": "line one\tand a raw tab"}


def test_64_bit_values_stay_exact_integers() -> None:
    """UInt64 and Int64 event data (the widest integer types of an event) at their limits."""
    assert record_json('{"A":18446744073709551615,"B":-9223372036854775808}') == {
        "A": 18446744073709551615,
        "B": -9223372036854775808,
    }


def test_text_that_is_not_json_is_still_an_error() -> None:
    with pytest.raises(ValueError):
        record_json('{"Event": ')
