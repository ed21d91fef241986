"""Read MOF text into a MofDocument with lark (LALR, contextual lexer, model built during the parse).

The parser never raises on bad MOF: a syntax error becomes a diagnostic with the line, a caret and
what was expected, and reading resumes at the next line that starts a statement, so one typo does
not hide the rest of the file. C-preprocessor directives are skipped and reported at their line.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from wmidoctor.artifacts.gate import read_capped
from wmidoctor.artifacts.mof.decode import decode_mof
from wmidoctor.artifacts.mof.model import (
    AliasRef,
    Assignment,
    ClassDecl,
    Diagnostic,
    Instance,
    Method,
    MofDocument,
    Position,
    Pragma,
    Property,
    Qualifier,
    QualifierDecl,
    Statement,
    TypeRef,
)
from wmidoctor.artifacts.mof.namespace import resolve_namespace

GRAMMAR = Path(__file__).with_name("mof.lark")
MAX_SYNTAX_ERRORS = 20  # past this many, the file is not MOF worth reading further
# Real MOF nests an embedded instance or array a few levels at most; a statement nested deeper is refused with a
# diagnostic, so no later recursive walk (lint, JSON output) meets a depth the interpreter cannot follow.
MAX_VALUE_NESTING = 32
PREPROCESSOR_MESSAGE = (
    "C preprocessor directive; run the file through the preprocessor (as the WDK build does) before linting"
)

# How an expected terminal is named to a person (string terminals are shown as themselves).
_TERMINAL_WORDS = {
    "IDENT": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "CHAR16": "a character literal",
    "ALIAS": "an alias ($Name)",
    "DATATYPE": "a data type (uint32, string, ...)",
    "FLAVOR": "a flavor (ToInstance, ToSubclass, DisableOverride, Restricted, Translatable, Amended)",
    "PRAGMA": "#pragma",
    "$END": "end of file",
}
# A line that starts a top-level statement: where reading resumes after a syntax error.
_RESYNC = re.compile(r"^(?:#[ \t]*pragma\b|class\b|instance[ \t]+of\b|qualifier\b|\[)", re.I | re.M)
# A `+` making the quantifier before it possessive (`*+`, `++`, `?+`, `}+`; not `\*+` nor `[*+]`).
_POSSESSIVE = re.compile(r"(?<![\\\[])([*+?}])\+")
_ESCAPE = re.compile(r"\\(?:[xX]([0-9a-fA-F]{1,4})|(.))")
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def grammar_text() -> str:
    """The grammar as lark should compile it on this Python.

    Strings and comments use possessive quantifiers (`*+`, `++`): they never give characters back, so
    the regex engine keeps no backtracking state per character. Without them a 5 MB string literal
    cost about 1.5 GB. Python 3.10's `re` lacks them; there they become plain quantifiers, which match
    the same text (each pattern has one way to match) but keep state for each escape in a literal.
    """
    text = GRAMMAR.read_text(encoding="utf-8")
    if sys.version_info < (3, 11):
        text = _POSSESSIVE.sub(r"\1", text)
    return text


def table_cache() -> str | None:
    """Where the LALR tables are kept between processes (building them costs 50-125 ms a process), or None.

    The file is a pickle, so it is only used from a folder that belongs to this user and that nobody else may
    write: `$XDG_CACHE_HOME/wmidoctor` (or ~/.cache/wmidoctor), made 0700; never a shared temporary folder
    with a predictable name. Lark itself checks the grammar's hash stored in the file and rebuilds on a
    mismatch or a damaged file. WMIDOCTOR_NO_CACHE=1 turns the cache off.
    """
    if os.environ.get("WMIDOCTOR_NO_CACHE") or not hasattr(os, "getuid"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "wmidoctor"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        path = folder / f"mof-grammar-py{sys.version_info[0]}{sys.version_info[1]}.lark-cache"
        owned = [info] + ([path.stat()] if path.exists() else [])
    except OSError:
        return None
    if any(i.st_uid != os.getuid() or i.st_mode & 0o022 for i in owned):
        return None
    return str(path)


def _unescape_match(m: re.Match[str]) -> str:
    if m.group(1):
        return chr(int(m.group(1), 16))
    return _SIMPLE_ESCAPES.get(m.group(2), m.group(2))


def unescape(body: str) -> str:
    """Apply MOF string escapes (\\n, \\", \\\\, \\x41...); an unknown escape keeps its character."""
    return _ESCAPE.sub(_unescape_match, body) if "\\" in body else body


def _position(token: Token) -> Position:
    return Position(token.line or 0, token.column or 0)  # the lexer sets both; 0 would mean "not known"


def _word(token: Token) -> str:
    """A name that recurs thousands of times in a large MOF (qualifier, flavor, type): stored once."""
    return sys.intern(str(token))


@lru_cache(maxsize=1024)
def _shared_type(name: str, is_ref: bool, is_datatype: bool) -> TypeRef:
    """TypeRef is immutable and a file uses few distinct types: one object for each."""
    return TypeRef(name, is_ref, is_datatype)


@lru_cache(maxsize=256)
def _shared_flavors(flavors: tuple[str, ...]) -> tuple[str, ...]:
    return flavors


def parse_number(text: str) -> int | float:
    """Decimal, hex (0x1F), octal (017), binary (101b) or real (1.5e3), with an optional sign."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body[:2] in ("0x", "0X"):
        return sign * int(body[2:], 16)
    if body[-1:] in ("b", "B"):
        return sign * int(body[:-1], 2)
    if "." in body or "e" in body or "E" in body:
        return sign * float(body)
    if len(body) > 1 and body[0] == "0" and body.isdigit() and "8" not in body and "9" not in body:
        return sign * int(body, 8)
    return sign * int(body)


class _Given:
    """An optional part that was written (so an explicit NULL differs from an absent value)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Default(_Given):
    __slots__ = ()


class _ArraySize(int):
    pass


class _Scopes(tuple[Any, ...]):
    pass


class _Flavors(tuple[Any, ...]):
    pass


class _Qualifiers(tuple[Any, ...]):
    pass


class _Builder(Transformer[Any, Any]):
    """Builds model objects as the LALR parser reduces rules; finished statements go to `sink`."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.sink: list[Statement] = []
        self.directives: list[Token] = []
        self.too_deep: list[Position] = []

    # ---- statements ------------------------------------------------------------------------
    def start(self, _children: list[Any]) -> None:
        return None

    def pragma(self, c: list[Any]) -> None:
        args: tuple[Any, ...] = ()
        raw: tuple[str, ...] = ()
        if len(c) > 2:
            parts = [a for a in c[2] if a is not None]
            args = tuple(a[0] if isinstance(a, tuple) else (str(a) if isinstance(a, Token) else a) for a in parts)
            raw = tuple(a[1] for a in parts if isinstance(a, tuple))
        self.sink.append(Pragma(str(c[1]).lower(), args, _position(c[0]), raw))

    def pragma_args(self, c: list[Any]) -> list[Any]:
        return c

    def pragma_string(self, c: list[Token]) -> tuple[str, str]:
        raw = "".join(t[1:-1] for t in c)
        return unescape(raw), raw

    def _keep(self, statement: Statement) -> None:
        if _nesting(statement) > MAX_VALUE_NESTING:
            self.too_deep.append(statement.position)
        else:
            self.sink.append(statement)

    def instance_decl(self, c: list[Instance]) -> None:
        self._keep(c[0])

    def class_decl(self, c: list[Any]) -> None:
        quals = c[0] if isinstance(c[0], _Qualifiers) else ()
        i = 1 if quals or isinstance(c[0], _Qualifiers) else 0
        name, superclass = c[i + 1], c[i + 2]
        features = c[i + 3 :]
        self._keep(
            ClassDecl(
                str(name),
                str(superclass) if superclass is not None else None,
                tuple(quals),
                tuple(f for f in features if isinstance(f, Property)),
                tuple(f for f in features if isinstance(f, Method)),
                _position(name),
            )
        )

    def qualifier_decl(self, c: list[Any]) -> None:
        name, type_ref = c[1], c[2]
        array = next((x for x in c[3:] if isinstance(x, _ArraySize)), None)
        default = next((x.value for x in c[3:] if isinstance(x, _Default)), None)
        scopes = next((x for x in c[3:] if isinstance(x, _Scopes)), ())
        flavors = next((x for x in c[3:] if isinstance(x, _Flavors)), ())
        self.sink.append(
            QualifierDecl(
                str(name),
                type_ref,
                _position(name),
                None if array is None else int(array),
                default,
                tuple(scopes),
                tuple(flavors),
            )
        )

    def qualifier_flavors_decl(self, c: list[Token]) -> None:
        """The Microsoft short form `qualifier Name : ToSubclass Amended;` (flavours only, no type)."""
        self.sink.append(QualifierDecl(str(c[1]), TypeRef(""), _position(c[1]), flavors=tuple(str(t) for t in c[2:])))

    def scope(self, c: list[str]) -> _Scopes:
        return _Scopes(c)

    def scope_name(self, c: list[Token]) -> str:
        return str(c[0])

    def flavor_list(self, c: list[Token]) -> _Flavors:
        return _Flavors(str(t) for t in c)

    # ---- qualifiers ------------------------------------------------------------------------
    def qualifier_list(self, c: list[Qualifier]) -> _Qualifiers:
        return _Qualifiers(c)

    def qualifier(self, c: list[Any]) -> Qualifier:
        name, given, flavors = c
        return Qualifier(
            _word(name),
            given.value if given is not None else None,
            flavors if flavors is not None else (),
            _position(name),
            given is not None,
        )

    def qualifier_value(self, c: list[Any]) -> _Given:
        return _Given(c[0])

    def flavor_suffix(self, c: list[Token]) -> tuple[str, ...]:
        return _shared_flavors(tuple(_word(t) for t in c))

    # ---- classes ---------------------------------------------------------------------------
    def type_name(self, c: list[Token]) -> TypeRef:
        token = c[0]
        return _shared_type(_word(token), False, token.type != "IDENT")

    def type_ref(self, c: list[TypeRef]) -> TypeRef:
        return c[0]

    def ref_type(self, c: list[Token]) -> TypeRef:
        return _shared_type(_word(c[0]), True, c[0].type != "IDENT")

    def array_spec(self, c: list[Any]) -> _ArraySize:
        return _ArraySize(0 if c[0] is None else c[0])

    def default(self, c: list[Any]) -> _Default:
        return _Default(c[0])

    def _member(self, c: list[Any]) -> Property:
        quals: tuple[Qualifier, ...] = ()
        array: int | None = None
        default: _Default | None = None
        type_ref: TypeRef | None = None
        name: Token | None = None
        for item in c:
            if isinstance(item, _Qualifiers):
                quals = tuple(item)
            elif isinstance(item, TypeRef):
                type_ref = item
            elif isinstance(item, Token):
                name = item
            elif isinstance(item, _ArraySize):
                array = int(item)
            elif isinstance(item, _Default):
                default = item
        assert type_ref is not None and name is not None
        return Property(
            str(name), type_ref, quals, _position(name), array, default.value if default else None, default is not None
        )

    property_decl = _member
    parameter = _member

    def method_decl(self, c: list[Any]) -> Method:
        quals = tuple(c[0]) if isinstance(c[0], _Qualifiers) else ()
        rest = c[1:] if quals or isinstance(c[0], _Qualifiers) else c
        return_type, name, params = rest[0], rest[1], rest[2:]
        return Method(str(name), return_type, tuple(p for p in params if p is not None), quals, _position(name))

    # ---- instances -------------------------------------------------------------------------
    def instance(self, c: list[Any]) -> Instance:
        quals = tuple(c[0]) if isinstance(c[0], _Qualifiers) else ()
        rest = c[1:] if quals or isinstance(c[0], _Qualifiers) else c
        keyword, class_name, alias = rest[0], rest[1], rest[2]
        return Instance(
            str(class_name), str(alias) if alias is not None else None, tuple(rest[3:]), quals, _position(keyword)
        )

    def assignment(self, c: list[Any]) -> Assignment:
        quals = tuple(c[0]) if isinstance(c[0], _Qualifiers) else ()
        return Assignment(str(c[-2]), c[-1], quals, _position(c[-2]))

    def bare_assignment(self, c: list[Any]) -> Assignment:
        """`Name;` inside an instance (qualifiers without a value, as OMI writes them)."""
        quals = tuple(c[0]) if isinstance(c[0], _Qualifiers) else ()
        return Assignment(str(c[-1]), None, quals, _position(c[-1]))

    # ---- values ----------------------------------------------------------------------------
    def string(self, c: list[Token]) -> str:
        if len(c) == 1:
            return unescape(c[0][1:-1])
        return "".join(unescape(t[1:-1]) for t in c)

    def number(self, c: list[Token]) -> int | float:
        return parse_number(c[0])

    def char16(self, c: list[Token]) -> str:
        return unescape(c[0][1:-1])

    def true(self, _c: list[Token]) -> bool:
        return True

    def false(self, _c: list[Token]) -> bool:
        return False

    def null(self, _c: list[Token]) -> None:
        return None

    def alias_ref(self, c: list[Token]) -> AliasRef:
        return AliasRef(str(c[0]), _position(c[0]))

    def array(self, c: list[Any]) -> list[Any]:
        return c

    def empty_array(self, _c: list[Any]) -> list[Any]:
        return []


class MofParser:
    """One compiled grammar; `parse_text` is serialised because the builder holds per-call state."""

    def __init__(self) -> None:
        self._builder = _Builder()
        self._lark = Lark(
            grammar_text(),
            parser="lalr",
            lexer="contextual",
            transformer=self._builder,
            maybe_placeholders=True,
            lexer_callbacks={"CPP_DIRECTIVE": self._directive},
            cache=table_cache() or False,
        )
        self._terminal_words = {
            t.name: (
                f"'{t.pattern.value}'"
                if isinstance(t.pattern, PatternStr)
                else _TERMINAL_WORDS.get(t.name, t.name.lower())
            )
            for t in self._lark.terminals
        }
        self._terminal_words["$END"] = _TERMINAL_WORDS["$END"]
        self._lock = threading.Lock()

    def _directive(self, token: Token) -> Token:
        self._builder.directives.append(token)
        return token

    def parse_text(self, text: str, path: str = "<text>", encoding: str = "utf-8") -> MofDocument:
        document = MofDocument(path=path, encoding=encoding)
        with self._lock:
            self._builder.sink = document.statements
            self._builder.directives = []
            self._builder.too_deep = []
            lines = self._parse_with_recovery(text, document)
            directives, too_deep = self._builder.directives, self._builder.too_deep
            self._builder.sink = []
        document.diagnostics.extend(
            Diagnostic(
                "MOF-NESTING",
                "error",
                f"values nested deeper than {MAX_VALUE_NESTING} levels; statement skipped",
                position,
            )
            for position in too_deep
        )
        for token in directives:
            if lines is None:
                lines = text.splitlines()
            document.diagnostics.append(
                Diagnostic(
                    "MOF-PREPROCESSOR",
                    "error",
                    f"{PREPROCESSOR_MESSAGE}: {token.split(None, 1)[0]}",
                    _position(token),
                    _line(lines, token.line or 0),
                )
            )
        if directives:
            hint = " (this file uses the C preprocessor; a macro may be the cause)"
            document.diagnostics = [
                Diagnostic(d.code, d.severity, d.message + hint, d.position, d.source_line)
                if d.code == "MOF-SYNTAX"
                else d
                for d in document.diagnostics
            ]
        document.diagnostics.sort(key=lambda d: (d.position.line, d.position.column))
        _assign_namespaces(document.statements)
        return document

    def _parse_with_recovery(self, text: str, document: MofDocument) -> list[str] | None:
        """Parse, resuming after each syntax error; return the text's lines when an error needed them
        (the split is made only then: a clean file is never copied line by line)."""
        source = text
        lines: list[str] | None = None
        for _ in range(MAX_SYNTAX_ERRORS):
            try:
                self._lark.parse(source)
                return lines
            except UnexpectedInput as exc:
                if lines is None:
                    lines = text.splitlines()
                document.diagnostics.append(self._syntax_diagnostic(exc, lines))
                error_line = max(exc.line, document.diagnostics[-1].position.line)
            resume = _resume_offset(text, lines, error_line)
            if resume is None:
                return lines
            # Keep line numbers: the skipped part becomes empty lines.
            source = "\n" * text.count("\n", 0, resume) + text[resume:]
        document.diagnostics.append(
            Diagnostic(
                "MOF-SYNTAX",
                "error",
                f"too many syntax errors; stopped after {MAX_SYNTAX_ERRORS}",
                document.diagnostics[-1].position,
            )
        )
        return lines

    def _syntax_diagnostic(self, exc: UnexpectedInput, lines: list[str]) -> Diagnostic:
        line, column = max(exc.line, 1), max(exc.column, 1)
        if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
            found = "end of file"
            line = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 1)
            column = len(lines[line - 1].rstrip()) + 1 if lines else 1
        elif isinstance(exc, UnexpectedToken):
            found = f"'{_clip(str(exc.token))}'"
        elif isinstance(exc, UnexpectedCharacters):
            found = f"character '{exc.char}'"
        else:
            found = "end of file"
        expected = self._expected_words(exc)
        if isinstance(exc, UnexpectedToken) and "SEMICOLON" in exc.expected and exc.token.type != "$END":
            previous = _previous_code_line(lines, line, column)
            if previous is not None:
                # The usual typo: a statement's ';' forgotten at the end of an earlier line.
                end = len(_strip_line_comment(lines[previous - 1]).rstrip()) + 1
                return Diagnostic(
                    "MOF-SYNTAX",
                    "error",
                    f"missing ';' at the end of line {previous} (found {found} on line {line})",
                    Position(previous, end),
                    _line(lines, previous),
                )
        message = f"unexpected {found}"
        if expected:
            message += f"; expected {expected}"
        return Diagnostic("MOF-SYNTAX", "error", message, Position(line, column), _line(lines, line))

    def _expected_words(self, exc: UnexpectedInput) -> str:
        if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
            names = exc.expected
        elif isinstance(exc, UnexpectedCharacters):
            names = exc.allowed or set()
        else:
            names = set()
        words = sorted(
            {self._terminal_words.get(n, n) for n in names if not n.startswith("__")},
            key=lambda w: (w.startswith("'"), w),
        )
        if len(words) > 12:
            words = [*words[:12], "..."]
        return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1] if words else ""


def _nesting(statement: Statement) -> int:
    """How deeply arrays and embedded instances nest inside a statement (walked without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(statement, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, Instance):
            stack.extend((item, depth + 1) for item in value.assignments)
        elif hasattr(value, "__slots__") and not isinstance(value, (str, Position)):
            stack.extend((getattr(value, name), depth) for name in value.__slots__)
    return deepest


def _strip_line_comment(text: str) -> str:
    """The line without a trailing // comment (a // inside a string is left alone)."""
    in_string = False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            in_string = not in_string
        elif not in_string and text.startswith("//", i):
            return text[:i]
    return text


def _previous_code_line(lines: list[str], line: int, column: int) -> int | None:
    """The nearest earlier line holding code, when the error token is the first code on its line."""
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    if current[: column - 1].strip():
        return None
    for number in range(line - 1, 0, -1):
        code = _strip_line_comment(lines[number - 1]).strip()
        if code and not code.startswith(("/*", "*")):
            return number
    return None


def _clip(text: str, width: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _resume_offset(text: str, lines: list[str], error_line: int) -> int | None:
    """Offset of the first line after `error_line` that starts a top-level statement."""
    if error_line >= len(lines):
        return None
    start = 0
    for _ in range(error_line):
        start = text.find("\n", start) + 1
        if start == 0:
            return None
    m = _RESYNC.search(text, start)
    return m.start() if m else None


def _assign_namespaces(statements: list[Statement]) -> None:
    """Give each class and instance the namespace the last `#pragma namespace` put in force."""
    current: str | None = None
    for statement in statements:
        if isinstance(statement, Pragma):
            if statement.name == "namespace" and statement.arguments and isinstance(statement.arguments[0], str):
                current = resolve_namespace(current, statement.arguments[0])
        elif isinstance(statement, (ClassDecl, Instance)):
            statement.namespace = current


_PARSER: MofParser | None = None
_PARSER_LOCK = threading.Lock()


def default_parser() -> MofParser:
    """The process-wide parser (building the LALR tables once costs about a tenth of a second)."""
    global _PARSER
    with _PARSER_LOCK:
        if _PARSER is None:
            _PARSER = MofParser()
        return _PARSER


def parse_text(text: str, path: str = "<text>") -> MofDocument:
    """Parse MOF source already decoded to text."""
    return default_parser().parse_text(text, path)


def parse_bytes(data: bytes, path: str = "<bytes>") -> MofDocument:
    text, encoding, exact = decode_mof(data)
    nul = text.find("\0")
    if nul >= 0:  # MOF text never holds a NUL; parsing binary would only print garbage as "syntax errors"
        document = MofDocument(path=path, encoding=encoding)
        document.diagnostics.append(
            Diagnostic(
                "MOF-BINARY",
                "error",
                "binary data (a NUL byte), not MOF text; nothing in this file was checked",
                Position(text.count("\n", 0, nul) + 1, nul - text.rfind("\n", 0, nul)),
            )
        )
        return document
    document = default_parser().parse_text(text, path, encoding)
    if not exact:
        document.diagnostics.insert(
            0,
            Diagnostic(
                "MOF-ENCODING",
                "warning",
                f"not valid UTF-8 and no byte order mark; read as {encoding} (mofcomp reads such files in the "
                "ANSI code page; save the file as UTF-8 or UTF-16 with a BOM)",
                Position(1, 1),
            ),
        )
    return document


def parse_file(path: str | Path) -> MofDocument:
    """Read and parse one MOF file. Never raises on bad MOF; an unreadable file raises OSError."""
    return parse_bytes(read_capped(path, "mof"), str(path))
