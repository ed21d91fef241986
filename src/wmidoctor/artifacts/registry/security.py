"""Windows security descriptors: self-relative binary form and SDDL text, both ways.

The binary form is what the registry stores (Ole\\MachineLaunchRestriction, AppID LaunchPermission, ...);
SDDL is what the collector writes for namespace descriptors and what we print. Both decode into
`wmidoctor.evidence.SecurityDescriptor`, with well-known SIDs named and mask bits named for the kind of
object (COM or WMI namespace, see wmidoctor.knowledge.rights).

Object ACEs keep their type, mask and SID but not their object-type GUIDs, and callback ACEs lose their
application data: neither occurs in COM or WMI namespace descriptors, and the evidence model has no
place for them.
"""

from __future__ import annotations

import re
import struct

from wmidoctor.evidence.security import Ace, SecurityDescriptor
from wmidoctor.knowledge.rights import rights_names
from wmidoctor.knowledge.sids import ALIAS_OF_SID, SDDL_ALIASES, account_name


class SecurityDescriptorError(ValueError):
    """A descriptor that cannot be decoded (damaged blob or malformed SDDL)."""


# Control flags (SECURITY_DESCRIPTOR_CONTROL).
SE_OWNER_DEFAULTED = 0x0001
SE_GROUP_DEFAULTED = 0x0002
SE_DACL_PRESENT = 0x0004
SE_DACL_DEFAULTED = 0x0008
SE_SACL_PRESENT = 0x0010
SE_SACL_DEFAULTED = 0x0020
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_SACL_AUTO_INHERIT_REQ = 0x0200
SE_DACL_AUTO_INHERITED = 0x0400
SE_SACL_AUTO_INHERITED = 0x0800
SE_DACL_PROTECTED = 0x1000
SE_SACL_PROTECTED = 0x2000
SE_SELF_RELATIVE = 0x8000

ACE_TYPES: dict[int, tuple[str, str]] = {  # type code -> (evidence name, SDDL token)
    0x00: ("allow", "A"),
    0x01: ("deny", "D"),
    0x02: ("audit", "AU"),
    0x03: ("alarm", "AL"),
    0x05: ("object-allow", "OA"),
    0x06: ("object-deny", "OD"),
    0x07: ("object-audit", "OU"),
    0x08: ("object-alarm", "OL"),
    0x09: ("callback-allow", "XA"),
    0x0A: ("callback-deny", "XD"),
    0x0B: ("callback-object-allow", "ZA"),
    0x0D: ("callback-audit", "XU"),
    0x11: ("mandatory-label", "ML"),
    0x12: ("resource-attribute", "RA"),
    0x13: ("scoped-policy", "SP"),
}
ACE_TYPE_BY_NAME = {name: code for code, (name, _) in ACE_TYPES.items()}
ACE_TYPE_BY_TOKEN = {token: code for code, (_, token) in ACE_TYPES.items()}
OBJECT_ACE_TYPES = {0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10}

ACE_FLAG_TOKENS: list[tuple[str, int]] = [
    ("OI", 0x01),
    ("CI", 0x02),
    ("NP", 0x04),
    ("IO", 0x08),
    ("ID", 0x10),
    ("SA", 0x40),
    ("FA", 0x80),
]
# Right tokens whose value is a single bit, in the order SDDL prints them (lowest bit first).
RIGHT_BIT_TOKENS: list[tuple[str, int]] = [
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CR", 0x100),
    ("SD", 0x10000),
    ("RC", 0x20000),
    ("WD", 0x40000),
    ("WO", 0x80000),
    ("GA", 0x10000000),
    ("GX", 0x20000000),
    ("GW", 0x40000000),
    ("GR", 0x80000000),
]
# Tokens that stand for several bits; accepted when reading, never printed.
RIGHT_COMPOSITE_TOKENS: dict[str, int] = {
    "FA": 0x1F01FF,
    "FR": 0x120089,
    "FW": 0x120116,
    "FX": 0x1200A0,
    "KA": 0xF003F,
    "KR": 0x20019,
    "KW": 0x20006,
    "KX": 0x20019,
    "NR": 0x1,
    "NW": 0x2,
    "NX": 0x4,
}
RIGHT_TOKENS = {**dict(RIGHT_BIT_TOKENS), **RIGHT_COMPOSITE_TOKENS}
ACL_FLAG_TOKENS = {
    "D": [("P", SE_DACL_PROTECTED), ("AR", SE_DACL_AUTO_INHERIT_REQ), ("AI", SE_DACL_AUTO_INHERITED)],
    "S": [("P", SE_SACL_PROTECTED), ("AR", SE_SACL_AUTO_INHERIT_REQ), ("AI", SE_SACL_AUTO_INHERITED)],
}
NO_ACCESS_CONTROL = "NO_ACCESS_CONTROL"


