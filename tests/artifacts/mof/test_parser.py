"""The MOF reader: every construct of the Microsoft dialect, encodings, positions, and bad input."""

from __future__ import annotations

import codecs

import pytest

from wmidoctor.artifacts.mof import AliasRef, Instance, parse_bytes, parse_file, parse_text
from wmidoctor.artifacts.mof.namespace import resolve_namespace
from wmidoctor.artifacts.mof.parser import parse_number, unescape


def one(text: str):
    document = parse_text(text)
    assert document.ok, document.diagnostics
    assert len(document.statements) == 1
    return document.statements[0]


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ('#pragma namespace("\\\\\\\\.\\\\root\\\\cimv2")', "namespace", ("\\\\.\\root\\cimv2",)),
        ('#pragma namespace("Sub")', "namespace", ("Sub",)),
        ("#pragma autorecover", "autorecover", ()),
        ("#PRAGMA AUTORECOVER", "autorecover", ()),
        ("#pragma autorecover()", "autorecover", ()),
        ('#pragma classflags("forceupdate", "updateonly")', "classflags", ("forceupdate", "updateonly")),
        ("#pragma classflags(64)", "classflags", (64,)),
        ('#pragma instanceflags("createonly")', "instanceflags", ("createonly",)),
        ('#pragma deleteclass("MyClass", NOFAIL)', "deleteclass", ("MyClass", "NOFAIL")),
        ("#pragma deleteinstance(\"X.id='a'\", FAIL)", "deleteinstance", ("X.id='a'", "FAIL")),
        ('#pragma include("other.mof")', "include", ("other.mof",)),
        ('#pragma locale("MS_409")', "locale", ("MS_409",)),
        ('#pragma amendment("MS_409")', "amendment", ("MS_409",)),
    ],
)
def test_pragmas(text, name, args):
    pragma = one(text)
    assert (pragma.name, pragma.arguments) == (name, args)
    assert (pragma.position.line, pragma.position.column) == (1, 1)


def test_pragma_keeps_the_string_as_written():
    pragma = one('#pragma namespace("\\\\.\\root")')
    assert pragma.raw_arguments == ("\\\\.\\root",)


def test_namespaces_follow_the_pragmas():
    document = parse_text(
        '#pragma namespace("\\\\\\\\.\\\\root\\\\test")\nclass A {};\n'
        '#pragma namespace("ms_409")\nclass B {};\n#pragma namespace("root\\\\other")\n'
        "instance of A { };\n"
    )
    a, b, inst = document.classes[0], document.classes[1], document.instances[0]
    assert (a.namespace, b.namespace, inst.namespace) == ("root\\test", "root\\test\\ms_409", "root\\other")
    assert document.namespaces == ["\\\\.\\root\\test", "ms_409", "root\\other"]


def test_no_namespace_pragma_leaves_namespace_unknown():
    assert parse_text("class A {};").classes[0].namespace is None


@pytest.mark.parametrize(
    ("current", "written", "expected"),
    [
        (None, "\\\\.\\root\\cimv2", "root\\cimv2"),
        ("root\\x", "\\\\SERVER\\root\\y", "root\\y"),
        ("root\\x", "child", "root\\x\\child"),
        ("root\\x", "root/cimv2", "root\\cimv2"),
        (None, "child", "child"),
    ],
)
def test_resolve_namespace(current, written, expected):
    assert resolve_namespace(current, written) == expected


def test_qualifier_declarations_with_flavours_and_scope():
    document = parse_text(
        "Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, "
        "Translatable);\nQualifier Values : string[], Scope(property, class);\n"
        "qualifier write:ToInstance ToSubClass;\n"
    )
    desc, values, write = document.qualifier_decls
    assert desc.type.name == "string" and desc.default is None
    assert desc.scopes == ("any",) and desc.flavors == ("EnableOverride", "ToSubclass", "Translatable")
    assert values.array == 0 and values.scopes == ("property", "class")
    assert write.name == "write" and write.flavors == ("ToInstance", "ToSubClass")


