"""Decode class definitions and instances from record bytes (the object encoding Microsoft documents
publicly as [MS-WMIO]: class part, qualifier sets, property lookup table, null/default table, value
table, heap; plus the repository's own record headers).

Everything here raises DecodeError on malformed input; the reader turns that into a Problem. Qualifier
sets and method parameters are only located when read (their lengths checked) and decoded on first
use: most are never asked for. Damage met then goes to the `on_damage` the reader gave.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from wmidoctor.artifacts.repository.model import NOT_SET, EmbeddedObject, Method, Property, Qualifier

CIM_TYPES = {
    0x02: ("sint16", "<h", 2),
    0x03: ("sint32", "<i", 4),
    0x04: ("real32", "<f", 4),
    0x05: ("real64", "<d", 8),
    0x08: ("string", None, 4),
    0x0B: ("boolean", "<H", 2),
    0x0D: ("object", None, 4),
    0x10: ("sint8", "<b", 1),
    0x11: ("uint8", "<B", 1),
    0x12: ("uint16", "<H", 2),
    0x13: ("uint32", "<I", 4),
    0x14: ("sint64", "<q", 8),
    0x15: ("uint64", "<Q", 8),
    0x65: ("datetime", None, 4),
    0x66: ("reference", None, 4),
    0x67: ("char16", "<H", 2),
}
ARRAY_FLAG = 0x2000
BASE_TYPE_MASK = 0xFFF
HEAP_REF_DICTIONARY = 0x80000000
# Names the encoding stores as an index instead of a heap string (the high bit of the reference set).
DICTIONARY = {
    0: '"',
    1: "key",
    2: "",
    3: "read",
    4: "write",
    5: "volatile",
    6: "provider",
    7: "dynamic",
    8: "cimwin32",
    9: "DWORD",
    10: "CIMTYPE",
}
U8, U16, U32, U64 = struct.Struct("<B"), struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
QUALIFIER_HEADER = struct.Struct("<IBI")
PROPERTY_INFO = struct.Struct("<IHII")
METHOD_DESCRIPTION = struct.Struct("<IB3xIIII")
FLAVOR_PROPAGATED = 0x20  # the qualifier was inherited from a superclass, not declared here
# Object flags leading an encoded object: a class, an instance, and whether server/namespace names follow.
OBJECT_CLASS, OBJECT_INSTANCE, OBJECT_DECORATED = 0x01, 0x02, 0x04
# Embedded objects may hold embedded objects; damaged data must not recurse without end.
EMBEDDING_DEPTH_LIMIT = 16


class DecodeError(Exception):
    """Record bytes that do not decode (truncated, offsets outside the record, unknown types)."""


OnDamage = Callable[[DecodeError], None]
T = TypeVar("T")


def ignore_damage(_error: DecodeError) -> None:
    """For parts whose lazily decoded pieces are never handed out (embedded objects' class parts)."""


class Deferred(Sequence[T]):
    """A sequence decoded on first use rather than when its record is read (subclasses keep where its
    bytes are and say how to decode them). Damage found then is handed to `on_damage` and leaves the
    sequence empty. One small object each: a repository holds hundreds of thousands of them."""

    __slots__ = ("_items", "_on_damage")

    def __init__(self, on_damage: OnDamage):
        self._on_damage = on_damage
        self._items: list[T] | None = None

    def _decode(self) -> list[T]:
        raise NotImplementedError

    def _decoded(self) -> list[T]:
        if self._items is None:
            try:
                self._items = self._decode()
            except DecodeError as exc:
                self._items = []
                self._on_damage(exc)
        return self._items

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._decoded())

    def __iter__(self) -> Iterator[T]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Deferred | list):
            return self._decoded() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so unhashable like one

    def __repr__(self) -> str:
        return repr(self._decoded())


def type_name(code: int) -> str:
    base = CIM_TYPES.get(code & BASE_TYPE_MASK)
    if base is None:
        raise DecodeError(f"unknown CIM type 0x{code:X}")
    return base[0] + ("[]" if code & ARRAY_FLAG else "")


class Heap:
    """A heap region: strings, arrays and nested structures addressed by offsets. `depth` counts the
    embedded objects this heap lies inside."""

    __slots__ = ("data", "depth")

    def __init__(self, data: bytes, depth: int = 0):
        self.data = data
        self.depth = depth

    def u32(self, offset: int) -> int:
        try:
            value: int = U32.unpack_from(self.data, offset)[0]
            return value
        except struct.error:
            raise DecodeError(f"heap offset {offset} outside the heap") from None

    def string(self, ref: int) -> str:
        if ref & HEAP_REF_DICTIONARY:
            return DICTIONARY.get(ref & 0x7FFFFFFF, f"#dictionary{ref & 0x7FFFFFFF}")
        if ref >= len(self.data):
            raise DecodeError(f"string offset {ref} outside the heap")
        return read_encoded_string(self.data, ref)[0]