# --- SIDs ----------------------------------------------------------------------------------------


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    """Decode a binary SID at `offset`; return its string form and its length in bytes."""
    if offset + 8 > len(data):
        raise SecurityDescriptorError(f"SID at offset {offset} runs past the end of the data")
    revision, count = data[offset], data[offset + 1]
    if revision != 1 or count > 15:
        raise SecurityDescriptorError(f"not a SID at offset {offset} (revision {revision}, {count} sub-authorities)")
    end = offset + 8 + 4 * count
    if end > len(data):
        raise SecurityDescriptorError(f"SID at offset {offset} runs past the end of the data")
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    authority_text = str(authority) if authority < 2**32 else f"0x{authority:012X}"
    return "-".join(["S", "1", authority_text, *map(str, subs)]), end - offset


def sid_to_bytes(sid: str) -> bytes:
    parts = sid.upper().split("-")
    if len(parts) < 3 or parts[0] != "S" or parts[1] != "1":
        raise SecurityDescriptorError(f"not a SID: {sid!r}")
    try:
        authority = int(parts[2], 16) if parts[2].startswith("0X") else int(parts[2])
        subs = [int(p) for p in parts[3:]]
    except ValueError:
        raise SecurityDescriptorError(f"not a SID: {sid!r}") from None
    if len(subs) > 15 or any(not 0 <= s < 2**32 for s in subs) or not 0 <= authority < 2**48:
        raise SecurityDescriptorError(f"SID out of range: {sid!r}")
    return bytes([1, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


# --- binary --------------------------------------------------------------------------------------


def _make_ace(type_code: int, flags: int, mask: int, sid: str, kind: str | None) -> Ace:
    name = ACE_TYPES.get(type_code, (f"type-0x{type_code:02x}", ""))[0]
    return Ace(type=name, sid=sid, account=account_name(sid), mask=mask, flags=flags, rights=rights_names(mask, kind))


def _parse_acl(data: bytes, offset: int, kind: str | None, which: str) -> list[Ace]:
    if offset + 8 > len(data):
        raise SecurityDescriptorError(f"{which} header at offset {offset} runs past the end of the data")
    revision, _, size, count, _ = struct.unpack_from("<BBHHH", data, offset)
    if revision not in (2, 4):
        raise SecurityDescriptorError(f"{which} has unknown revision {revision}")
    if size < 8 or offset + size > len(data):
        raise SecurityDescriptorError(f"{which} size {size} does not fit the data")
    aces, position, end = [], offset + 8, offset + size
    for index in range(count):
        if position + 4 > end:
            raise SecurityDescriptorError(f"{which} ACE {index} runs past the end of the ACL")
        type_code, flags, ace_size = struct.unpack_from("<BBH", data, position)
        if ace_size < 8 or position + ace_size > end:
            raise SecurityDescriptorError(f"{which} ACE {index} has a bad size {ace_size}")
        mask = struct.unpack_from("<I", data, position + 4)[0]
        sid_offset = position + 8
        if type_code in OBJECT_ACE_TYPES:
            object_flags = struct.unpack_from("<I", data, sid_offset)[0] if sid_offset + 4 <= end else 0
            sid_offset += 4 + 16 * bin(object_flags & 0x3).count("1")
        sid = sid_from_bytes(data[: position + ace_size], sid_offset)[0]
        aces.append(_make_ace(type_code, flags, mask, sid, kind))
        position += ace_size
    return aces


def parse_binary(data: bytes, kind: str | None = None) -> SecurityDescriptor:
    """Decode a self-relative security descriptor; raise SecurityDescriptorError when it is damaged."""
    data = bytes(data)
    if len(data) < 20:
        raise SecurityDescriptorError(f"{len(data)} bytes is too short for a security descriptor")
    revision, _, control, owner_at, group_at, sacl_at, dacl_at = struct.unpack_from("<BBHIIII", data, 0)
    if revision != 1:
        raise SecurityDescriptorError(f"unknown security descriptor revision {revision}")
    if not control & SE_SELF_RELATIVE:
        raise SecurityDescriptorError("not a self-relative security descriptor")
    for name, at in (("owner", owner_at), ("group", group_at), ("SACL", sacl_at), ("DACL", dacl_at)):
        if at and not 20 <= at < len(data):
            raise SecurityDescriptorError(f"{name} offset {at} lies outside the {len(data)} bytes")
    sd = SecurityDescriptor(control=control)
    sd.owner = sid_from_bytes(data, owner_at)[0] if owner_at else None
    sd.group = sid_from_bytes(data, group_at)[0] if group_at else None
    if control & SE_DACL_PRESENT and dacl_at:
        sd.dacl = _parse_acl(data, dacl_at, kind, "DACL")
    if control & SE_SACL_PRESENT and sacl_at:
        sd.sacl = _parse_acl(data, sacl_at, kind, "SACL")
    sd.sddl = to_sddl(sd)
    return sd


def _acl_bytes(aces: list[Ace]) -> bytes:
    body = b""
    for ace in aces:
        type_code = ACE_TYPE_BY_NAME.get(ace.type)
        if type_code is None:
            raise SecurityDescriptorError(f"cannot encode ACE type {ace.type!r}")
        ace_body = struct.pack("<I", ace.mask)
        if type_code in OBJECT_ACE_TYPES:
            ace_body += struct.pack("<I", 0)
        ace_body += sid_to_bytes(ace.sid)
        body += struct.pack("<BBH", type_code, ace.flags, 4 + len(ace_body)) + ace_body
    revision = 4 if any(ACE_TYPE_BY_NAME[a.type] in OBJECT_ACE_TYPES for a in aces) else 2
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces), 0) + body