def test_class_with_superclass_properties_arrays_refs_and_defaults():
    cls = one("""[dynamic: ToInstance, provider("MyProv"), Description("d") : Amended ToSubclass]
class My_Class : CIM_Base
{
    [key, read] string Name;
    uint8 Fixed[4];
    string Many[] = {"a", "b"};
    CIM_Thing ref Target;
    object Anything;
    My_Embedded Embedded;
    sint32 Count = -5;
};""")
    assert cls.name == "My_Class" and cls.superclass == "CIM_Base"
    assert cls.is_dynamic and cls.provider == "MyProv"
    assert cls.qualifier("Description").flavors == ("Amended", "ToSubclass")
    assert cls.qualifier("dynamic").flavors == ("ToInstance",)
    props = {p.name: p for p in cls.properties}
    assert props["Name"].is_key and not props["Count"].is_key
    assert props["Fixed"].array == 4 and props["Many"].array == 0 and props["Name"].array is None
    assert props["Many"].default == ["a", "b"]
    assert props["Target"].type.is_ref and props["Target"].type.name == "CIM_Thing"
    assert props["Anything"].type.is_datatype and props["Anything"].type.name == "object"
    assert not props["Embedded"].type.is_datatype
    assert props["Count"].default == -5
    assert (cls.position.line, cls.position.column) == (2, 7)
    assert (props["Name"].position.line, props["Name"].position.column) == (4, 24)


def test_methods_with_parameter_qualifiers():
    cls = one("""class C {
    [implemented, static] uint32 Create([in] string Name, [in, out] uint32 Flags[], [out] CIM_X ref Result);
    [implemented] void Reset();
};""")
    create, reset = cls.methods
    assert create.return_type.name == "uint32" and create.qualifier("implemented").enabled
    assert [p.name for p in create.parameters] == ["Name", "Flags", "Result"]
    assert [q.name for q in create.parameters[1].qualifiers] == ["in", "out"]
    assert create.parameters[1].array == 0 and create.parameters[2].type.is_ref
    assert reset.parameters == () and reset.return_type.name == "void"


def test_keywords_are_names_where_no_keyword_fits():
    cls = one("class Class { string String; uint32 Ref; boolean Instance; };")
    assert [p.name for p in cls.properties] == ["String", "Ref", "Instance"]


def test_instances_aliases_and_embedded_objects():
    document = parse_text("""instance of __Win32Provider as $P { Name = "X"; CLSID = "{0}"; };
instance of __InstanceProviderRegistration { Provider = $P; SupportsGet = TRUE; SupportsPut = false; };
instance of Holder {
    [key] Id = 1;
    Obj = instance of Inner as $In { Value = NULL; };
    List = { instance of Inner { Value = 'c'; }, instance of Inner { Value = 2; } };
    Empty = {};
};""")
    assert document.ok, document.diagnostics
    provider, registration, holder = document.instances
    assert provider.alias == "$P" and provider.is_provider and provider.get("name") == "X"
    assert registration.is_registration and isinstance(registration.get("Provider"), AliasRef)
    assert registration.get("SupportsGet") is True and registration.get("SupportsPut") is False
    embedded = holder.get("Obj")
    assert isinstance(embedded, Instance) and embedded.alias == "$In" and embedded.get("Value") is None
    assert [i.get("Value") for i in holder.get("List")] == ["c", 2]
    assert holder.get("Empty") == [] and holder.assignment("Id").qualifiers[0].name == "key"
    assert document.providers == [provider] and document.registrations == [registration]


def test_strings_escapes_and_concatenation():
    inst = one('instance of X { A = "one " "two"\n   " three"; B = "q\\"uote\\\\ \\x41\\n"; C = \'\\t\'; };')
    assert inst.get("A") == "one two three"
    assert inst.get("B") == 'q"uote\\ A\n'
    assert inst.get("C") == "\t"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("0x1F", 31),
        ("0X10", 16),
        ("017", 15),
        ("101b", 5),
        ("1.5", 1.5),
        ("-2.5e3", -2500.0),
        ("1E2", 100.0),
        ("0", 0),
        ("089", 89),
    ],
)
def test_numbers(text, value):
    assert parse_number(text) == value
    assert one(f"instance of X {{ V = {text}; }};").get("V") == value


def test_unescape_leaves_unknown_escapes_readable():
    assert unescape("a\\qb") == "aqb" and unescape("plain") == "plain"


def test_comments_are_skipped():
    document = parse_text("// line\n/* block\n still */ class A { /* inner */ uint32 X; // tail\n};")
    assert document.ok and document.classes[0].properties[0].name == "X"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"])
def test_encodings_with_and_without_bom(encoding):
    text = 'class Café { string Näme = "ü"; };'
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        bom = codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF16_BE
        for payload in (bom + data, data):  # with a BOM, and detected without one
            document = parse_bytes(payload)
            assert document.ok and document.classes[0].name == "Café" and document.encoding == encoding
    else:
        document = parse_bytes(data)
        assert document.ok and document.classes[0].properties[0].default == "ü"


