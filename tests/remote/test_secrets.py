"""No secret leaves the probe: for every account form and both transports, neither the password nor the
NT hash derived from it appears in the output (text and JSON), stderr, the evidence file or the fleet
database, whether authentication passed or failed. --hashes on the command line is warned about."""

from __future__ import annotations

import sqlite3

import pytest
from impacket.ntlm import compute_nthash
from tests.remote.fakes.wsman import FakeWsman

pytestmark = pytest.mark.network

PASSWORD = "Secret-1"
WRONG = "Wrong-Pass-7"
FORMS = ["CORP\\probe", "probe@corp.example", "probe", ".\\probe"]


def secrets_of(password: str) -> tuple[str, ...]:
    nt = compute_nthash(password).hex()
    return password, nt, nt.upper()


@pytest.fixture(params=["dcom", "wsman"])
def target(request, fake_host):
    if request.param == "dcom":
        yield "dcom", f"127.0.0.1:{fake_host().port}"
        return
    with FakeWsman() as fake:
        yield "wsman", f"127.0.0.1:{fake.port}"


@pytest.mark.parametrize("account", FORMS)
@pytest.mark.parametrize("password", [PASSWORD, WRONG])
def test_no_secret_in_any_output(cli, target, account, password, tmp_path):
    transport, address = target
    evidence = tmp_path / "evidence.json"
    out = cli(
        "probe",
        address,
        "-u",
        account,
        "--password-env",
        "PROBE_PW",
        "--transport",
        transport,
        "--timeout",
        "3",
        "--evidence-out",
        str(evidence),
        env={"PROBE_PW": password},
    )
    assert out.returncode in (0, 1), out.stderr
    shown = out.stdout + out.stderr + evidence.read_text()
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(address + "\n")
    db = tmp_path / "fleet.sqlite"
    fleet = cli(
        "probe",
        "--hosts",
        str(hosts),
        "-u",
        account,
        "--password-env",
        "PROBE_PW",
        "--transport",
        transport,
        "--timeout",
        "3",
        "--db",
        str(db),
        "--format",
        "json",
        env={"PROBE_PW": password},
    )
    assert fleet.returncode in (0, 1), fleet.stderr
    with sqlite3.connect(db) as conn:
        shown += fleet.stdout + fleet.stderr + "\n".join(conn.iterdump())
    assert account.split("\\")[-1].split("@")[0] in shown  # the account is named; its secrets are not
    assert not [s for s in secrets_of(password) if s in shown]


def test_hashes_on_the_command_line_are_warned_about(cli, fake_host):
    nt = compute_nthash(PASSWORD).hex()
    out = cli(
        "probe",
        f"127.0.0.1:{fake_host().port}",
        "-u",
        "CORP\\probe",
        "--hashes",
        f":{nt}",
        "--transport",
        "dcom",
        "--timeout",
        "3",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "--hashes-env" in out.stderr and "--hashes-file" in out.stderr
    assert nt not in out.stdout + out.stderr


def test_hashes_from_a_file(cli, fake_host, tmp_path):
    nt = compute_nthash(PASSWORD).hex()
    secret = tmp_path / "hashes"
    secret.write_text(f":{nt}\n")
    out = cli(
        "probe",
        f"127.0.0.1:{fake_host().port}",
        "-u",
        "CORP\\probe",
        "--hashes-file",
        str(secret),
        "--transport",
        "dcom",
        "--timeout",
        "3",
    )
    assert out.returncode == 0 and out.stderr == "", out.stdout + out.stderr
    assert nt not in out.stdout
