"""Every MOF of the shared corpus, read in place: real files parse; the broken ones fail where they are
broken; files that need the C preprocessor say so at the directive's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmidoctor.artifacts.mof import parse_file
from wmidoctor.moflint import lint_documents

# Deliberately broken (MANIFEST: NEGATIVE): the line of the first syntax error.
BROKEN = {
    "pywbem/parse_error01.mof": 14,  # the ';' missing at the end of line 14
    "pywbem/parse_error03.mof": 24,  # a '}' where ')' closes the qualifier
    "pywbem/parse_error04.mof": 2,  # #pragma include( never closed
    "omi/syntaxerror.mof": 97,  # a stray '"' after the array value
}
# Build-time MOFs that use the C preprocessor: the line of their first directive.
PREPROCESSOR = {
    "windows-driver-samples/storage_iscsi_src_common.mof": 16,
    "windows-driver-samples/storage_iscsi_src_config.mof": 13,
    "windows-driver-samples/storage_iscsi_src_def.mof": 16,
    "windows-driver-samples/storage_iscsi_src_mgmt.mof": 13,
    "win32/snippets_include__1.mof": 8,
}
# Code blocks lifted from documentation pages that are not MOF as written (syntax placeholders, prose,
# compiler output, fragments): they must fail, at the line given.
DOCUMENTATION_FRAGMENTS = {
    "win32/snippets_creating-a-new-instance-from-old-properties__1.mof": 22,  # string broken over two lines
    "win32/snippets_mofcomp__1.mof": 1,  # mofcomp's warning text, not MOF
    "win32/snippets_monitoring-and-responding-to-events-with-standard-consumers__4.mof": 2,  # headers only
    "win32/snippets_monitoring-and-responding-to-events-with-standard-consumers__5.mof": 2,
    "win32/snippets_pragma-amendment__1.mof": 3,  # an unbalanced quote inside Description
    "win32/snippets_pragma-deleteclass__1.mof": 1,  # placeholder [Flag]
    "win32/snippets_pragma-deleteinstance__1.mof": 1,
    "win32/snippets_pragma-instanceflags__1.mof": 1,
    "win32/snippets_pragma__1.mof": 1,  # placeholder [command]
    "win32/snippets_provider-hosting-and-security__1.mof": 5,  # instance without its closing ';'
    "win32/snippets_provider-hosting-and-security__2.mof": 6,
    "win32/snippets_provider-hosting-and-security__3.mof": 6,
    "win32/snippets_receiving-events-securely__1.mof": 4,  # a Markdown heading
    "win32/snippets_registering-a-provider__1.mof": 101,  # '{IN]' typo in a parameter qualifier
}


def _corpus_mofs(corpus: Path) -> dict[str, Path]:
    root = corpus / "mof"
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.suffix.lower() in (".mof", ".mfl")}


@pytest.fixture(scope="module")
def parsed(corpus):
    return {name: parse_file(path) for name, path in _corpus_mofs(corpus).items()}


def test_the_corpus_is_all_there(parsed):
    assert len(parsed) >= 120
    for name in (*BROKEN, *PREPROCESSOR, *DOCUMENTATION_FRAGMENTS):
        assert name in parsed, name


def test_every_real_mof_parses(parsed):
    expected_to_fail = {*BROKEN, *PREPROCESSOR, *DOCUMENTATION_FRAGMENTS}
    failures = {name: d.diagnostics[:2] for name, d in parsed.items() if name not in expected_to_fail and not d.ok}
    assert failures == {}
    for name, document in parsed.items():
        if name not in expected_to_fail and "pragma" not in name:
            assert document.statements, name


@pytest.mark.parametrize(("name", "line"), sorted({**BROKEN, **DOCUMENTATION_FRAGMENTS}.items()))
def test_broken_files_fail_at_the_right_line(parsed, name, line):
    errors = [d for d in parsed[name].diagnostics if d.code == "MOF-SYNTAX"]
    assert errors and errors[0].position.line == line, errors


@pytest.mark.parametrize(("name", "line"), sorted(PREPROCESSOR.items()))
def test_preprocessor_files_get_the_clear_diagnostic(parsed, name, line):
    directives = [d for d in parsed[name].diagnostics if d.code == "MOF-PREPROCESSOR"]
    assert directives and directives[0].position.line == line
    assert "C preprocessor" in directives[0].message


def test_utf16_files(parsed):
    assert parsed["kingsland.mofparser/MyServer.mof"].encoding == "utf-16-le"
    prf = parsed["windows-driver-samples/storage_iscsi_src_iscsiprf.mof"]
    assert prf.encoding == "utf-16-le" and prf.ok and prf.autorecover


def test_large_namespace_export(parsed):
    cimv2 = parsed["kingsland.mofparser/WinXpProSp3CIMV2.mof"]
    assert cimv2.ok and len(cimv2.classes) > 500
    assert {c.namespace for c in cimv2.classes} == {"ROOT\\CIMV2"}
    assert any(c.provider == "CIMWin32" and c.is_dynamic for c in cimv2.classes)


def test_decoupled_sample_lints_clean_of_errors(parsed):
    document = parsed["windows-classic-samples/Win7Samples_sysmgmt_wmi_vc_decoupled_instance_provider_mof_ProvReg.mof"]
    findings = lint_documents([document])
    assert not [f for f in findings if f.severity == "error"], findings
    # Decoupled:Com:FoldIdentity(FALSE) is recognised, and flagged for what it allows.
    assert [f.rule for f in findings if f.rule.startswith("MOF-HOSTING")] == ["MOF-HOSTING-PRIVILEGED"]


def test_int32_is_not_a_mof_type(parsed):
    findings = lint_documents([parsed["pywbem/parse_error02.mof"]])
    hit = [f for f in findings if "int32 is not a MOF data type" in f.message]
    assert hit and hit[0].line == 6 and "sint32" in hit[0].message
