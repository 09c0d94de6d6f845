"""A journey's call step: the customer's context handed once to another system (EventBridge API
destination), with one recorded outcome, as a message is."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from postventa.journeys.tasks import CallOutcome, CallTask, StepRequest
from postventa.logic.facts import nps_band
from postventa.logic.messaging import message_id
from postventa.models.actions import ACTION_REQUESTED, ActionRequestedV1, CallCustomer, CallNps
from postventa.services.errors import EventsNotPublished, StepRetryable
from postventa.services.ports import CustomerStore, Publisher, profile_of

CALLING = "calling"  # claimed: the call is being made
CALLED = "called"
NOT_CALLED = "not_called"
FAILED = "failed"
CALL_LEASE = timedelta(minutes=5)  # as a message's claim: longer than run_step's timeout


class CallRunner:
    def __init__(
        self,
        *,
        store: CustomerStore,
        publisher: Callable[[], Publisher],
        destinations: Collection[str],
        clock: Callable[[], datetime],
    ):
        """destinations: the names configured at deploy (httpDestinations); publisher: the bus,
        built on first use (most steps call nothing)."""
        self._store = store
        self._publisher = publisher
        self._destinations = frozenset(destinations)
        self._clock = clock

    def run(self, request: StepRequest, action: CallTask) -> CallOutcome:
        """Claim, publish, record. A claim found `calling` past its lease belongs to an attempt
        that died after asking EventBridge, or before: the call is recorded failed rather than
        risk a second ticket; within the lease, the journey retries."""
        call_id = message_id(request.execution_id, request.step)
        if action.destination not in self._destinations:
            reason = f"no destination {action.destination!r} is configured (context httpDestinations)"
            return self._record(request, call_id, NOT_CALLED, reason)
        # Built before the claim: a read that fails leaves no claim behind to be taken for a call.
        detail = self._request(request, action, call_id)
        claim = request.decided(CALLING, at=self._clock())
        existing = self._store.claim_decision(claim)
        if existing is not None and existing.outcome != CALLING:
            return CallOutcome(call_id=call_id, outcome=existing.outcome, reason=existing.reason)
        if existing is not None:
            if self._clock() - existing.at < CALL_LEASE:
                raise StepRetryable(f"call {call_id} is being made by another attempt")
            reason = (
                f"interrupted while calling {action.destination}; outcome unknown, "
                "not called again so it cannot happen twice"
            )
            return self._record(request, call_id, FAILED, reason)
        try:
            self._publisher().publish(ACTION_REQUESTED, [(detail, request.now)])
        except EventsNotPublished as refused:
            self._store.release_decision(claim)
            raise StepRetryable(str(refused)) from refused
        return self._record(request, call_id, CALLED, f"to {action.destination}")

    def give_up(self, request: StepRequest, reason: str) -> CallOutcome:
        """The journey's retries ran out: failed, unless the call was made (that stands)."""
        call_id = message_id(request.execution_id, request.step)
        existing = self._store.claim_decision(request.decided(FAILED, reason=reason))
        if existing is None:  # recorded by that claim
            return CallOutcome(call_id=call_id, outcome=FAILED, reason=reason)
        if existing.outcome != CALLING:
            return CallOutcome(call_id=call_id, outcome=existing.outcome, reason=existing.reason)
        return self._record(request, call_id, FAILED, reason)

    def _request(self, request: StepRequest, action: CallTask, call_id: str) -> ActionRequestedV1:
        profile = profile_of(self._store, request.customer_id, request.now)
        answer = self._store.latest_nps(request.customer_id)
        return ActionRequestedV1(
            call_id=call_id,
            destination=action.destination,
            journey=request.journey,
            version=request.version,
            step=request.step,
            requested_at=request.now,
            customer=CallCustomer.of(profile),
            order=self._store.get_order(request.order_id) if request.order_id else None,
            nps=CallNps(score=answer.score, band=nps_band(answer.score)) if answer else None,
            event=request.trigger,
        )

    def _record(self, request: StepRequest, call_id: str, outcome: str, reason: str) -> CallOutcome:
        self._store.save_decision(request.decided(outcome, reason=reason))
        return CallOutcome(call_id=call_id, outcome=outcome, reason=reason)