def read_encoded_string(data: bytes, at: int) -> tuple[str, int]:
    """The encoded string at data[at] and the offset after it: a flag byte (0: one byte per character,
    else UTF-16 LE), then the characters up to a NUL of their width. DecodeError when it never ends."""
    if data[at] == 0:
        end = data.find(b"\0", at + 1)
        if end < 0:
            raise DecodeError("unterminated string")
        return data[at + 1 : end].decode("latin-1"), end + 1
    end = at + 1
    while True:
        end = data.find(b"\0\0", end)
        if end < 0:
            raise DecodeError("unterminated UTF-16 string")
        if (end - at - 1) % 2 == 0:
            return data[at + 1 : end].decode("utf-16-le", "replace"), end + 2
        end += 1


def read_value(code: int, data: bytes, offset: int, heap: Heap) -> Any:
    """The value of type `code` stored at data[offset] (inline, or a heap offset for strings/arrays)."""
    base = code & BASE_TYPE_MASK
    info = CIM_TYPES.get(base)
    if info is None:
        raise DecodeError(f"unknown CIM type 0x{code:X}")
    try:
        if code & ARRAY_FLAG:
            ref = U32.unpack_from(data, offset)[0]
            count = heap.u32(ref)
            size = info[2]
            if count > len(heap.data):
                raise DecodeError(f"array of {count} elements cannot fit in the heap")
            return [_scalar(base, info, heap.data, ref + 4 + i * size, heap) for i in range(count)]
        return _scalar(base, info, data, offset, heap)
    except struct.error:
        raise DecodeError(f"value at offset {offset} outside its table") from None


def _scalar(base: int, info: tuple[Any, ...], data: bytes, offset: int, heap: Heap) -> Any:
    if base in (0x08, 0x65, 0x66):
        return heap.string(U32.unpack_from(data, offset)[0])
    if base == 0x0D:
        return read_embedded_object(heap, U32.unpack_from(data, offset)[0])
    value = struct.unpack_from(info[1], data, offset)[0]
    if base == 0x0B:
        return value != 0
    if base == 0x67:
        return chr(value)
    return value


def qualifier_set_end(data: bytes, offset: int) -> int:
    """Where the qualifier set (length-prefixed) at data[offset] ends; DecodeError when it does not fit."""
    try:
        (length,) = U32.unpack_from(data, offset)
    except struct.error:
        raise DecodeError("qualifier set outside the record") from None
    end: int = offset + length
    if length < 4 or end > len(data):
        raise DecodeError(f"qualifier set of {length} bytes runs past the record")
    return end


class Qualifiers(Deferred[Qualifier]):
    """A qualifier set: where it lies, decoded on first use."""

    __slots__ = ("_data", "_end", "_heap", "_offset")

    def __init__(self, data: bytes, offset: int, end: int, heap: Heap, on_damage: OnDamage):
        super().__init__(on_damage)
        self._data, self._offset, self._end, self._heap = data, offset, end, heap

    def _decode(self) -> list[Qualifier]:
        return _decode_qualifiers(self._data, self._offset, self._end, self._heap)


def read_qualifiers(data: bytes, offset: int, heap: Heap, on_damage: OnDamage) -> tuple[Qualifiers, int]:
    """The qualifier set at data[offset], decoded on first use, and the offset after it."""
    end = qualifier_set_end(data, offset)
    return Qualifiers(data, offset, end, heap, on_damage), end


def _decode_qualifiers(data: bytes, offset: int, end: int, heap: Heap) -> list[Qualifier]:
    qualifiers = []
    position = offset + 4
    while position < end:
        try:
            name_ref, flavor, code = QUALIFIER_HEADER.unpack_from(data, position)
        except struct.error:
            raise DecodeError("qualifier runs past the record") from None
        position += QUALIFIER_HEADER.size
        size = 4 if code & ARRAY_FLAG else CIM_TYPES.get(code & BASE_TYPE_MASK, (None, None, 0))[2]
        if not size:
            raise DecodeError(f"qualifier of unknown type 0x{code:X}")
        value = read_value(code, data, position, heap)
        qualifiers.append(Qualifier(heap.string(name_ref), type_name(code), value, flavor))
        position += size
    return qualifiers


