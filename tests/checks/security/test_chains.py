"""Chain assembly on hand-made evidence (no corpus repository holds a timer-driven subscription): the timer is
attached to its chain, scored, and saved and removed with the rest."""

from __future__ import annotations

from wmidoctor.checks.security import chain_fixes
from wmidoctor.checks.security_chains import judge_chains
from wmidoctor.evidence.model import Binding, EventConsumer, EventFilter, Evidence, Timer

NS = "root\\subscription"


def _timer_evidence() -> Evidence:
    ev = Evidence()
    subs = ev.subscriptions
    subs.mark_collected("repository:test")
    subs.filters.append(
        EventFilter(
            NS,
            "Beacon",
            "SELECT * FROM __TimerEvent WHERE TimerID = 'beacon'",
            creator_sid="S-1-5-32-544",
            source="repository:f",
        )
    )
    subs.consumers.append(
        EventConsumer(
            NS,
            "CommandLineEventConsumer",
            "O'Brien $x",
            {"CommandLineTemplate": "C:\\Tools\\sync.exe"},
            "S-1-5-32-544",
            source="repository:c",
        )
    )
    subs.bindings.append(
        Binding(NS, '__EventFilter.Name="Beacon"', 'CommandLineEventConsumer.Name="O\'Brien $x"', source="repository:b")
    )
    subs.timers.append(Timer(NS, "__IntervalTimerInstruction", "beacon", 5000, source="repository:t"))
    return ev


def test_a_timer_belongs_to_its_chain_and_is_saved_and_removed_with_it():
    (judged,) = judge_chains(_timer_evidence())
    assert judged.chain.timers == ["__IntervalTimerInstruction beacon every 5000 ms"]
    assert "timer-short" in {r.id for r in judged.assessment.matched}
    assert judged.verdict == "suspicious"  # a plain command-line consumer on a fast timer, by administrators
    export, remove = chain_fixes(judged)
    assert export.command.count("Export-Clixml") == 4 and "__IntervalTimerInstruction" in remove.command
    # names are quoted for WQL inside a PowerShell double-quoted string
    assert "Name='O\\'Brien `$x'" in remove.command


def test_the_same_subscription_seen_by_the_repository_and_the_logs_is_one_chain():
    from wmidoctor.evidence.chains import SubscriptionSighting

    ev = _timer_evidence()
    ev.wmi_traces.mark_collected("logs")
    ev.wmi_traces.sightings.append(
        SubscriptionSighting(
            "binding",
            "bound",
            "O'Brien $x",
            NS,
            "CommandLineEventConsumer",
            "Beacon",
            what="WMI-Activity 5861",
            time="2024-05-01T10:00:00.000000Z",
        )
    )
    (judged,) = judge_chains(ev)
    assert judged.chain.state == "present" and judged.chain.sources == ["repository", "WMI-Activity 5861"]
