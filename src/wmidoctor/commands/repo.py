"""`wmidoctor repo`: read and verify an offline WMI (CIM) repository, on any OS.

PATH may be the repository folder, a bundle holding one, or a mounted Windows volume
(Windows/System32/wbem/Repository is found case-insensitively). Nothing is ever written to it.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, NoReturn

import click

from wmidoctor.errors import InputError
from wmidoctor.knowledge.subscriptions import path_keys, payload_properties
from wmidoctor.output import dumps_json

if TYPE_CHECKING:
    from wmidoctor.artifacts.repository.reader import Repository
    from wmidoctor.checks.security_chains import JudgedChain
    from wmidoctor.evidence.model import Subscriptions

FIRST_PROBLEMS_SHOWN = 10
INSTANCE_PATH = re.compile(r"^(?P<class>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\.(?P<keys>.+)|=\s*@)?$")

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
path_argument = click.argument("path", type=click.Path(path_type=str))


def _open(path: str) -> Repository:
    from wmidoctor.artifacts.repository import NotARepository, open_repository

    try:
        return open_repository(path)
    except NotARepository as exc:
        raise InputError(str(exc)) from None


def _emit(data: dict[str, Any], text: str, as_json: bool) -> None:
    """Print text, or JSON named by its schema: wmidoctor.repo-SUBCOMMAND/1 (schemas/repo-SUBCOMMAND.schema.json)."""
    if as_json:
        click.echo(dumps_json({"schema": f"wmidoctor.repo-{click.get_current_context().info_name}/1", **data}))
    else:
        click.echo(text)


def _emit_read(
    repository: Repository, path: str, data: dict[str, Any], text: str, as_json: bool, found_problem: bool = False
) -> NoReturn:
    """Print a read-only view, warn when the repository was damaged, and exit 1 if either found a problem.

    Damage met while reading must not pass for an empty answer ('no persistence') from a repository
    that could not be read.
    """
    problems = repository.problems
    _emit({**data, "read_problems": [p.to_data() for p in problems]}, text, as_json)
    if problems:
        click.echo(
            f"wmidoctor: warning: {len(problems)} problem(s) reading this repository, so the above may be "
            f"incomplete (first: {problems[0]}); run 'wmidoctor repo verify {path}'",
            err=True,
        )
    raise SystemExit(1 if problems or found_problem else 0)


@click.group("repo", context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Read and verify an offline WMI (CIM) repository (INDEX.BTR, OBJECTS.DATA, MAPPING*.MAP).

    PATH is the repository folder, a folder holding one, or a mounted Windows volume. Nothing is
    written to it. Every subcommand takes --json.

    Exit codes: 0 nothing wrong; 1 the repository is inconsistent or was damaged where it was read
    (a warning on standard error says so), or persistence found a consumer that runs code;
    2 usage error or no repository at PATH.
    """


@command.command("verify")
@path_argument
@json_option
def verify_command(path: str, as_json: bool) -> None:
    """Integrity pass: mappings, page signatures, every index reference, record bounds, orphan pages.

    Exit 0 when CONSISTENT, 1 when INCONSISTENT, 2 when PATH holds no repository.
    """
    from wmidoctor.artifacts.repository import verify

    repository = _open(path)
    report = verify(repository)
    lines = [f"{report.verdict}: {report.path} ({report.layout} layout, {report.seconds:.2f} s)"]
    lines.append("  " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.counts.items()))
    if report.problems:
        tally = ", ".join(f"{kind} {n}" for kind, n in report.problem_counts().items())
        lines.append(f"  {len(report.problems)} problems: {tally}")
        lines.extend(f"  - {p}" for p in report.problems[:FIRST_PROBLEMS_SHOWN])
        if len(report.problems) > FIRST_PROBLEMS_SHOWN:
            lines.append(f"  ... {len(report.problems) - FIRST_PROBLEMS_SHOWN} more (--json lists all)")
    lines.extend(f"  note: {note}" for note in report.notes)
    _emit(report.to_data(), "\n".join(lines), as_json)
    raise SystemExit(0 if report.consistent else 1)


def _class_rows(repository: Repository, namespace: str) -> list[dict[str, Any]]:
    return [
        {"class": c.name, "superclass": c.superclass, "instances": repository.instance_count(namespace, c.name)}
        for c in repository.classes(namespace, with_instances=True)
    ]