@dataclass
class ClassPart:
    """One decoded class part: the class's own view of every property (inherited ones included)."""

    name: str
    superclass: str
    qualifiers: Sequence[Qualifier]
    properties: dict[str, Property]
    nd_value: bytes  # the null/default table then the value table; where one ends depends on the
    heap: Heap  # property count of the whole chain, so `split_nd_value` cuts it once that is known
    end: int
    methods: list[Method] = field(default_factory=list)


def read_class_part(data: bytes, offset: int, on_damage: OnDamage) -> ClassPart:
    try:
        length, _reserved, name_ref, nd_value_length = struct.unpack_from("<IBII", data, offset)
        end = offset + length
        if length < 13 or end > len(data):
            raise DecodeError(f"class part of {length} bytes runs past the record")
        position = offset + 13
        (derivation_length,) = U32.unpack_from(data, position)
        derivation = data[position + 4 : position + derivation_length]
        position += derivation_length
        qualifier_offset = position
        (qualifier_length,) = U32.unpack_from(data, position)
        position += qualifier_length
        (count,) = U32.unpack_from(data, position)
        position += 4
        if count > 0x10000:
            raise DecodeError(f"{count} properties cannot be right")
        lookups = struct.unpack_from(f"<{count * 2}I", data, position)
        position += count * 8
        nd_value = data[position : position + nd_value_length]
        position += nd_value_length
        (heap_length,) = U32.unpack_from(data, position)
        heap_length &= 0x7FFFFFFF
        heap = Heap(data[position + 4 : position + 4 + heap_length])
        if position + 4 + heap_length > end:
            raise DecodeError("class heap runs past the class part")
    except struct.error:
        raise DecodeError("class part cut short") from None
    name = heap.string(name_ref) if name_ref != 0xFFFFFFFF else ""
    superclass = _first_derivation(derivation)
    qualifiers, _ = read_qualifiers(data, qualifier_offset, heap, on_damage)
    properties: dict[str, Property] = {}
    heap_data = heap.data
    for i in range(count):
        prop_name = heap.string(lookups[2 * i])
        info_offset = lookups[2 * i + 1]
        try:
            code, order, value_offset, origin = PROPERTY_INFO.unpack_from(heap_data, info_offset)
        except struct.error:
            raise DecodeError(f"property {prop_name} description outside the heap") from None
        prop_qualifiers, _ = read_qualifiers(heap_data, info_offset + PROPERTY_INFO.size, heap, on_damage)
        properties[prop_name] = Property(
            prop_name, type_name(code), order, value_offset, origin, prop_qualifiers, type_code=code
        )
    return ClassPart(name, superclass, qualifiers, properties, nd_value, heap, end)


def nd_length(property_count: int) -> int:
    """Bytes of the null/default table: two bits per property of the whole class chain."""
    return (property_count * 2 + 7) // 8


def split_nd_value(part: ClassPart, property_count: int) -> tuple[bytes, bytes]:
    cut = nd_length(property_count)
    return part.nd_value[:cut], part.nd_value[cut:]


def default_of(nd_table: bytes, value_table: bytes, heap: Heap, prop: Property, inherited: Any) -> Any:
    """The default a class gives `prop`: NOT_SET when it has none, `inherited` (the superclass's default)
    when the table says the default comes from the superclass (its slot then points into the
    superclass's heap, not this one)."""
    bits = _nd_bits(nd_table, prop.index)
    if bits & 1:
        return NOT_SET
    if bits & 2:
        return inherited
    return read_value(prop.type_code, value_table, prop.offset, heap)


def _first_derivation(derivation: bytes) -> str:
    """The nearest superclass from a derivation list (flag byte, NUL-terminated name, length word)."""
    if not derivation:
        return ""
    try:
        return read_encoded_string(derivation, 0)[0]
    except DecodeError:
        return ""


def _nd_bits(nd_table: bytes, order: int) -> int:
    byte = order // 4
    if byte >= len(nd_table):
        return 1  # outside the table: treat as null
    return (nd_table[byte] >> ((order % 4) * 2)) & 3


