"""`wmidoctor probe`: test remote WMI on one host (or a fleet) stage by stage, over DCOM and WS-Man."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from wmidoctor.commands.options import chosen_format, json_flag
from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json, write_output

if TYPE_CHECKING:  # the probe's modules are imported when it runs, not to show --help
    from wmidoctor.remote.credentials import Credentials
    from wmidoctor.remote.probe import ProbeOptions


@click.command(name="probe")
@click.argument("host", required=False)
@click.option("-u", "--user", default="", help="Account: USER, DOMAIN\\USER or USER@DOMAIN.")
@click.option("--domain", default="", help="Domain of the account ('.' or the host name for a local account).")
@click.option("--password-env", metavar="VAR", help="Read the password from this environment variable.")
@click.option("--password-file", metavar="FILE", help="Read the password from the first line of FILE.")
@click.option(
    "--hashes",
    metavar="LM:NT",
    help="NTLM hashes instead of a password (DCOM only). Shows in process listings: prefer --hashes-env "
    "or --hashes-file.",
)
@click.option(
    "--hashes-env",
    metavar="VAR",
    help="Read LM:NT from this environment variable (keeps the hashes out of process listings).",
)
@click.option("--hashes-file", metavar="FILE", help="Read LM:NT from the first line of FILE.")
@click.option("--kerberos", is_flag=True, help="Authenticate with Kerberos (needs a realm and a reachable KDC).")
@click.option("--realm", default="", help="Kerberos realm (default: the account's domain, upper-cased).")
@click.option("--kdc", metavar="HOST[:PORT]", help="The KDC to ask (default: the realm's name, as DNS finds it).")
@click.option("--namespace", default="root\\cimv2", show_default=True, help="WMI namespace to log on to.")
@click.option(
    "--query",
    default="SELECT * FROM Win32_OperatingSystem",
    show_default=True,
    help="WQL query whose first row is fetched.",
)
@click.option("--privacy", is_flag=True, help="Use packet privacy (encryption) from the start.")
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds each stage may take (a transport's whole walk is bounded at 3x this).",
)
@click.option("--transport", type=click.Choice(["dcom", "wsman", "both"]), default="both", show_default=True)
@click.option("--https", is_flag=True, help="WS-Man over HTTPS only (port 5986 unless --wsman-port).")
@click.option(
    "--wsman-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="The WinRM listener's port (default 5985, then 5986).",
)
@click.option("--hosts", "hosts_file", metavar="FILE", help="Probe every host in FILE (one per line, # comments).")
@click.option(
    "--concurrency",
    default=32,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Hosts probed at once (with --hosts).",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes the hosts are probed from (with --hosts; default: one per CPU for 100 hosts "
    "or more). Probing is CPU-bound in Python, and one process uses one core.",
)
@click.option("--db", metavar="FILE", help="SQLite file the fleet results are added to as they arrive (with --hosts).")
@click.option(
    "--resume",
    type=int,
    metavar="RUN",
    default=None,
    help="Finish run RUN of --db: probe only the hosts it has no result for.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "table", "csv"]),
    default=None,
    help="text|json for one host (default text); table|json|csv for --hosts (default table).",
)
@json_flag
@click.option(
    "--evidence-out",
    metavar="FILE",
    help="Also save the results as wmidoctor evidence (connectivity section) for `wmidoctor diagnose FILE`.",
)
def command(
    host: str | None,
    user: str,
    domain: str,
    password_env: str | None,
    password_file: str | None,
    hashes: str | None,
    hashes_env: str | None,
    hashes_file: str | None,
    kerberos: bool,
    realm: str,
    kdc: str | None,
    namespace: str,
    query: str,
    privacy: bool,
    timeout: float,
    transport: str,
    https: bool,
    wsman_port: int | None,
    hosts_file: str | None,
    concurrency: int,
    processes: int | None,
    db: str | None,
    resume: int | None,
    fmt: str | None,
    as_json: bool,
    evidence_out: str | None,
) -> None:
    """Walk remote WMI to HOST one stage at a time and say which stage fails, why, and what to change.

    DCOM: name resolution, TCP 135, endpoint mapper, authentication, activation of the WMI login object,
    the dynamic RPC port, namespace login, the query. WS-Man: TCP 5985/5986, Identify, authentication,
    Enumerate through the WMI resource URI. Exit 0 when every stage passed, 1 when one failed.
    """
    fmt = chosen_format(fmt, as_json)
    if bool(host) == bool(hosts_file):
        raise InputError("give either HOST or --hosts FILE")
    if hosts_file is None and fmt in ("table", "csv"):
        raise InputError(f"--format {fmt} is for --hosts; use text or json for one host")
    if hosts_file is not None and fmt == "text":
        raise InputError("--format text is for one host; use table, json or csv with --hosts")
    if (db or concurrency != 32 or processes) and hosts_file is None:
        raise InputError("--db, --concurrency and --processes go with --hosts")
    if evidence_out and hosts_file:
        raise InputError("--evidence-out is for one host; a fleet's results go to --db")
    if resume is not None and not (hosts_file and db):
        raise InputError("--resume RUN goes with --hosts FILE and --db FILE")
    if (realm or kdc) and not kerberos:
        raise InputError("--realm and --kdc go with --kerberos")
    creds = _credentials(
        user, domain, password_env, password_file, _hashes(hashes, hashes_env, hashes_file), kerberos, realm
    )
    creds.realm = realm
    if hashes is not None:
        click.echo(
            "wmidoctor: warning: --hashes shows the NT hash to anyone who can list processes; "
            "use --hashes-env VAR or --hashes-file FILE",
            err=True,
        )
    from wmidoctor.remote.probe import TRANSPORTS, ProbeOptions

    options = ProbeOptions(
        transports=TRANSPORTS if transport == "both" else (transport,),
        namespace=namespace,
        query=query,
        privacy=privacy,
        timeout=timeout,
        kdc=kdc,
        wsman_port=wsman_port,
        https=https,
    )
    if hosts_file:
        _fleet(hosts_file, creds, options, concurrency, processes, db, fmt or "table", resume)
    else:
        _single(host or "", creds, options, fmt or "text", evidence_out)


def _hashes(hashes: str | None, hashes_env: str | None, hashes_file: str | None) -> str | None:
    if sum(x is not None for x in (hashes, hashes_env, hashes_file)) > 1:
        raise InputError("give one of --hashes, --hashes-env and --hashes-file")
    if hashes is not None:
        return hashes
    if hashes_file is not None:
        from pathlib import Path

        path = Path(hashes_file)
        if not path.is_file():
            raise InputError(f"--hashes-file {hashes_file}: no such file")
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0].strip():
            raise InputError(f"--hashes-file {hashes_file}: the first line is empty")
        return lines[0].strip()
    if hashes_env is None:
        return None
    value = os.environ.get(hashes_env)
    if not value:
        raise InputError(f"--hashes-env {hashes_env}: that environment variable is not set")
    return value.strip()


def _credentials(
    user: str,
    domain: str,
    password_env: str | None,
    password_file: str | None,
    hashes: str | None,
    kerberos: bool,
    realm: str = "",
) -> Credentials:
    from wmidoctor.remote.credentials import Credentials, parse_hashes, read_password, split_user

    if not user:
        if password_env or password_file or hashes:
            raise InputError("a password or hashes were given without -u USER")
        return Credentials(kerberos=kerberos)
    name, dom = split_user(user, domain)
    if kerberos and not (dom or realm):
        raise InputError("--kerberos needs the account's realm (--realm R, --domain D or USER@DOMAIN)")
    lm, nt = parse_hashes(hashes) if hashes else ("", "")
    password = ""
    if not hashes:
        found = read_password(password_env, password_file, f"{dom}\\{name}" if dom else name)
        if found is None:
            raise InputError(
                "no password source: use --password-env VAR or --password-file FILE "
                "(or run on a terminal to be prompted)"
            )
        password = found
    return Credentials(user=name, domain=dom, password=password, lmhash=lm, nthash=nt, kerberos=kerberos)


def _single(host: str, creds: Credentials, options: ProbeOptions, fmt: str, evidence_out: str | None) -> None:
    from wmidoctor.remote.probe import parse_target, probe_host
    from wmidoctor.remote.render import probe_text

    results = probe_host(parse_target(host), creds, options)
    if evidence_out:
        from wmidoctor.evidence import Evidence
        from wmidoctor.remote.evidence import to_connectivity

        evidence = Evidence()
        evidence.identity.host = host
        evidence.connectivity = to_connectivity(results)
        write_output(evidence.to_json(), evidence_out)
    if fmt == "json":
        click.echo(dumps_json({"schema": "wmidoctor.probe/1", "host": host, "results": [r.to_data() for r in results]}))
    else:
        click.echo(probe_text(results), nl=False)
    raise SystemExit(0 if all(r.passed for r in results) else 1)


def _fleet(
    hosts_file: str,
    creds: Credentials,
    options: ProbeOptions,
    concurrency: int,
    processes: int | None,
    db: str | None,
    fmt: str,
    resume: int | None,
) -> None:
    from wmidoctor.remote.fleet import Progress, default_processes, probe_fleet, read_hosts
    from wmidoctor.remote.render import FLEET_COLUMNS, csv_text, fleet_rows, fleet_text, summary_rows
    from wmidoctor.remote.store import FleetStore

    targets = read_hosts(hosts_file)
    if processes is None:
        processes = default_processes(len(targets))
    store = FleetStore(db) if db else None
    results = []
    try:
        for host_results in probe_fleet(
            targets, creds, options, concurrency, store, Progress(len(targets)), processes, resume
        ):
            results.extend(host_results)
    finally:
        if store:
            store.close()
    order = {t.label: i for i, t in enumerate(targets)}
    results.sort(key=lambda r: (order.get(r.target, 0), r.transport))
    rows = fleet_rows(results)
    summary = summary_rows(rows)
    if fmt == "json":
        click.echo(
            dumps_json(
                {
                    "schema": "wmidoctor.probe-hosts/1",
                    "hosts": len(targets),
                    "summary": summary,
                    "results": [r.to_data() for r in results],
                }
            )
        )
    elif fmt == "csv":
        click.echo(csv_text(rows, FLEET_COLUMNS), nl=False)
    else:
        click.echo(fleet_text(rows, summary), nl=False)
    raise SystemExit(0 if all(r.passed for r in results) else 1)
