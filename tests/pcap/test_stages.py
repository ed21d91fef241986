"""Stage outcomes from attempts the fakes and the test KDC cannot produce (Kerberos errors inside a bind's
security trailer): hand-made attempts, judged by the same rules as `probe`. The KDC's own refusals are recorded
from a real MIT KDC in test_kerberos_capture.py."""

from __future__ import annotations

from wmidoctor.pcap.analyse import judge
from wmidoctor.pcap.attempts import Attempt, BindSeen, ConnectionSeen


def _attempt_with_bind(kerberos_error: int) -> Attempt:
    attempt = Attempt("127.0.0.1", "127.0.0.2", "dcom")
    attempt.connections.append(
        ConnectionSeen(
            1,
            0.0,
            135,
            "dcerpc",
            1,
            True,
            False,
            0.2,
            "closed by the client",
            1.0,
            first_interface="IRemoteSCMActivator",
        )
    )
    attempt.binds.append(
        BindSeen(
            1,
            0.1,
            135,
            "bind",
            ["IRemoteSCMActivator"],
            "Negotiate",
            "connect",
            result="accepted",
            kerberos_error=kerberos_error,
            latency_ms=1.0,
        )
    )
    return attempt


def test_clock_skew_in_the_bind_answer_is_the_probes_clock_skew_verdict():
    finding = judge(_attempt_with_bind(37))  # KRB_AP_ERR_SKEW
    stage = finding.result.failing_stage
    assert (stage.name, stage.carrier, stage.raw, stage.reason) == ("authentication", "krb_error", 37, "krb_clock_skew")
    assert finding.result.verdict.where == "client" and "clock" in finding.result.verdict.cause


def test_unknown_kerberos_error_still_fails_authentication():
    stage = judge(_attempt_with_bind(41)).result.failing_stage  # KRB_AP_ERR_MODIFIED
    assert (stage.name, stage.reason) == ("authentication", "krb_other") and "KRB-ERROR 41" in stage.detail


def _with_kerberos_trouble(auth_type: str):
    """An attempt (its bind authenticated by `auth_type`, or not at all) during which the KDC refused the same client
    a ticket for another service and another KDC connection was refused."""
    from wmidoctor.artifacts.pcap.kerberos import KdcReply
    from wmidoctor.pcap.attempts import Folder, KdcSilence

    attempt = _attempt_with_bind(0)
    attempt.first_ts, attempt.last_ts = 0.0, 1.0
    attempt.binds[0].auth_type = auth_type
    folder = Folder(frozenset())
    folder.by_key[(attempt.client, attempt.target, "dcom")] = attempt
    folder.kdc.append(KdcReply(0.5, attempt.client, "127.0.0.9:88", "KRB-ERROR", service="HTTP/intranet", error=7))
    folder.kdc_silences.append(KdcSilence(0.6, attempt.client, "127.0.0.9:88", refused=True))
    (seen,) = folder.attempts()
    return seen


def test_the_clients_other_kerberos_refusals_do_not_fail_an_attempt_that_authenticated():
    """A WMI attempt that went on with NTLM is not blamed for the client's other Kerberos trouble; one that never
    authenticated is stopped by it. Hand-made: the recorded KDC tests cover the refusals that stop a probe."""
    went_on = _with_kerberos_trouble("NTLM")
    assert went_on.kdc_errors == [] and went_on.kdc_unanswered == []
    stopped = _with_kerberos_trouble("")
    assert stopped.kdc_errors == ["KRB-ERROR 7 for HTTP/intranet"] and stopped.kdc_unanswered[0].refused