def read_methods(data: bytes, offset: int, on_damage: OnDamage) -> tuple[list[Method], int]:
    """A methods part: count, descriptions (name, flags, origin, qualifiers, in/out signatures), heap."""
    try:
        length, count = struct.unpack_from("<IH", data, offset)
        end = offset + length
        if length < 8 or end > len(data):
            raise DecodeError(f"methods part of {length} bytes runs past the record")
        position = offset + 8
        descriptions = [
            METHOD_DESCRIPTION.unpack_from(data, position + i * METHOD_DESCRIPTION.size) for i in range(count)
        ]
        position += count * METHOD_DESCRIPTION.size
        (heap_length,) = U32.unpack_from(data, position)
        heap = Heap(data[position + 4 : position + 4 + (heap_length & 0x7FFFFFFF)])
    except struct.error:
        raise DecodeError("methods part cut short") from None
    methods = []
    for name_ref, _flags, _origin, qualifiers_ref, in_ref, out_ref in descriptions:
        qualifiers: Sequence[Qualifier] = (
            read_qualifiers(heap.data, qualifiers_ref, heap, on_damage)[0] if qualifiers_ref != 0xFFFFFFFF else []
        )
        parameters_in, parameters_out = (_signature(heap, ref, on_damage) for ref in (in_ref, out_ref))
        methods.append(Method(heap.string(name_ref), qualifiers, parameters_in, parameters_out))
    return methods, end


def _object_block(heap: Heap, ref: int) -> tuple[bytes, int, int] | None:
    """The encoded object at heap offset `ref` (a length, then the object block): its bytes, its object
    flags and where its encoding starts (past the server and namespace names of a decorated object).
    None for an empty one."""
    length = heap.u32(ref)
    if length == 0:
        return None
    block = heap.data[ref + 4 : ref + 4 + length]
    if len(block) != length:
        raise DecodeError(f"embedded object of {length} bytes runs past its heap")
    flags = block[0]
    position = 1
    try:
        if flags & OBJECT_DECORATED:
            for _ in range(2):
                position = read_encoded_string(block, position)[1]
    except IndexError:
        raise DecodeError("embedded object decoration cut short") from None
    return block, flags, position


def _u32_at(data: bytes, offset: int) -> int:
    try:
        value: int = U32.unpack_from(data, offset)[0]
        return value
    except struct.error:
        raise DecodeError(f"offset {offset} outside the object") from None


def _signature(heap: Heap, ref: int, on_damage: OnDamage) -> Sequence[Property]:
    """Parameters of a method: an embedded __PARAMETERS class in the heap, located now, decoded on first use."""
    if ref == 0xFFFFFFFF:
        return []
    found = _object_block(heap, ref)
    if found is None:
        return []
    data, _, position = found
    return Parameters(data, position, on_damage)


class Parameters(Deferred[Property]):
    """The parameters an encoded __PARAMETERS class holds (parent part + own part), in their ID order,
    decoded on first use."""

    __slots__ = ("_data", "_position")

    def __init__(self, data: bytes, position: int, on_damage: OnDamage):
        super().__init__(on_damage)
        self._data, self._position = data, position

    def _decode(self) -> list[Property]:
        parent = read_class_part(self._data, self._position, self._on_damage)
        _, position = read_methods(self._data, parent.end, self._on_damage)
        own = read_class_part(self._data, position, self._on_damage)
        return sorted(own.properties.values(), key=lambda p: (p.qualifier("ID") is None, p.qualifier("ID") or 0))


