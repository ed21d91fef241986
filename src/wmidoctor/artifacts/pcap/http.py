"""HTTP/1.1 messages and TLS records from a reassembled TCP stream (WS-Management's two transports).

HTTP: request line or status, the authentication headers (scheme and decoded token), Content-Type,
and the body when it is not WinRM's multipart/encrypted (kept up to BODY_KEPT bytes for SOAP faults).
TLS: handshake message types and alerts in clear, and whether application data started.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from wmidoctor.artifacts.pcap import auth

BODY_KEPT = 256 * 1024
HEADERS_MAX = 64 * 1024
METHODS = (b"POST ", b"GET ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ")

# RFC 8446 6.2 / RFC 5246 7.2 alert descriptions.
TLS_ALERTS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}
TLS_HANDSHAKES = {
    1: "ClientHello",
    2: "ServerHello",
    11: "Certificate",
    12: "ServerKeyExchange",
    13: "CertificateRequest",
    14: "ServerHelloDone",
    16: "ClientKeyExchange",
    20: "Finished",
}


@dataclass
class HttpMessage:
    ts: float
    from_client: bool
    method: str = ""
    path: str = ""
    status: int | None = None
    scheme: str = ""  # of Authorization (request) or the first WWW-Authenticate (response)
    offered: list[str] = field(default_factory=list)  # every WWW-Authenticate scheme
    token: auth.Token | None = None
    content_type: str = ""
    body_len: int = 0
    body: bytes | None = None  # None when encrypted or absent
    incomplete: bool = False  # part of the body was not captured

    @property
    def encrypted(self) -> bool:
        return self.content_type.lower().startswith("multipart/encrypted")


def looks_like_http(data: bytes) -> bool:
    return data.startswith(METHODS) or data.startswith(b"HTTP/1.")


def looks_like_tls(data: bytes) -> bool:
    return len(data) >= 6 and data[0] == 0x16 and data[1] == 3 and data[5] in (1, 2)


class HttpParser:
    """Feed bytes of one direction; complete messages are appended to `messages`."""

    def __init__(self, from_client: bool, messages: list[HttpMessage]):
        self.from_client = from_client
        self.messages = messages
        self.buffer = bytearray()
        self.current: HttpMessage | None = None
        self.remaining = 0
        self.body = bytearray()
        self.chunked = False
        self.broken = False
        self.lost = False  # bytes went missing: skip to the next segment that starts a message

    def feed(self, data: bytes, ts: float) -> None:
        if self.broken:
            return
        if self.lost:
            if not looks_like_http(data):
                return
            self.lost = False
        self.buffer += data
        while self.buffer and not self.broken:
            if self.current is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buffer) > HEADERS_MAX:
                        self.broken = True
                    return
                self._head(bytes(self.buffer[:end]), ts)
                del self.buffer[: end + 4]
                continue
            if self.chunked:
                if not self._chunk():
                    return
                continue
            take = min(self.remaining, len(self.buffer))
            self._body(self.buffer[:take])
            del self.buffer[:take]
            self.remaining -= take
            if self.remaining:
                return
            self._finish()

    def unfinished(self) -> int:
        """A message begun and not ended: its buffered bytes, and its body so far once its head was read."""
        return len(self.buffer) + (len(self.body) + 1 if self.current is not None else 0)

    def gap(self, missing: int) -> None:
        """Bytes were lost. Inside a body of known length they are only counted (the message stays, marked
        incomplete); elsewhere the partial message is dropped until the next one starts cleanly."""
        if self.current is not None and not self.chunked and not self.buffer and missing <= self.remaining:
            self.current.incomplete = True
            self.current.body_len += missing
            self.remaining -= missing
            if not self.remaining:
                self._finish()
            return
        self.buffer.clear()
        self.current, self.body, self.remaining, self.chunked = None, bytearray(), 0, False
        self.lost = True

    def _head(self, head: bytes, ts: float) -> None:
        lines = head.decode("latin-1").split("\r\n")
        message = HttpMessage(ts, self.from_client)
        first = lines[0].split(" ", 2)
        if first[0].startswith("HTTP/"):
            try:
                message.status = int(first[1])
            except (IndexError, ValueError):
                self.broken = True
                return
        elif len(first) >= 2:
            message.method, message.path = first[0], first[1]
        else:
            self.broken = True
            return
        length, self.chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length" and value.isdigit():
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                self.chunked = True
            elif name == "content-type":
                message.content_type = value
            elif name in ("authorization", "www-authenticate"):
                scheme, _, data = value.partition(" ")
                if name == "www-authenticate":
                    message.offered.append(scheme)
                if not message.scheme or data:
                    message.scheme = scheme
                    if data and scheme.lower() in ("negotiate", "ntlm", "kerberos"):
                        message.token = _token(data)
        self.current, self.remaining, self.body = message, length, bytearray()
        if not self.chunked and not length:
            self._finish()

    def _chunk(self) -> bool:
        if self.remaining:
            take = min(self.remaining, len(self.buffer))
            self._body(self.buffer[:take])
            del self.buffer[:take]
            self.remaining -= take
            if self.remaining:
                return False
            if len(self.buffer) < 2:
                self.remaining = 0
                return False
            del self.buffer[:2]
            return True
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return False
        try:
            size = int(bytes(self.buffer[:end]).split(b";")[0], 16)
        except ValueError:
            self.broken = True
            return False
        del self.buffer[: end + 2]
        if size == 0:
            trailer = self.buffer.find(b"\r\n")
            del self.buffer[: trailer + 2 if trailer >= 0 else len(self.buffer)]
            self._finish()
            return True
        self.remaining = size
        return True

    def _body(self, data: bytes | bytearray) -> None:
        assert self.current is not None
        self.current.body_len += len(data)
        if len(self.body) < BODY_KEPT:
            self.body += data[: BODY_KEPT - len(self.body)]

    def _finish(self) -> None:
        assert self.current is not None
        message = self.current
        if self.body and not message.encrypted:
            message.body = bytes(self.body)
        self.messages.append(message)
        self.current, self.body, self.chunked = None, bytearray(), False


def _token(data: str) -> auth.Token | None:
    try:
        return auth.decode(base64.b64decode(data.strip(), validate=False))
    except (binascii.Error, ValueError):
        return None


@dataclass
class TlsEvent:
    ts: float
    from_client: bool
    kind: str  # a handshake message name, "alert", "application_data", "change_cipher_spec"
    detail: str = ""


class TlsParser:
    """Feed bytes of one direction; records are summarised into `events` (one per handshake message type
    or alert; application data noted once)."""

    def __init__(self, from_client: bool, events: list[TlsEvent]):
        self.from_client = from_client
        self.events = events
        self.buffer = bytearray()
        self.encrypted = False  # after ChangeCipherSpec, handshake and alert contents are sealed
        self.saw_data = False

    def unfinished(self) -> int:
        return len(self.buffer)

    def feed(self, data: bytes, ts: float) -> None:
        self.buffer += data
        while len(self.buffer) >= 5:
            kind, length = self.buffer[0], int.from_bytes(self.buffer[3:5], "big")
            if kind not in (20, 21, 22, 23) or self.buffer[1] != 3:
                self.buffer.clear()  # not TLS any more (or lost sync): stop reading this direction
                return
            if len(self.buffer) < 5 + length:
                return
            record = bytes(self.buffer[5 : 5 + length])
            del self.buffer[: 5 + length]
            self._record(kind, record, ts)

    def gap(self, missing: int) -> None:
        self.buffer.clear()

    def _record(self, kind: int, record: bytes, ts: float) -> None:
        if kind == 20:
            self.encrypted = True
            self.events.append(TlsEvent(ts, self.from_client, "change_cipher_spec"))
        elif kind == 21:
            if self.encrypted or len(record) < 2:
                self.events.append(TlsEvent(ts, self.from_client, "alert", "encrypted alert"))
            else:
                level = "fatal" if record[0] == 2 else "warning"
                self.events.append(
                    TlsEvent(ts, self.from_client, "alert", f"{level} {TLS_ALERTS.get(record[1], record[1])}")
                )
        elif kind == 22 and not self.encrypted and record:
            self.events.append(TlsEvent(ts, self.from_client, TLS_HANDSHAKES.get(record[0], f"handshake {record[0]}")))
        elif kind == 23 and not self.saw_data:
            self.saw_data = True
            self.events.append(TlsEvent(ts, self.from_client, "application_data"))