def test_legacy_code_page_is_read_with_a_warning():
    document = parse_bytes('class A { string S = "caf\xe9"; };'.encode("cp1252"))
    assert document.classes[0].properties[0].default == "café"
    assert [d.code for d in document.diagnostics] == ["MOF-ENCODING"]


def test_preprocessor_lines_are_reported_and_skipped():
    document = parse_text(
        '#pragma autorecover\n#define X \\\n   more\n#include "a.h"\n  #ifdef Y\nclass A { uint32 V; };\n#endif\n'
    )
    assert [(d.code, d.position.line) for d in document.diagnostics] == [
        ("MOF-PREPROCESSOR", 2),
        ("MOF-PREPROCESSOR", 4),
        ("MOF-PREPROCESSOR", 5),
        ("MOF-PREPROCESSOR", 7),
    ]
    assert "run the file through the preprocessor" in document.diagnostics[0].message
    assert document.classes[0].name == "A" and document.autorecover


def test_hash_inside_comments_and_strings_is_not_a_directive():
    document = parse_text('/*\n#include "x"\n*/\nclass A { [Description("#define")] string S; };')
    assert document.ok


def test_syntax_error_has_position_line_caret_and_expectation():
    document = parse_text("class A\n{\n    uint32 X = ;\n};\n")
    (error,) = document.diagnostics
    assert error.code == "MOF-SYNTAX" and (error.position.line, error.position.column) == (3, 16)
    assert "unexpected ';'" in error.message and "a number" in error.message and "a string" in error.message
    assert error.excerpt() == "    uint32 X = ;\n               ^"


def test_missing_semicolon_is_reported_on_its_own_line():
    document = parse_text('instance of A\n{\n    X = "a"   // note\n    Y = 2;\n};\n')
    (error,) = document.diagnostics
    assert "missing ';' at the end of line 3" in error.message
    assert (error.position.line, error.position.column) == (3, 12)


def test_unexpected_end_of_file():
    (error,) = parse_text("class A {\n  uint32 X;\n").diagnostics
    assert "end of file" in error.message and error.position.line == 2


def test_reading_resumes_after_a_syntax_error():
    document = parse_text("class A { uint32 = 1; };\nclass B { uint32 X; };\ninstance of B { X = 1; };\n")
    assert [d.position.line for d in document.diagnostics] == [1]
    assert [c.name for c in document.classes] == ["B"] and len(document.instances) == 1
    assert not document.ok


def test_summary_for_diagnose(tmp_path):
    path = tmp_path / "p.mof"
    path.write_text(
        '#pragma autorecover\n#pragma namespace("\\\\\\\\.\\\\root\\\\x")\n'
        'instance of __Win32Provider as $P { Name = "Prov"; };\nclass C {};\n',
        encoding="utf-8",
    )
    summary = parse_file(path).summary()
    assert summary["autorecover"] and summary["parsed"] and summary["namespaces"] == ["\\\\.\\root\\x"]
    assert summary["providers"] == ["Prov"] and summary["classes"] == ["C"]


def test_parse_file_never_raises_on_garbage(tmp_path):
    path = tmp_path / "junk.mof"
    path.write_bytes(bytes(range(256)) * 4)
    document = parse_file(path)
    assert not document.ok and document.diagnostics


def test_binary_file_is_one_clear_error_not_garbage_syntax_errors(tmp_path):
    path = tmp_path / "compiled.mof"
    path.write_bytes(b"FOMB\x01\x00\x00\x00" + bytes(range(256)))
    document = parse_file(path)
    assert [d.code for d in document.diagnostics] == ["MOF-BINARY"] and not document.ok
    assert document.diagnostics[0].position.line == 1


def test_utf16_without_bom_is_not_taken_for_binary():
    document = parse_bytes("class A { [key] string K; };\n".encode("utf-16-le"))
    assert document.ok and document.classes[0].name == "A"


def test_excerpt_of_a_very_long_line_is_cut_around_the_column():
    text = 'class A { [key] string K = "' + "x" * 100_000 + '" };\n'
    diagnostic = parse_text(text).diagnostics[0]
    excerpt = diagnostic.excerpt()
    line, caret = excerpt.splitlines()
    assert len(line) < 200 and line.startswith("...")
    assert line[len(caret) - 1] == "}", "the caret still points at the offending character"
