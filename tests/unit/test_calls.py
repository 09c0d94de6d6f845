"""A call step's one outcome: published once, whatever the retries (services/calls.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postventa.adapters.memory import MemoryStore
from postventa.journeys.tasks import CallTask, StepRequest
from postventa.services.calls import CALL_LEASE, CallRunner
from postventa.services.errors import EventsNotPublished, StepRetryable

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Bus:
    def __init__(self, refusals: int = 0):
        self.published: list[tuple[str, object]] = []
        self._refusals = refusals

    def publish(self, detail_type, details):
        if self._refusals:
            self._refusals -= 1
            raise EventsNotPublished("1 of 1 events were not published")
        self.published.extend((detail_type, detail) for detail, _ in details)


class LostAnswer(Bus):
    def publish(self, detail_type, details):
        raise TimeoutError("read timed out")  # EventBridge may have taken it: nobody can tell


def request() -> StepRequest:
    return StepRequest.model_validate(
        {
            "execution_id": "arn:aws:states:us-east-1:1:execution:nps-detractor:e1",
            "step": "open_ticket",
            "now": T0,
            "journey": "nps-detractor",
            "version": 2,
            "customer_id": "cus-ana",
            "action": {"kind": "call", "destination": "helpdesk"},
        }
    )


def runner(bus: Bus, store: MemoryStore, clock=lambda: T0) -> CallRunner:
    return CallRunner(store=store, publisher=lambda: bus, destinations=["helpdesk"], clock=clock)


def test_a_retried_call_is_published_once():
    bus, store = Bus(), MemoryStore()
    first = runner(bus, store).run(request(), CallTask(destination="helpdesk"))
    again = runner(bus, store).run(request(), CallTask(destination="helpdesk"))
    assert first == again and first.outcome == "called"
    ((detail_type, detail),) = bus.published
    assert (detail_type, detail.call_id, detail.customer.id) == ("Action Requested", first.call_id, "cus-ana")


def test_a_call_eventbridge_refused_is_made_again():
    bus, store = Bus(refusals=1), MemoryStore()
    with pytest.raises(StepRetryable, match="not published"):
        runner(bus, store).run(request(), CallTask(destination="helpdesk"))
    assert runner(bus, store).run(request(), CallTask(destination="helpdesk")).outcome == "called"
    assert len(bus.published) == 1


def test_an_attempt_that_died_mid_call_is_waited_for_then_recorded_failed_never_repeated():
    bus, store = Bus(), MemoryStore()
    with pytest.raises(TimeoutError):
        runner(LostAnswer(), store).run(request(), CallTask(destination="helpdesk"))
    with pytest.raises(StepRetryable, match="another attempt"):
        runner(bus, store, clock=lambda: T0 + timedelta(minutes=1)).run(
            request(), CallTask(destination="helpdesk")
        )
    late = runner(bus, store, clock=lambda: T0 + CALL_LEASE).run(request(), CallTask(destination="helpdesk"))
    assert (late.outcome, late.reason) == (
        "failed",
        "interrupted while calling helpdesk; outcome unknown, not called again so it cannot happen twice",
    )
    assert bus.published == []


def test_giving_up_after_the_call_was_made_keeps_called():
    bus, store = Bus(), MemoryStore()
    made = runner(bus, store).run(request(), CallTask(destination="helpdesk"))
    kept = runner(bus, store).give_up(request(), "gave up after retries: States.Timeout")
    assert kept == made
    assert [d.outcome for d in store.decisions_of("cus-ana")] == ["called"]
