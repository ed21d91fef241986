"""The `wmidoctor repo` verbs, run as a user runs them."""

from __future__ import annotations

import json

from .conftest import APTSIM, WIN10, XP


def test_verify_clean(cli, repositories):
    result = cli("repo", "verify", str(repositories / WIN10))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CONSISTENT")


def test_verify_damaged_json(cli, damaged_copy):
    folder = damaged_copy()
    (folder / "MAPPING3.MAP").unlink()
    result = cli("repo", "verify", str(folder), "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["verdict"] == "INCONSISTENT" and data["problem_counts"]["mapping-missing"] == 1


def test_not_a_repository_is_an_input_error(cli, tmp_path):
    for verb in ("verify", "ls", "providers", "persistence"):
        result = cli("repo", verb, str(tmp_path))
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "not a WMI repository" in result.stderr


def test_ls_tree_and_namespace(cli, repositories):
    result = cli("repo", "ls", str(repositories / XP))
    assert result.returncode == 0 and "CIMV2" in result.stdout
    result = cli("repo", "ls", str(repositories / WIN10), "root\\cimv2", "--json")
    rows = {r["class"]: r["instances"] for r in json.loads(result.stdout)["classes"]}
    assert rows["__Win32Provider"] == 47 and "Win32_Service" in rows


def test_ls_all_is_every_namespace_listing_in_one_run(cli, repositories):
    """The inventory equals what `ls NAMESPACE` says of each namespace of the tree, one process instead of one per
    namespace."""
    folder = str(repositories / WIN10)
    inventory = json.loads(cli("repo", "ls", folder, "--all", "--json").stdout)["inventory"]
    names = json.loads(cli("repo", "ls", folder, "--json").stdout)["namespaces"]
    assert [entry["namespace"] for entry in inventory] == names
    for entry in inventory[:: max(1, len(inventory) // 6)]:
        alone = json.loads(cli("repo", "ls", folder, entry["namespace"], "--json").stdout)
        assert entry["classes"] == alone["classes"], entry["namespace"]
    text = cli("repo", "ls", folder, "--all").stdout
    assert "ROOT\\CIMV2: 806 classes" in text and "    47  __Win32Provider : __Provider" in text
    both = cli("repo", "ls", folder, "root", "--all")
    assert both.returncode == 2 and "either NAMESPACE or --all" in both.stderr


def test_show_class_and_instance(cli, repositories):
    result = cli("repo", "show", str(repositories / WIN10), "root\\cimv2:Win32_Service")
    assert result.returncode == 0 and "class Win32_Service : Win32_BaseService" in result.stdout
    result = cli(
        "repo",
        "show",
        str(repositories / WIN10),
        'root\\subscription:__EventFilter.Name="SCM Event Log Filter"',
        "--json",
    )
    data = json.loads(result.stdout)
    assert data["values"]["Query"] == "select * from MSFT_SCMEventLogEvent"
    result = cli("repo", "show", str(repositories / WIN10), "root:__ProviderHostQuotaConfiguration=@")
    assert "MemoryPerHost = 536870912;" in result.stdout
    result = cli("repo", "show", str(repositories / WIN10), 'root\\cli:MSFT_CliTranslateTable.Name="BasicXml"')
    assert 'instance of MSFT_CliTranslateTableEntry\n    {\n      FromValue = "&gt;";' in result.stdout
    assert "embedded object" not in result.stdout
    result = cli("repo", "show", str(repositories / WIN10), "root\\cimv2:NoSuchClass")
    assert result.returncode == 2


def test_providers(cli, repositories):
    result = cli("repo", "providers", str(repositories / WIN10), "--json")
    providers = json.loads(result.stdout)["providers"]
    cimwin32 = next(p for p in providers if p["name"] == "CIMWin32" and p["namespace"].upper() == "ROOT\\CIMV2")
    assert cimwin32["hosting_model"] == "NetworkServiceHost"
    assert "__InstanceProviderRegistration" in cimwin32["registrations"]
    assert sum(1 for p in providers if p["namespace"].upper() == "ROOT\\CIMV2") == 47


def test_persistence_finds_the_aptsimulator_subscription(cli, repositories):
    result = cli("repo", "persistence", str(repositories / APTSIM))
    assert result.returncode == 1
    assert 'FLAGGED  ROOT\\subscription:ActiveScriptEventConsumer.Name="KillProcess"' in result.stdout
    assert "installed by Windows: normal" in result.stdout
    data = json.loads(cli("repo", "persistence", str(repositories / APTSIM), "--json").stdout)
    flagged = [c for c in data["consumers"] if c["flagged"]]
    assert [c["filters"] for c in flagged] == [["ProcessStartTrigger"]]
    assert "oProcess.Terminate()" in flagged[0]["payload"]["ScriptText"]


def test_persistence_clean_sample_has_only_the_default(cli, repositories):
    result = cli("repo", "persistence", str(repositories / WIN10))
    assert result.returncode == 0 and "FLAGGED" not in result.stdout


def _column(line, text):
    return line.index(text)


def test_providers_text_is_a_table_whose_columns_stay_in_line(cli, repositories):
    result = cli("repo", "providers", str(repositories / WIN10), env={"COLUMNS": "120"})
    lines = result.stdout.splitlines()
    header = lines[1]
    assert header.split() == ["NAME", "CLSID", "REGISTRATIONS", "HOSTING", "MODEL"]
    clsid, hosting = _column(header, "CLSID"), _column(header, "HOSTING MODEL")
    rows = [line for line in lines[2:] if line.startswith("  ") and "{" in line]
    assert len(rows) > 100 and all(line[clsid] == "{" and line[clsid - 2 : clsid] == "  " for line in rows)
    # The one hosting model longer than its column wraps after its colon, under itself.
    at = next(n for n, line in enumerate(lines) if line.startswith("  ReliabilityMetricsProvider "))
    assert lines[at][hosting:] == "NetworkServiceHost:"
    assert lines[at + 1] == " " * hosting + "[ReliabilityMetricsProvider]"


def test_persistence_text_has_headed_tables_and_wraps_long_queries_under_their_column(cli, repositories):
    result = cli("repo", "persistence", str(repositories / APTSIM), env={"COLUMNS": "120"})
    lines = result.stdout.splitlines()
    header = lines[lines.index("Filters") + 1]
    assert header.split() == ["NAMESPACE", "NAME", "CREATOR", "QUERY"]
    query = _column(header, "QUERY")
    first = next(n for n, line in enumerate(lines) if "ProcessStartTrigger   S-1-5-21-" in line)
    wrapped = lines[first : first + 3]  # the query wraps at spaces onto two more lines
    assert all(line[:query].strip() == "" for line in wrapped[1:])
    assert (
        " ".join(line[query:] for line in wrapped)
        == "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'procexp64.exe'"
    )
    assert max(len(line) for line in wrapped) <= 120
    assert lines[lines.index("Bindings") + 1].split() == ["NAMESPACE", "FILTER", "CONSUMER"]
    # A consumer's fields line up after their labels; the script keeps its own lines.
    block = lines[lines.index("Consumers") + 1 : lines.index("Bindings")]
    script = next(n for n, line in enumerate(block) if "ScriptText: " in line)
    value_column = _column(block[script], "Dim oLocation")
    assert _column(block[script - 2], "ProcessStartTrigger") == value_column
    assert block[script + 2][value_column:].startswith('Set oLocation = CreateObject("WbemScripting.SWbemLocator")')