def _classes_text(namespace: str, rows: list[dict[str, Any]]) -> str:
    lines = [f"{namespace}: {len(rows)} classes"]
    lines += [f"{r['instances']:>6}  {r['class']}" + (f" : {r['superclass']}" if r["superclass"] else "") for r in rows]
    return "\n".join(lines)


@command.command("ls")
@path_argument
@click.argument("namespace", required=False)
@click.option(
    "--all", "every_namespace", is_flag=True, help="Every namespace with its classes and instance counts, in one run."
)
@json_option
def ls_command(path: str, namespace: str | None, every_namespace: bool, as_json: bool) -> None:
    """The namespace tree; with NAMESPACE, its classes with their stored instance counts; with --all, the
    classes of every namespace (the whole inventory)."""
    if every_namespace and namespace is not None:
        raise InputError("give either NAMESPACE or --all, not both")
    repository = _open(path)
    if every_namespace:
        listing = [(name, _class_rows(repository, name)) for name in repository.namespaces()]
        inventory = [{"namespace": name, "classes": rows} for name, rows in listing]
        text = "\n\n".join(_classes_text(name, rows) for name, rows in listing)
        _emit_read(repository, path, {"inventory": inventory}, text, as_json)
    if namespace is None:
        names = repository.namespaces()
        text = "\n".join("  " * name.count("\\") + name.rsplit("\\", 1)[-1] for name in names)
        _emit_read(repository, path, {"namespaces": names}, text, as_json)
    canonical = repository.canonical_namespace(namespace)
    if canonical is None:
        raise InputError(f"namespace {namespace} is not in this repository (try 'wmidoctor repo ls {path}')")
    rows = _class_rows(repository, canonical)
    _emit_read(repository, path, {"namespace": canonical, "classes": rows}, _classes_text(canonical, rows), as_json)


def _split_target(target: str) -> tuple[str, str]:
    if ":" not in target:
        raise InputError(f"'{target}' names no namespace: write NAMESPACE:CLASS or NAMESPACE:CLASS.Key=\"value\"")
    namespace, rest = target.split(":", 1)
    return namespace, rest.strip()


def _plain(value: Any) -> Any:
    from wmidoctor.artifacts.repository.model import NOT_SET, EmbeddedObject

    if value is NOT_SET:
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, EmbeddedObject):
        if value.is_class:
            return {"class": value.class_name}
        return {"instance_of": value.class_name, "values": {k: _plain(v) for k, v in value.values.items()}}
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


@command.command("show")
@path_argument
@click.argument("target")
@json_option
def show_command(path: str, target: str, as_json: bool) -> None:
    """A class as MOF (root\\cimv2:Win32_Service) or an instance's values
    (root\\subscription:__EventFilter.Name="x"; Class=@ for a singleton)."""
    from wmidoctor.artifacts.repository.model import NOT_SET
    from wmidoctor.artifacts.repository.mof_text import INDENT, assignments, class_mof

    repository = _open(path)
    namespace_text, rest = _split_target(target)
    namespace = repository.canonical_namespace(namespace_text)
    if namespace is None:
        raise InputError(f"namespace {namespace_text} is not in this repository")
    match = INSTANCE_PATH.match(rest)
    if not match:
        raise InputError(f"cannot read '{rest}' as CLASS or CLASS.Key=\"value\"")
    class_def = repository.class_def(namespace, match.group("class"))
    if class_def is None:
        raise InputError(f"class {match.group('class')} is not in {namespace}")
    if match.group("keys") is None and "=" not in rest:
        data = {
            "namespace": namespace,
            "class": class_def.name,
            "superclass": class_def.superclass,
            "derivation": class_def.derivation,
            "qualifiers": {q.name: _plain(q.value) for q in class_def.qualifiers},
            "properties": [
                {
                    "name": p.name,
                    "type": p.type,
                    "key": p.is_key,
                    "default": _plain(p.default),
                    "qualifiers": {q.name: _plain(q.value) for q in p.qualifiers},
                }
                for p in sorted(class_def.properties.values(), key=lambda p: p.index)
            ],
            "methods": [m.name for m in class_def.methods],
            "instances": repository.instance_count(namespace, class_def.name),
        }
        _emit_read(repository, path, data, f"// {namespace}\n{class_mof(class_def)}", as_json)
    wanted = path_keys(match.group("keys") or "")
    for instance in repository.instances(namespace, class_def.name):
        actual = {k.lower(): instance.values.get(k) for k in instance.keys}
        if all(str(_plain(actual.get(k))) == v for k, v in wanted.items()) and len(wanted) == len(actual):
            lines = [f"instance of {instance.class_name}  // {namespace}:{instance.path()}", "{"]
            lines += [INDENT + line for line in assignments(instance.values, INDENT)]
            unset = [name for name, value in instance.values.items() if value is NOT_SET]
            lines.append("};")
            if unset:
                lines.append(f"// not set: {', '.join(unset)}")
            _emit_read(
                repository,
                path,
                {
                    "namespace": namespace,
                    "path": instance.path(),
                    "values": {k: _plain(v) for k, v in instance.values.items()},
                    "not_set": unset,
                },
                "\n".join(lines),
                as_json,
            )
    raise InputError(f"no instance {rest} in {namespace}")


