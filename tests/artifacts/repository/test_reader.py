"""The reader against the corpus, with dissect.cim as oracle where it is right and the raw index where not."""

from __future__ import annotations

import pytest

from wmidoctor.artifacts.repository import NotARepository, find_repository, open_repository, verify
from wmidoctor.artifacts.repository.model import NOT_SET, EmbeddedObject
from wmidoctor.artifacts.repository.reader import SYSTEM_CLASS_NAMESPACE

from .conftest import APTSIM, WIN10, XP

CIMV2 = "ROOT\\CIMV2"


@pytest.mark.parametrize("name", [WIN10, APTSIM])
def test_namespaces_agree_with_dissect(repositories, dissect_view, name):
    ours = {n.upper() for n in open_repository(repositories / name).namespaces()}
    theirs = dissect_view[name]["namespaces"] - {SYSTEM_CLASS_NAMESPACE.upper()}
    assert theirs <= ours
    # dissect.cim yields repeated namespaces and skips none we miss; anything extra we find must be a
    # namespace the raw index really holds objects for.
    repository = open_repository(repositories / name)
    stored = {key.split("/", 1)[0][3:] for key in repository.walk.keys}
    assert all(repository.hash(n) in stored for n in ours - theirs)


@pytest.mark.parametrize("name", [WIN10, APTSIM])
def test_class_sets_agree_with_dissect(repositories, dissect_view, name):
    repository = open_repository(repositories / name)
    system = {c.name for c in repository.classes(SYSTEM_CLASS_NAMESPACE)}
    for namespace in repository.namespaces():
        theirs = dissect_view[name]["classes"].get(namespace.upper())
        if theirs is None:
            continue
        ours = {c.name for c in repository.classes(namespace)}
        # dissect.cim lists the system classes in every namespace; the index stores them once.
        assert ours | system >= theirs, namespace
        # dissect.cim misses some classes (e.g. 6 in EventTracingManagement): each extra one of ours
        # must have its class-definition key in the namespace in the raw index.
        refs = repository.class_refs(namespace)
        assert all(repository.hash(extra) in refs for extra in ours - theirs), namespace
    assert not repository.problems


def test_inherited_key_instances_are_all_read(repositories):
    """__Win32Provider's key Name comes from __Provider: 47 instances in root\\cimv2, not 1."""
    repository = open_repository(repositories / WIN10)
    providers = repository.instances("root\\cimv2", "__Win32Provider")
    prefix = f"NS_{repository.hash(CIMV2)}/CI_{repository.hash('__Win32Provider')}/IL_"
    raw = [k for k in repository.walk.keys if k.startswith(prefix)]
    assert len(providers) == len(raw) == 47
    names = {p.values["Name"] for p in providers}
    assert len(names) == 47 and "CIMWin32" in names
    cimwin32 = next(p for p in providers if p.values["Name"] == "CIMWin32")
    assert cimwin32.path() == '__Win32Provider.Name="CIMWin32"'
    assert cimwin32.values["CLSID"].upper() == "{D63A5850-8F16-11CF-9F47-00AA00BF345C}"


def test_unset_properties_read_as_not_set(repositories):
    repository = open_repository(repositories / WIN10)
    provider = next(
        p for p in repository.instances("root\\cimv2", "__Win32Provider") if p.values["Name"] == "ProviderSubSystem"
    )
    assert provider.values["SecurityDescriptor"] is NOT_SET
    assert provider.values["Pure"] is True  # from the class default


def test_filters_agree_with_dissect(repositories, dissect_view):
    repository = open_repository(repositories / WIN10)
    ours = {i.values["Name"] for i in repository.instances("root\\subscription", "__EventFilter")}
    assert ours == dissect_view[WIN10]["filters"]


