"""A minimal [MS-WMIO] encoding of one instance with string properties, for the fake's IEnumWbemClassObject.

Layout: EncodingUnit (signature, length) > ObjectBlock (flags: instance + decoration) > Decoration
(server, namespace) > InstanceType (the class part with its property lookup table and heap, then the
instance's own NdTable, value table, qualifier sets and heap).
"""

from __future__ import annotations

import struct

CIM_TYPE_STRING = 8
HEAP_LENGTH_FLAG = 0x80000000


def _encoded_string(text: str) -> bytes:
    return b"\x00" + text.encode("latin-1") + b"\x00"  # flag 0: one octet per character


def _heap(items: bytes) -> bytes:
    return struct.pack("<L", len(items) | HEAP_LENGTH_FLAG) + items


def _nd_table(count: int) -> bytes:
    return b"\x00" * ((count - 1) // 4 + 1) if count else b""


def encode_instance(class_name: str, values: dict[str, str], server: str, namespace: str = "root\\cimv2") -> bytes:
    names = list(values)
    # class heap: class name, then per property its name and its PropertyInfo
    class_heap = bytearray(_encoded_string(class_name))
    lookups = []
    for order, name in enumerate(names):
        name_ref = len(class_heap)
        class_heap += _encoded_string(name)
        info_ref = len(class_heap)
        class_heap += struct.pack("<LHLL", CIM_TYPE_STRING, order, order * 4, 0) + struct.pack("<L", 4)
        lookups.append((name, name_ref, info_ref))
    lookups.sort(key=lambda item: item[0].lower())
    lookup_table = struct.pack("<L", len(names)) + b"".join(struct.pack("<LL", n, i) for _, n, i in lookups)
    class_values = _nd_table(len(names)) + b"\x00\x00\x00\x00" * len(names)
    derivation = struct.pack("<L", 4)
    qualifiers = struct.pack("<L", 4)
    body = derivation + qualifiers + lookup_table + class_values + _heap(bytes(class_heap))
    header_len = 4 + 1 + 4 + 4
    class_part = struct.pack("<LBLL", header_len + len(body), 0, 0, len(class_values)) + body
    current_class = class_part  # an instance carries the class part without its methods

    instance_heap = bytearray(_encoded_string(class_name))
    refs = []
    for name in names:
        refs.append(len(instance_heap))
        instance_heap += _encoded_string(values[name])
    instance_values = _nd_table(len(names)) + b"".join(struct.pack("<L", r) for r in refs)
    tail = (
        struct.pack("<B", 0)
        + struct.pack("<L", 0)
        + instance_values
        + struct.pack("<L", 4)
        + b"\x01"
        + _heap(bytes(instance_heap))
    )
    instance = current_class + struct.pack("<L", 4 + len(tail)) + tail
    block = b"\x06" + _encoded_string(server) + _encoded_string(namespace) + instance
    return struct.pack("<LL", 0x12345678, len(block)) + block