@command.command("providers")
@path_argument
@json_option
def providers_command(path: str, as_json: bool) -> None:
    """Every __Win32Provider with its CLSID, HostingModel and registrations."""
    from wmidoctor.report.repo_text import providers_text
    from wmidoctor.sources.repository import providers

    repository = _open(path)
    found = providers(repository)
    _emit_read(repository, path, {"providers": [asdict(p) for p in found]}, providers_text(found), as_json)


def _assess(subs: Subscriptions, judged: list[JudgedChain]) -> list[dict[str, Any]]:
    """Each consumer with its binding and the verdict of its chain (the judgement `diagnose` and `logs` use):
    flagged when malicious or suspicious, default when allow-listed."""
    from wmidoctor.knowledge.persistence import ALLOWED, MALICIOUS, SUSPICIOUS

    bound: dict[tuple[str, str], list[str]] = {}
    for binding in subs.bindings:
        consumer_name = path_keys(binding.consumer).get("name", "")
        filter_name = path_keys(binding.filter).get("name", "")
        bound.setdefault((binding.namespace.lower(), consumer_name.lower()), []).append(filter_name)
    verdicts: dict[str, list[JudgedChain]] = {}
    for j in judged:
        verdicts.setdefault(j.chain.consumer_name.lower(), []).append(j)
    rows = []
    for consumer in subs.consumers:
        filters = bound.get((consumer.namespace.lower(), consumer.name.lower()), [])
        chains = verdicts.get(consumer.name.lower(), [])
        worst = min(chains, key=lambda j: {"error": 0, "warning": 1}.get(j.severity, 2), default=None)
        verdict = worst.verdict if worst else ""
        payload_fields = payload_properties(consumer.class_name)
        payload = {k: v for k, v in consumer.properties.items() if k in payload_fields and v}
        rows.append(
            {
                "namespace": consumer.namespace,
                "class": consumer.class_name,
                "name": consumer.name,
                "filters": filters,
                "payload": payload or consumer.properties,
                "runs_code": bool(payload_fields),
                "default": verdict == ALLOWED,
                "flagged": verdict in (MALICIOUS, SUSPICIOUS),
                "verdict": verdict,
                "severity": worst.severity if worst else "info",
                "attack": worst.assessment.techniques if worst else [],
                "creator_sid": consumer.creator_sid,
            }
        )
    return rows


@command.command("persistence")
@path_argument
@json_option
def persistence_command(path: str, as_json: bool) -> None:
    """Permanent event subscriptions: filters, consumers (every class), bindings, timers.

    Consumers that run code (CommandLine, ActiveScript) are flagged; exit 1 when any is found.
    """
    from wmidoctor.checks.security_chains import judge_chains
    from wmidoctor.evidence.model import Evidence
    from wmidoctor.logs.chains import render_text as render_chains
    from wmidoctor.report.repo_text import persistence_text
    from wmidoctor.sources.repository import subscriptions

    repository = _open(path)
    evidence = Evidence()
    evidence.subscriptions = subs = subscriptions(repository)
    subs.mark_collected(f"repository:{path}")
    judged = judge_chains(evidence)
    consumers = _assess(subs, judged)
    chain_lines = render_chains([j.item() for j in judged], lambda text, **_: text)
    text = "\n".join([persistence_text(subs, consumers), *chain_lines])
    data = {
        "filters": [asdict(f) for f in subs.filters],
        "consumers": consumers,
        "bindings": [asdict(b) for b in subs.bindings],
        "timers": [asdict(t) for t in subs.timers],
        "chains": [j.item() for j in judged],
    }
    _emit_read(
        repository, path, data, text, as_json, found_problem=any(j.severity in ("error", "warning") for j in judged)
    )