def to_binary(sd: SecurityDescriptor) -> bytes:
    """Encode as a self-relative descriptor in the layout Windows uses (SACL, DACL, owner, group)."""
    control = sd.control | SE_SELF_RELATIVE
    parts: list[bytes] = []
    offsets = {"sacl": 0, "dacl": 0, "owner": 0, "group": 0}
    position = 20
    for name, blob in (
        ("sacl", _acl_bytes(sd.sacl) if sd.sacl is not None else None),
        ("dacl", _acl_bytes(sd.dacl) if sd.dacl is not None else None),
        ("owner", sid_to_bytes(sd.owner) if sd.owner else None),
        ("group", sid_to_bytes(sd.group) if sd.group else None),
    ):
        if blob is not None:
            offsets[name] = position
            parts.append(blob)
            position += len(blob)
    if sd.dacl is not None:
        control |= SE_DACL_PRESENT
    if sd.sacl is not None:
        control |= SE_SACL_PRESENT
    header = struct.pack(
        "<BBHIIII", 1, 0, control, offsets["owner"], offsets["group"], offsets["sacl"], offsets["dacl"]
    )
    return header + b"".join(parts)


# --- SDDL ----------------------------------------------------------------------------------------


def _sid_to_sddl(sid: str) -> str:
    return ALIAS_OF_SID.get(sid, sid)


def _sid_from_sddl(token: str) -> str:
    token = token.strip()
    if token.upper() in SDDL_ALIASES:
        return SDDL_ALIASES[token.upper()]
    if token.upper().startswith("S-1-"):
        sid_to_bytes(token)  # validates
        return token.upper()
    raise SecurityDescriptorError(f"unknown SID in SDDL: {token!r}")


def _rights_to_sddl(mask: int) -> str:
    tokens, rest = [], mask
    for token, bit in RIGHT_BIT_TOKENS:
        if rest & bit:
            tokens.append(token)
            rest &= ~bit
    return "".join(tokens) if mask and not rest else f"0x{mask:x}"


def _rights_from_sddl(text: str) -> int:
    text = text.strip()
    if not text:
        return 0
    if text.lower().startswith("0x"):
        try:
            return int(text, 16)
        except ValueError:
            raise SecurityDescriptorError(f"bad rights in SDDL: {text!r}") from None
    if text.isdigit():
        return int(text)
    if len(text) % 2:
        raise SecurityDescriptorError(f"bad rights in SDDL: {text!r}")
    mask = 0
    for i in range(0, len(text), 2):
        token = text[i : i + 2].upper()
        if token not in RIGHT_TOKENS:
            raise SecurityDescriptorError(f"unknown right {token!r} in SDDL")
        mask |= RIGHT_TOKENS[token]
    return mask


def _flags_from_tokens(text: str, tokens: list[tuple[str, int]], what: str) -> int:
    value, rest = 0, text.strip().upper()
    table = dict(tokens)
    while rest:
        for size in (2, 1):
            if rest[:size] in table:
                value |= table[rest[:size]]
                rest = rest[size:]
                break
        else:
            raise SecurityDescriptorError(f"unknown {what} {rest!r} in SDDL")
    return value


def _ace_to_sddl(ace: Ace) -> str:
    type_code = ACE_TYPE_BY_NAME.get(ace.type)
    if type_code is None:
        raise SecurityDescriptorError(f"ACE type {ace.type!r} has no SDDL form")
    flags = "".join(token for token, bit in ACE_FLAG_TOKENS if ace.flags & bit)
    return f"({ACE_TYPES[type_code][1]};{flags};{_rights_to_sddl(ace.mask)};;;{_sid_to_sddl(ace.sid)})"


