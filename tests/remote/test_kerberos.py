"""Kerberos verdicts against a real MIT KDC on loopback (a throwaway realm, principals made per test):
the KRB-ERROR codes a KDC answers with, a KDC that never answers, client clock skew, and a service
ticket the target refuses in the bind (bind_nak reason 9, as a Windows host answers a ticket it cannot
decrypt).

Skipped when the MIT KDC is not installed, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import datetime
import time
import uuid

import pytest
from tests.remote.kdc import ACCOUNT_REFUSALS, PASSWORD, REALM, account, silent_kdc

from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host

pytestmark = pytest.mark.network


def user() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def probe(
    kdc_address: str, port: int, name: str, password: str = PASSWORD, host: str = "localhost", timeout: float = 3.0
):
    creds = Credentials(user=name, domain=REALM, password=password, kerberos=True)
    options = ProbeOptions(transports=("dcom",), timeout=timeout, kdc=kdc_address)
    (result,) = probe_host(Target(host, port), creds, options)
    return result


def failing(result) -> tuple[str, str, str, int | None]:
    stage = result.failing_stage
    return stage.name, stage.reason, stage.carrier, stage.raw


def test_valid_ticket_refused_by_the_target_is_bind_nak_9(kdc, fake_host):
    name = user()
    kdc.add_user(name, PASSWORD)
    result = probe(kdc.address, fake_host().port, name)
    assert {s.name: s.status for s in result.stages}["kdc"] == "ok"
    assert failing(result) == ("authentication", "bind_nak_security", "bind_nak", 9)
    assert "setspn" in result.verdict.fixes[0].command and "ticket" in result.verdict.cause


@pytest.mark.parametrize(("setup", "code", "reason"), ACCOUNT_REFUSALS)
def test_kdc_errors_about_the_account(kdc, fake_host, setup, code, reason):
    name, password = account(kdc, setup)
    result = probe(kdc.address, fake_host().port, name, password)
    assert failing(result) == ("kdc", reason, "krb_error", code)
    assert type(result.failing_stage.raw) is int  # not the ASN.1 integer impacket decoded: JSON needs a number
    verdict = result.verdict
    assert verdict.symbol == f"KRB-ERROR {code}" and verdict.fixes and verdict.cause != "the KDC refused the request"
    assert password not in repr(result)


def test_lockout_after_a_wrong_password(kdc, fake_host):
    name = user()
    if "lockout-once" not in kdc.kadmin("listpols"):
        kdc.kadmin("addpol -maxfailure 1 lockout-once")
    kdc.add_user(name, PASSWORD, "-policy", "lockout-once")
    port = fake_host().port
    assert failing(probe(kdc.address, port, name, "Not-it-9"))[3] == 24
    result = probe(kdc.address, port, name)
    assert failing(result) == ("kdc", "krb_client_revoked", "krb_error", 18)
    assert "Unlock-ADAccount" in " ".join(f.command for f in result.verdict.fixes)


def test_no_service_principal_for_the_name_probed(kdc, fake_host):
    name = user()
    kdc.add_user(name, PASSWORD)
    result = probe(kdc.address, fake_host().port, name, host="127.0.0.1")  # host/127.0.0.1 exists nowhere
    assert failing(result) == ("kdc", "krb_server_unknown", "krb_error", 7)
    assert "setspn -L" in result.verdict.fixes[0].command


def test_kdc_policy_refusal(kdc, fake_host):
    name = user()
    kdc.add_user(name, PASSWORD)
    kdc.kadmin("modprinc -allow_tgs_req host/localhost")
    try:
        result = probe(kdc.address, fake_host().port, name)
    finally:
        kdc.kadmin("modprinc +allow_tgs_req host/localhost")
    assert failing(result) == ("kdc", "krb_policy", "krb_error", 12)


def test_client_clock_skew(kdc, fake_host, monkeypatch):
    """This machine's clock an hour ahead: the KDC answers KRB_AP_ERR_SKEW to the pre-authentication."""
    from impacket.krb5 import kerberosv5

    class AheadClock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.now(tz) + datetime.timedelta(hours=1)

    class SkewedDatetime:
        datetime, timedelta, timezone = AheadClock, datetime.timedelta, datetime.timezone

    name = user()
    kdc.add_user(name, PASSWORD)
    monkeypatch.setattr(kerberosv5, "datetime", SkewedDatetime)
    result = probe(kdc.address, fake_host().port, name)
    assert failing(result) == ("kdc", "krb_clock_skew", "krb_error", 37)
    assert result.verdict.where == "client" and "chronyc" in result.verdict.fixes[0].command


def test_a_kdc_that_never_answers_is_bounded_by_the_stage_timeout(fake_host):
    with silent_kdc() as kdc_port:
        start = time.monotonic()
        result = probe(f"127.0.0.1:{kdc_port}", fake_host().port, "someone", timeout=0.5)
        elapsed = time.monotonic() - start
    assert failing(result)[:2] == ("kdc", "no_answer")
    assert result.verdict.where == "network" and "--kdc" in " ".join(f.step for f in result.verdict.fixes)
    assert elapsed < 0.5 * 3 + 0.6
