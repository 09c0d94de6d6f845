"""The delivery guarantee under faults: the demo replayed with faults
injected at every AWS call the handlers make and into the deliveries (local/faults.py), checked
at the providers against a run of the same events without faults."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postventa.local.faults import FaultInjector, scaled_history
from postventa.local.simulate import DEMO_EVENTS, read_events, run_simulation

DEMO = read_events(DEMO_EVENTS)
HISTORY = scaled_history(DEMO, copies=3)  # 27 customers, 63 events over seven weeks


def _guarantee(events: list[dict], rate: float, seed: int):
    faults = FaultInjector(rate=rate, seed=seed)
    guarantee = run_simulation(events, faults=faults).guarantee
    assert guarantee is not None
    return guarantee


def test_the_demo_under_a_fifth_of_invocations_faulted_loses_nothing_and_sends_nothing_twice():
    guarantee = _guarantee(DEMO, 0.2, 7)
    assert guarantee.faults and sum(guarantee.faults.values()) >= 20
    assert (guarantee.duplicates, guarantee.lost, guarantee.consent_regressions) == (0, 0, [])
    assert guarantee.miscounted_orders == []
    assert guarantee.holds, guarantee.describe()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate=st.floats(min_value=0.05, max_value=0.5), seed=st.integers(min_value=0, max_value=10_000))
def test_any_fault_schedule_on_the_demo_keeps_the_guarantee(rate, seed):
    guarantee = _guarantee(DEMO, rate, seed)
    assert guarantee.holds, guarantee.describe()


def test_a_larger_history_under_a_thousand_faults_loses_nothing_and_sends_nothing_twice(capsys):
    clean = run_simulation(HISTORY).final  # one clean run, shared by the three schedules
    results = [
        run_simulation(HISTORY, faults=FaultInjector(rate=0.55, seed=seed), clean=clean)
        for seed in (101, 202, 303)
    ]
    runs = [result.guarantee for result in results]
    faults = sum(sum(g.faults.values()) for g in runs if g)
    with capsys.disabled():
        print(
            f"\n{faults:,} faults injected: {sum(g.duplicates for g in runs if g)} duplicates, {sum(g.lost for g in runs if g)} lost"
        )
    assert faults >= 1_000
    for result, guarantee in zip(results, runs, strict=True):
        assert guarantee is not None and guarantee.holds, guarantee and guarantee.describe()
        # A customer whose event waits in a dead-letter queue gets their messages when it is redriven.
        waiting = result.final.waiting_customers
        assert guarantee.messages >= sum(m.customer_id not in waiting for m in clean.messages)


def test_sends_queued_for_the_sending_rate_keep_the_guarantee_under_faults(monkeypatch):
    """At 1 email and 1 SMS a second, sends that fall due together wait for a reserved share of a
    later second (services/steps.py): under faults at every call, none is lost or sent twice."""
    monkeypatch.setenv("POSTVENTA_MAX_SEND_RATE", '{"email": 1, "sms": 1}')
    clean = run_simulation(HISTORY).final
    queued = [m for m in clean.messages if (m.held or "").startswith("sending rate")]
    assert len(queued) >= 10 and {m.status.value for m in queued} == {"sent"}
    guarantee = run_simulation(HISTORY, faults=FaultInjector(rate=0.3, seed=7), clean=clean).guarantee
    assert guarantee is not None and sum(guarantee.faults.values()) >= 100
    assert guarantee.holds, guarantee.describe()