def _acl_to_sddl(letter: str, aces: list[Ace] | None, control: int) -> str:
    present = SE_DACL_PRESENT if letter == "D" else SE_SACL_PRESENT
    flags = "".join(token for token, bit in ACL_FLAG_TOKENS[letter] if control & bit)
    if aces is None:
        return f"{letter}:{flags}{NO_ACCESS_CONTROL}" if control & present else ""
    return f"{letter}:{flags}" + "".join(_ace_to_sddl(ace) for ace in aces)


def to_sddl(sd: SecurityDescriptor) -> str:
    """SDDL for display and for the collector's format (aliases for well-known SIDs, rights as tokens)."""
    text = ""
    if sd.owner:
        text += f"O:{_sid_to_sddl(sd.owner)}"
    if sd.group:
        text += f"G:{_sid_to_sddl(sd.group)}"
    return text + _acl_to_sddl("D", sd.dacl, sd.control) + _acl_to_sddl("S", sd.sacl, sd.control)


_COMPONENT = re.compile(r"(O|G|D|S):")
_ACE = re.compile(r"\(([^()]*)\)")


def _split_components(text: str) -> dict[str, str]:
    """Split SDDL into its O:, G:, D:, S: parts (a component marker only counts outside parentheses)."""
    components: dict[str, str] = {}
    depth, current, start, i = 0, None, 0, 0
    while i < len(text):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and _COMPONENT.match(text, i):
            if current is not None:
                components[current] = text[start:i]
            current, start = char, i + 2
            i += 2
            continue
        i += 1
    if depth:
        raise SecurityDescriptorError("unbalanced parentheses in SDDL")
    if current is None:
        if text.strip():
            raise SecurityDescriptorError(f"not SDDL: {text[:40]!r}")
        return components
    components[current] = text[start:]
    return components


def _acl_from_sddl(letter: str, text: str, kind: str | None) -> tuple[list[Ace] | None, int]:
    first = text.find("(")
    flag_text, ace_text = (text, "") if first < 0 else (text[:first], text[first:])
    control = SE_DACL_PRESENT if letter == "D" else SE_SACL_PRESENT
    if NO_ACCESS_CONTROL in flag_text.upper():
        flag_text = flag_text.upper().replace(NO_ACCESS_CONTROL, "")
        return None, control | _flags_from_tokens(flag_text, ACL_FLAG_TOKENS[letter], "ACL flag")
    control |= _flags_from_tokens(flag_text, ACL_FLAG_TOKENS[letter], "ACL flag")
    aces = []
    if _ACE.sub("", ace_text).strip():
        raise SecurityDescriptorError(f"text outside ACEs in SDDL: {ace_text[:40]!r}")
    for body in _ACE.findall(ace_text):
        fields = body.split(";")
        if len(fields) < 6:
            raise SecurityDescriptorError(f"ACE with {len(fields)} fields in SDDL: ({body})")
        type_code = ACE_TYPE_BY_TOKEN.get(fields[0].strip().upper())
        if type_code is None:
            raise SecurityDescriptorError(f"unknown ACE type {fields[0]!r} in SDDL")
        flags = _flags_from_tokens(fields[1], ACE_FLAG_TOKENS, "ACE flag")
        aces.append(_make_ace(type_code, flags, _rights_from_sddl(fields[2]), _sid_from_sddl(fields[5]), kind))
    return aces, control


def parse_sddl(text: str, kind: str | None = None) -> SecurityDescriptor:
    """Decode an SDDL string; raise SecurityDescriptorError when it is malformed."""
    components = _split_components(re.sub(r"\s+", "", text))
    sd = SecurityDescriptor(control=SE_SELF_RELATIVE)
    if "O" in components:
        sd.owner = _sid_from_sddl(components["O"])
    if "G" in components:
        sd.group = _sid_from_sddl(components["G"])
    if "D" in components:
        sd.dacl, control = _acl_from_sddl("D", components["D"], kind)
        sd.control |= control
    if "S" in components:
        sd.sacl, control = _acl_from_sddl("S", components["S"], kind)
        sd.control |= control
    sd.sddl = to_sddl(sd)
    return sd


def decode(data: bytes | str, kind: str | None, source: str, problems: list[str]) -> SecurityDescriptor | None:
    """Binary or SDDL descriptor to evidence; damage becomes a line in `problems`, never an exception."""
    try:
        sd = parse_sddl(data, kind) if isinstance(data, str) else parse_binary(data, kind)
    except SecurityDescriptorError as exc:
        problems.append(f"{source}: damaged security descriptor: {exc}")
        return None
    sd.source = source
    return sd
