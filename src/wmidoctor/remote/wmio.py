"""The first-row summary of a WMI instance as IEnumWbemClassObject::Next sends it ([MS-WMIO]), read
with `struct`: the class name and a few string properties.

impacket decodes the whole object (every qualifier, every property) through its generic Structure
class, which costs a fleet more CPU than any stage's own exchange. This reader walks only the parts the
summary needs and gives up (returns None) on anything it does not handle, so the caller can fall back to
impacket: a class with properties of other types is fine, but a wanted property whose value is
inherited from the class default, or is not a plain string, is left to impacket.
"""

from __future__ import annotations

from struct import error as struct_error
from struct import unpack_from

SIGNATURE = 0x12345678
FLAG_INSTANCE = 0x02
FLAG_DECORATED = 0x04
CIM_STRING = 8
CIM_TYPE_MASK = 0x3FFF  # without the "inherited" flag (0x4000)
HEAP_REF_DICTIONARY = 0x80000000  # a reference to a well-known string, not into the heap


def _string(data: bytes, at: int) -> tuple[str, int]:
    """An EncodedString at `at` (flag 0: one octet per character; 1: UTF-16LE), and the offset after it."""
    if data[at] == 0:
        end = data.index(b"\x00", at + 1)
        return data[at + 1 : end].decode("latin-1"), end + 1
    end = at + 1
    while data[end : end + 2] != b"\x00\x00":
        end += 2
    return data[at + 1 : end].decode("utf-16le"), end + 2


def _heap_string(heap: bytes, ref: int) -> str | None:
    if ref & HEAP_REF_DICTIONARY or ref >= len(heap):
        return None
    return _string(heap, ref)[0]


def _heap(data: bytes, at: int) -> tuple[bytes, int]:
    length = unpack_from("<L", data, at)[0] & 0x7FFFFFFF
    return data[at + 4 : at + 4 + length], at + 4 + length


def summary_values(data: bytes, wanted: tuple[str, ...]) -> tuple[str, dict[str, str]] | None:
    """(class name, {property: value}) for the wanted string properties present with a value, or None."""
    try:
        signature, _ = unpack_from("<LL", data, 0)
        flags = data[8]
        if signature != SIGNATURE or not flags & FLAG_INSTANCE:
            return None
        at = 9
        if flags & FLAG_DECORATED:
            at = _string(data, _string(data, at)[1])[1]
        # ClassPart: header, derivation list, qualifier set, property lookup table, NdTable+values, heap.
        class_start = at
        class_length, _, class_name_ref, values_length = unpack_from("<LBLL", data, at)
        at += 13
        at += unpack_from("<L", data, at)[0]  # DerivationList (its length counts itself)
        at += unpack_from("<L", data, at)[0]  # ClassQualifierSet
        count = unpack_from("<L", data, at)[0]
        lookups = [unpack_from("<LL", data, at + 4 + 8 * i) for i in range(count)]
        class_heap, _ = _heap(data, at + 4 + 8 * count + values_length)
        # Instance: EncodingLength, InstanceFlags, InstanceClassName, NdTable + values, ...
        at = class_start + class_length + 4 + 1 + 4
        nd_length = (count - 1) // 4 + 1  # 2 bits per property, as impacket sizes it
        nd_table, values = data[at : at + nd_length], at + nd_length
        at += values_length
        at += unpack_from("<L", data, at)[0]  # InstanceQualifierSet
        if data[at] != 1:  # InstancePropQualifierSet present: not handled here
            return None
        instance_heap, _ = _heap(data, at + 1)
        class_name = _heap_string(class_heap, class_name_ref)
        if class_name is None:
            return None
        found: dict[str, str] = {}
        for name_ref, info_ref in lookups:
            name = _heap_string(class_heap, name_ref)
            if name not in wanted:
                continue
            cim_type, declared, offset = unpack_from("<LHL", class_heap, info_ref)
            bits = nd_table[declared // 4] >> (2 * (declared % 4)) & 3
            if bits & 1:  # null
                continue
            if bits & 2 or cim_type & CIM_TYPE_MASK != CIM_STRING:  # class default, or not a string
                return None
            value = _heap_string(instance_heap, unpack_from("<L", data, values + offset)[0])
            if value is None:
                return None
            found[name] = value
        return class_name, found
    except (IndexError, ValueError, UnicodeDecodeError, struct_error):
        return None
