"""The delivery guarantee under faults: the demo replayed with faults
injected at every AWS call the handlers make and into the deliveries (local/faults.py), checked
at the providers against a run of the same events without faults."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postventa.local.faults import FaultInjector
from postventa.local.simulate import DEMO_EVENTS, read_events, run_simulation

DEMO = read_events(DEMO_EVENTS)


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
