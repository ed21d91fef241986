"""`wmidoctor mof lint` and `mof parse`, run as a user runs them."""

from __future__ import annotations

import json

import jsonschema
import pytest

CLEAN = """#pragma autorecover
#pragma namespace("\\\\\\\\.\\\\root\\\\Vendor")
instance of __Win32Provider as $P
{
    Name = "VendorProv";
    CLSID = "{12345678-1234-1234-1234-123456789ABC}";
    HostingModel = "NetworkServiceHost";
};
instance of __InstanceProviderRegistration { Provider = $P; SupportsEnumeration = TRUE; };
[dynamic, provider("VendorProv")] class Vendor_Thing { [key] string Name; };
"""
BROKEN = "class A\n{\n    uint32 X = ;\n};\n"
NO_AUTORECOVER = CLEAN.replace("#pragma autorecover\n", "")

# The parts of the SARIF 2.1.0 schema that code-scanning consumers rely on, written out by hand.
SARIF_STRUCTURE = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "help"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {"$ref": "#/$defs/message"},
                                                "fullDescription": {"$ref": "#/$defs/message"},
                                                "help": {"$ref": "#/$defs/message"},
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {"level": {"$ref": "#/$defs/level"}},
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"$ref": "#/$defs/level"},
                                "message": {"$ref": "#/$defs/message"},
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {"uri": {"type": "string", "minLength": 1}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine", "startColumn"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}},
        "level": {"enum": ["none", "note", "warning", "error"]},
    },
}


@pytest.fixture
def mofs(tmp_path):
    def write(name: str, text: str, encoding: str = "utf-8"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding=encoding)
        return path

    return write


def test_clean_file_exits_zero(cli, mofs):
    result = cli("mof", "lint", str(mofs("ok.mof", CLEAN)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("1 file(s): 0 error(s), 0 warning(s), 0 note(s)")


def test_text_findings_are_linter_lines(cli, mofs):
    path = mofs("warn.mof", NO_AUTORECOVER)
    result = cli("mof", "lint", str(path))
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{path}:1:1: MOF-AUTORECOVER-MISSING warning ")


def test_syntax_error_shows_line_and_caret(cli, mofs):
    path = mofs("bad.mof", BROKEN)
    result = cli("mof", "lint", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if "MOF-SYNTAX" in line)
    assert lines[index].startswith(f"{path}:3:16: MOF-SYNTAX error unexpected ';'; expected ")
    assert lines[index + 1] == "        uint32 X = ;"
    assert lines[index + 2] == "                   ^"


def test_json_output(cli, mofs):
    path = mofs("warn.mof", NO_AUTORECOVER)
    result = cli("mof", "lint", "--format", "json", str(path))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["version"] == 1 and data["summary"] == {"files": 1, "error": 0, "warning": 1, "info": 0}
    (finding,) = data["findings"]
    assert finding == {
        "rule": "MOF-AUTORECOVER-MISSING",
        "severity": "warning",
        "message": finding["message"],
        "path": str(path),
        "line": 1,
        "column": 1,
        "source_line": "",
    }
    (info,) = data["files"]
    assert info["providers"] == ["VendorProv"] and info["classes"] == ["Vendor_Thing"] and not info["autorecover"]
    assert json.loads(cli("mof", "lint", "--json", str(path)).stdout) == data


def test_sarif_output_is_structurally_valid(cli, mofs):
    path = mofs("bad.mof", BROKEN)
    result = cli("mof", "lint", "--format", "sarif", str(path))
    assert result.returncode == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_STRUCTURE)
    run = log["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    syntax = next(r for r in run["results"] if r["ruleId"] == "MOF-SYNTAX")
    assert syntax["level"] == "error" and rule_ids[syntax["ruleIndex"]] == "MOF-SYNTAX"
    region = syntax["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (3, 16)
    assert syntax["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path.as_uri()


def test_sarif_check_can_fail():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {"driver": {"name": "x", "rules": []}},
                        "results": [{"ruleId": "R", "level": "fatal", "message": {"text": "m"}, "locations": []}],
                    }
                ],
            },
            SARIF_STRUCTURE,
        )


def test_folder_is_searched_and_files_lint_together(cli, mofs, tmp_path):
    provider_part, class_part = CLEAN.split("[dynamic")
    mofs("pkg/provider.mof", provider_part)
    mofs(
        "pkg/sub/classes.MFL",
        '#pragma autorecover\n#pragma namespace("\\\\\\\\.\\\\root\\\\Vendor")\n[dynamic' + class_part,
        encoding="utf-16",
    )
    mofs("pkg/readme.txt", "not mof")
    result = cli("mof", "lint", "--format", "json", str(tmp_path / "pkg"))
    data = json.loads(result.stdout)
    assert result.returncode == 0, data["findings"]
    assert sorted(f["encoding"] for f in data["files"]) == ["utf-16-le", "utf-8"]


def test_missing_file_and_empty_folder_are_input_errors(cli, tmp_path):
    for args in (["mof", "lint", str(tmp_path / "nope.mof")], ["mof", "lint", str(tmp_path)], ["mof", "lint"]):
        result = cli(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("wmidoctor: error:")
        assert "Traceback" not in result.stderr


def test_parse_json_dumps_the_model(cli, mofs):
    result = cli("mof", "parse", "--json", str(mofs("ok.mof", CLEAN)))
    assert result.returncode == 0
    data = json.loads(result.stdout)
    kinds = [s["kind"] for s in data["statements"]]
    assert kinds == ["Pragma", "Pragma", "Instance", "Instance", "ClassDecl"]
    registration = data["statements"][3]
    assert registration["assignments"][0]["value"] == {"alias": "$P", "position": "9:57"}
    assert data["statements"][4]["namespace"] == "root\\Vendor"


def test_parse_reports_errors(cli, mofs):
    result = cli("mof", "parse", str(mofs("bad.mof", BROKEN)))
    assert result.returncode == 1
    assert ":3:16: MOF-SYNTAX error" in result.stdout and "^" in result.stdout


def test_binary_file_exits_1_with_one_line(cli, tmp_path):
    path = tmp_path / "blob.mof"
    path.write_bytes(bytes(range(256)) * 8)
    result = cli("mof", "lint", str(path))
    assert result.returncode == 1
    findings = [line for line in result.stdout.splitlines() if "MOF-" in line]
    assert len(findings) == 1 and "MOF-BINARY" in findings[0]


def test_sarif_uris_are_relative_and_encoded(mofs, tmp_path, monkeypatch):
    from wmidoctor.moflint import lint_paths
    from wmidoctor.moflint.render import render_sarif

    path = mofs("my folder/vendor.mof", NO_AUTORECOVER)
    monkeypatch.chdir(tmp_path)
    sarif = render_sarif(*lint_paths([path]))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]]
    assert uris and set(uris) == {"my%20folder/vendor.mof"}
