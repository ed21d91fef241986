"""The checks: one module per concern, each check registered with its id, title, severity and needed evidence.

Importing this package registers every check; `run_checks(evidence, only=[groups])` runs them.
"""

from wmidoctor.checks import (  # noqa: F401  (imported for their registrations)
    autorecover,
    autorecover_paths,
    cimom,
    connectivity,
    dcom,
    dcom_events,
    dcom_hardening,
    dcom_transport,
    events,
    events_client,
    evidence_quality,
    firewall,
    namespaces,
    providers,
    quotas,
    quotas_headroom,
    remote_uac,
    repository,
    repository_files,
    rpc_policy,
    security,
    security_execution,
    services,
    services_health,
    subscriptions,
    trace,
)
from wmidoctor.checks.runner import CheckRun, groups, run_checks, select
from wmidoctor.checks.spec import CHECKS, CheckSpec

__all__ = ["CHECKS", "CheckRun", "CheckSpec", "groups", "run_checks", "select"]