def test_class_definition_decodes_fully(repositories):
    repository = open_repository(repositories / WIN10)
    service = repository.class_def("root\\cimv2", "Win32_Service")
    assert service.derivation[:2] == ["Win32_BaseService", "CIM_Service"]
    assert service.qualifier("provider") == "CIMWin32" and service.qualifier("dynamic") is True
    assert service.properties["Name"].is_key and service.properties["ProcessId"].type == "uint32"
    methods = {m.name: m for m in service.methods}
    assert {"GetSecurityDescriptor", "SetSecurityDescriptor"} <= set(methods)
    assert [p.name for p in methods["SetSecurityDescriptor"].parameters_in] == ["Descriptor"]


def test_xp_layout_opens_and_reads(repositories):
    repository = open_repository(repositories / XP)
    assert repository.layout == "xp" and repository.hash_chars == 32
    assert "ROOT\\CIMV2" in {n.upper() for n in repository.namespaces()}
    assert repository.instance_count("root\\cimv2", "__Win32Provider") > 10
    report = verify(repository)
    assert report.consistent, report.problems[:3]


def test_finds_repository_below_a_volume_case_insensitively(repositories, tmp_path):
    folder = tmp_path / "WINDOWS" / "system32" / "WBEM" / "repository"
    folder.mkdir(parents=True)
    for path in (repositories / WIN10).iterdir():
        (folder / path.name.lower()).symlink_to(path)
    assert find_repository(tmp_path) == folder
    assert open_repository(tmp_path).instance_count("root\\cimv2", "__Win32Provider") == 47


def test_not_a_repository(tmp_path):
    with pytest.raises(NotARepository):
        find_repository(tmp_path)


def test_embedded_objects_decode_with_their_nested_objects(repositories):
    """WMIC's aliases in root\\cli hold instances inside instances (alias > format > property > qualifier)."""
    repository = open_repository(repositories / WIN10)
    table = next(
        i for i in repository.instances("root\\cli", "MSFT_CliTranslateTable") if i.values["Name"] == "NoComma"
    )
    [entry] = table.values["Tbl"]
    assert isinstance(entry, EmbeddedObject) and entry.class_name == "MSFT_CliTranslateTableEntry"
    assert entry.values == {"FromValue": ",", "ToValue": " "}
    aliases = {i.values["FriendlyName"]: i for i in repository.instances("root\\cli", "MSFT_CliAlias")}
    assert len(aliases) == 81 and not repository.problems
    connection = aliases["Service"].values["Connection"]
    assert connection.class_name == "MSFT_CliConnection" and connection.values["NameSpace"] == "ROOT\\CIMV2"
    assert connection.values["User"] is NOT_SET
    formats = {f.values["Name"]: f for f in aliases["Service"].values["Formats"]}
    names = [p.values["Name"] for p in formats["BRIEF"].values["Properties"]]
    assert all(isinstance(p, EmbeddedObject) for p in formats["BRIEF"].values["Properties"])
    assert "Name" in names and "State" in names


def test_xp_methods_match_the_xp_namespace_export(repositories, corpus):
    """Every method of root\\cimv2 in a Windows XP SP3 MOF export (another XP SP3 machine): the XP-layout
    sample declares the same methods, with the same return types and in/out parameters in order."""
    from wmidoctor.artifacts.mof import parse_file

    export = parse_file(corpus / "mof" / "kingsland.mofparser" / "WinXpProSp3CIMV2.mof")
    repository = open_repository(repositories / XP)
    compared = 0
    for declared in export.classes:
        ours = repository.class_def("root\\cimv2", declared.name)
        if ours is None:
            continue
        methods = {m.name: m for m in ours.methods}
        assert set(methods) == {m.name for m in declared.methods}, declared.name
        for method in declared.methods:
            decoded = methods[method.name]
            returns = next((p.type for p in decoded.parameters_out if p.name == "ReturnValue"), "void")
            assert returns == method.return_type.name.lower(), (declared.name, method.name)
            for direction, params in (
                ("in", decoded.parameters_in),
                ("out", [p for p in decoded.parameters_out if p.name != "ReturnValue"]),
            ):
                expected = [(p.name, p.array is not None) for p in method.parameters if p.flag(direction)]
                assert [(p.name, p.type.endswith("[]")) for p in params] == expected, (declared.name, method.name)
            compared += 1
    assert compared > 170 and not repository.problems