def read_embedded_object(heap: Heap, ref: int) -> EmbeddedObject:
    """The object a property of type `object` holds at heap offset `ref`. An instance carries its whole
    class (every property, inherited ones too) before its own values; a class, its parent's part first."""
    if heap.depth >= EMBEDDING_DEPTH_LIMIT:
        raise DecodeError(f"embedded objects nested deeper than {EMBEDDING_DEPTH_LIMIT} levels")
    found = _object_block(heap, ref)
    if found is None:
        raise DecodeError("empty embedded object")
    data, flags, position = found
    if flags & OBJECT_CLASS:
        parent = read_class_part(data, position, ignore_damage)
        _, position = read_methods(data, parent.end, ignore_damage)
        return EmbeddedObject(read_class_part(data, position, ignore_damage).name, is_class=True)
    if not flags & OBJECT_INSTANCE:
        raise DecodeError(f"embedded object flags 0x{flags:02X} name neither a class nor an instance")
    part = read_class_part(data, position, ignore_damage)
    position = part.end
    if _u32_at(data, position) != len(data) - position:
        # The instance's own encoding length covers the rest of the object; anything else here is the
        # class's methods part (the public description has one; the repository's objects omit it).
        _, position = read_methods(data, position, ignore_damage)
    depth = heap.depth + 1
    part.heap = Heap(part.heap.data, depth)  # not changed in place: its qualifiers decode at their own depth
    properties = part.properties.values()
    class_nd, class_values = split_nd_value(part, len(properties))
    try:
        _length, _flags, name_ref = struct.unpack_from("<IBI", data, position)
        position += 9
        nd_table = data[position : position + len(class_nd)]
        position += len(class_nd)
        value_table = data[position : position + len(class_values)]
        position += len(class_values)
        position = qualifier_set_end(data, position)
        if data[position] == 2:  # a qualifier set for every property follows
            position += 1
            for _ in properties:
                position = qualifier_set_end(data, position)
        else:
            position += 1
        (heap_length,) = U32.unpack_from(data, position)
    except (struct.error, IndexError):
        raise DecodeError("embedded instance cut short") from None
    instance_heap = Heap(data[position + 4 : position + 4 + (heap_length & 0x7FFFFFFF)], depth)
    if len(value_table) != len(class_values):
        raise DecodeError("embedded instance value table runs past its object")
    values: dict[str, Any] = {}
    for prop in sorted(properties, key=lambda p: p.index):
        bits = _nd_bits(nd_table, prop.index)
        if bits & 1:
            values[prop.name] = NOT_SET
        elif bits & 2:  # the class's default, kept in the class part this instance carries
            values[prop.name] = (
                NOT_SET
                if _nd_bits(class_nd, prop.index) & 1
                else read_value(prop.type_code, class_values, prop.offset, part.heap)
            )
        else:
            values[prop.name] = read_value(prop.type_code, value_table, prop.offset, instance_heap)
    return EmbeddedObject(instance_heap.string(name_ref) if name_ref != 0xFFFFFFFF else part.name, values)


@dataclass
class ClassRecord:
    superclass: str
    timestamp: int
    part: ClassPart


def read_class_record(record: bytes, on_damage: OnDamage) -> ClassRecord:
    """A repository class-definition record: superclass name (UTF-16), timestamp, class part, methods.
    Damage in its qualifiers and method parameters, found when they are first used, goes to `on_damage`."""
    try:
        (super_length,) = U32.unpack_from(record, 0)
        position = 4 + super_length * 2
        superclass = record[4:position].decode("utf-16-le", "replace")
        (timestamp,) = U64.unpack_from(record, position)
    except struct.error:
        raise DecodeError("class record header cut short") from None
    part = read_class_part(record, position + 8, on_damage)
    if part.end + 8 <= len(record):
        part.methods, _ = read_methods(record, part.end, on_damage)
    return ClassRecord(superclass, timestamp, part)


@dataclass
class InstanceRecord:
    class_hash: str
    created: int
    modified: int
    values: dict[str, Any]


def read_instance_record(
    record: bytes, properties: dict[str, Property], value_size: int, hash_chars: int
) -> InstanceRecord:
    """A repository instance record: the class hash (UTF-16 hex), two FILETIMEs, then the instance part
    (class-name reference, a reserved byte, null/default table, value table, qualifiers, heap).
    `properties` is the class's full property set (inherited ones included), each with its default."""
    try:
        position = hash_chars * 2
        class_hash = record[:position].decode("utf-16-le", "replace")
        created, modified, _length = struct.unpack_from("<QQI", record, position)
        position += 20
        count = len(properties)
        table_length = nd_length(count)
        nd_start = position + 5
        nd_table = record[nd_start : nd_start + table_length]
        values_start = nd_start + table_length
        values_end = values_start + value_size
        (qualifier_length,) = U32.unpack_from(record, values_end)
        position = values_end + qualifier_length
        kind = record[position]
        position += 1
        if kind == 2:  # dynamic properties follow: a count, then length-prefixed entries
            (dynamic_count,) = U32.unpack_from(record, position)
            position += 4
            for _ in range(dynamic_count):
                position += U32.unpack_from(record, position)[0]
        (heap_length,) = U32.unpack_from(record, position)
        heap = Heap(record[position + 4 : position + 4 + (heap_length & 0x7FFFFFFF)])
    except (struct.error, IndexError):
        raise DecodeError("instance record cut short") from None
    if len(nd_table) != table_length or values_end > len(record):
        raise DecodeError("instance value table runs past the record")
    value_table = record[values_start:values_end]
    values: dict[str, Any] = {}
    for prop in properties.values():
        bits = _nd_bits(nd_table, prop.index)
        if bits & 1:
            values[prop.name] = NOT_SET
        elif bits & 2:
            values[prop.name] = prop.default
        else:
            values[prop.name] = read_value(prop.type_code, value_table, prop.offset, heap)
    return InstanceRecord(class_hash, created, modified, values)
