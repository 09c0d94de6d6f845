"""on_order's work: keep profiles and orders current, start, end and resume journeys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from postventa.journeys.model import Journey
from postventa.logic.channels import ORDERED_SINCE_CHECKOUT, ordered_since
from postventa.logic.entry import journeys_to_enter, journeys_to_exit, reaches_goal, same_values
from postventa.logic.occasions import calendar_keys
from postventa.logic.send_time import SendTimes
from postventa.logic.sms import e164
from postventa.logic.waits import declared_events_awaited, events_awaited
from postventa.models.custom import OURS_ALONE, ShopContract
from postventa.models.events import (
    CheckoutStartedV1,
    CustomerDataRequestedV1,
    CustomerErasureRequestedV1,
    CustomerUpdatedV1,
    CustomerV1,
    CustomEventV1,
    InboundEvent,
    OrderCancelledV1,
    OrderFulfilledV1,
    OrderPlacedV1,
    OrderRefundedV1,
    SupportCaseClosedV1,
    SupportCaseOpenedV1,
    SurveyAnsweredV1,
)
from postventa.models.inbound import InvalidEvent, load_event, parse_inbound
from postventa.models.records import (
    EARLY_RETENTION,
    CustomerProfile,
    Decision,
    DecisionKind,
    EarlyEvent,
    JourneyEntry,
    NpsAnswer,
    OrderRecord,
    OrderStatus,
    SeenEvent,
)
from postventa.services.erasure import CustomerErasure
from postventa.services.errors import StepRetryable
from postventa.services.ports import (
    PROFILE_ATTEMPTS,
    CustomerStore,
    DeadLetters,
    Exports,
    Workflows,
    change_profile,
    drop_held,
)

Emit = Callable[[Decision], None]
OrderFollowUp = OrderFulfilledV1 | OrderRefundedV1 | OrderCancelledV1
Apply = Callable[..., dict[str, Any]]


def run_every_time(apply: Apply) -> Apply:
    return apply


class _Decisions:
    """What is decided about one event: each decision emitted as it is made, and kept."""

    def __init__(self, event: InboundEvent, emit: Emit):
        self._event, self._emit = event, emit
        self.made: list[Decision] = []

    def __call__(self, kind: DecisionKind, **about: Any) -> None:
        decision = Decision(at=self._event.received_at, kind=kind, event_id=self._event.event_id, **about)
        self.made.append(decision)
        self._emit(decision)


class OrderEventService:
    def __init__(
        self,
        *,
        store: CustomerStore,
        workflows: Workflows,
        invalid_events: DeadLetters,
        journeys: dict[str, Journey],
        emit: Emit,
        default_timezone: str = "UTC",
        test_orders_start_journeys: bool = False,
        exports: Exports | None = None,
        erasure: CustomerErasure | None = None,
        once: Callable[[Apply], Apply] = run_every_time,
        send_times: SendTimes,
        contract: ShopContract = OURS_ALONE,
    ):
        """once: wraps apply so a redelivered event is not applied again (Powertools Idempotency in AWS).
        send_times: where waits fixed at entry find a customer's best hour.
        contract: the shop's own events and customer attributes, checked as declared."""
        self._contract = contract
        self._store = store
        self._workflows = workflows
        self._invalid_events = invalid_events
        self._journeys = journeys
        self._awaited = events_awaited(journeys.values())
        self._noted = declared_events_awaited(journeys.values())
        self._exit_events = {goal.event for journey in journeys.values() for goal in journey.exit_on}
        self._spaced = [journey for journey in journeys.values() if journey.reentry_after is not None]
        self._emit = emit
        self._default_timezone = default_timezone
        self._send_times = send_times
        self._test_orders_start_journeys = test_orders_start_journeys
        self._exports = exports
        self._erasure = erasure or CustomerErasure(
            store=store, workflows=workflows, default_timezone=default_timezone
        )
        self._apply_once = once(self._apply_and_report)

    def handle(self, body: str) -> dict[str, Any]:
        """One message from the ingest queue: the EventBridge event as JSON."""
        raw: Any = {}
        try:
            raw = load_event(body)
            event = parse_inbound(raw, self._contract)
        except InvalidEvent as error:
            return self._refuse(body, raw if isinstance(raw, dict) else {}, error.reason)
        return self._apply_once(event=event)

    def _refuse(self, body: str, raw: dict[str, Any], reason: str) -> dict[str, Any]:
        self._invalid_events.send(body, reason)
        event_id = str(raw["id"]) if raw.get("id") is not None else None
        self._emit(
            Decision(at=_time_or_now(raw.get("time")), kind="invalid", event_id=event_id, reason=reason)
        )
        return {"invalid": reason}

    def _apply_and_report(self, event: InboundEvent) -> dict[str, Any]:
        """What the idempotency layer stores and replays for a duplicate."""
        return {
            "event_id": event.event_id,
            "received_at": event.received_at.isoformat(),
            "decisions": [d.model_dump(mode="json", exclude_none=True) for d in self.apply(event)],
        }

    def apply(self, event: InboundEvent) -> list[Decision]:
        """Apply one valid event: what was decided about it."""
        decide = _Decisions(event, self._emit)
        detail = event.detail
        if isinstance(detail, CustomerErasureRequestedV1 | CustomerDataRequestedV1):
            self._comply(detail, decide)
            return decide.made
        if isinstance(detail, OrderPlacedV1) and (passed_over := self._passed_over(detail)):
            decide("ignored", customer_id=detail.customer.id, order_id=detail.order_id, reason=passed_over)
            return decide.made
        if isinstance(detail, CheckoutStartedV1) and detail.completed_at is not None:
            decide("ignored", customer_id=detail.customer.id, reason="checkout completed: its order follows")
            return decide.made
        order = self._store.get_order(event.order_id) if event.order_id else None
        if order is None and isinstance(detail, OrderFollowUp):
            return self._keep_until_placed(event, detail, decide)
        customer_id = event.customer_id or (order.customer_id if order else None)
        if customer_id is None:
            decide("ignored", order_id=event.order_id, reason="order not known to Postventa")
            return decide.made

        profile, order, new_order = self._record(event, order, customer_id)
        if profile is None:
            reason = "customer not known to Postventa"
            decide("ignored", customer_id=customer_id, order_id=event.order_id, reason=reason)
            return decide.made
        if isinstance(detail, CheckoutStartedV1) and ordered_since(profile, detail.started_at):
            # The order came first (EventBridge does not promise order): nothing to remind of.
            decide("ignored", customer_id=customer_id, reason=ORDERED_SINCE_CHECKOUT)
            return decide.made
        entries = self._store.entries_of(customer_id) if self._needs_entries(event) else []
        self._enter(event, profile, order, entries, decide)
        # A replayed order (known already, under a new event id) is nobody's goal: nothing happened.
        if not (isinstance(detail, OrderPlacedV1) and not new_order):
            self._exit(event, order, entries, decide)
        self._resume_waits(event, customer_id, decide)
        if isinstance(detail, OrderPlacedV1):
            decide.made.extend(self._apply_kept(detail.order_id))
        return decide.made

    def _comply(
        self, request: CustomerErasureRequestedV1 | CustomerDataRequestedV1, decide: _Decisions
    ) -> None:
        """A customer's right to erasure, or to a copy of what is kept about them."""
        if isinstance(request, CustomerErasureRequestedV1):
            erased = self._erasure.erase(request.customer_id)
            reason = (
                f"{erased['items_deleted']} items deleted, {erased['journeys_stopped']} journeys stopped, "
                f"{erased['archive_rows_deleted']} archive rows deleted"
            )
            decide("erased", customer_id=request.customer_id, reason=reason)
            return
        if self._exports is None:
            raise ValueError("Customer Data Requested: no archive bucket is set up to write the export to")
        written = self._exports.save(request.request_id, self._erasure.export(request.customer_id))
        decide("exported", customer_id=request.customer_id, reason=written)

    def _record(
        self, event: InboundEvent, order: OrderRecord | None, customer_id: str
    ) -> tuple[CustomerProfile | None, OrderRecord | None, bool]:
        """What the event changes on the profile, the order and the survey answers: (profile,
        order, whether the order is new)."""
        detail = event.detail
        if isinstance(detail, OrderPlacedV1):
            return self._place(event, detail, customer_id)
        profile = self._update_profile(event, customer_id)
        order = self._update_order(event, order, customer_id)
        if isinstance(detail, SurveyAnsweredV1):
            self._store.save_nps(
                NpsAnswer(
                    customer_id=customer_id,
                    score=detail.score,
                    message_id=detail.message_id,
                    at=detail.answered_at,
                )
            )
        return profile, order, False

    def _enter(
        self,
        event: InboundEvent,
        profile: CustomerProfile,
        order: OrderRecord | None,
        entries: list[JourneyEntry],
        decide: _Decisions,
    ) -> None:
        """Each journey the event starts: the entry claimed first, then the execution started."""
        customer_id = profile.customer_id
        for start in journeys_to_enter(
            event,
            self._journeys.values(),
            profile,
            order,
            entries,
            self._default_timezone,
            send_times=self._send_times,
        ):
            journey = start.journey
            if not self._workflows.deployed(journey.name):
                decide(
                    "ignored", customer_id=customer_id, journey=journey.name, reason="journey not deployed"
                )
                continue
            about = {"customer_id": customer_id, "journey": journey.name, "order_id": event.order_id}
            control = self._store.journey_control(journey.name)
            refused = start.refused or (
                None if control is None or control.admits else f"journey {control.state.value}"
            )
            if refused:
                decide("not_entered", **about, reason=refused)
                continue
            entry = JourneyEntry(
                customer_id=customer_id,
                journey=journey.name,
                version=journey.version,
                trigger_id=start.trigger_id,
                order_id=event.order_id,
                execution_name=start.execution_name,
                entered_at=event.received_at,
                matched=start.matched,
            )
            if not self._store.claim_entry(entry):
                decide("duplicate", **about, reason=f"already entered for {start.trigger_id}")
                continue
            arn, started = self._workflows.start(journey.name, start.execution_name, start.execution_input)
            self._store.save_entry(entry.model_copy(update={"execution_arn": arn}))
            if started:
                decide("started", **about)
            else:
                decide("duplicate", **about, reason="execution already exists")

    def _exit(
        self,
        event: InboundEvent,
        order: OrderRecord | None,
        entries: list[JourneyEntry],
        decide: _Decisions,
    ) -> None:
        """Each running execution whose exit goal the event is: stopped, and what it held dropped."""
        partial_refund = (
            isinstance(event.detail, OrderRefundedV1) and order is not None and not order.is_closed
        )
        stopped: dict[str, str] = {}  # execution -> the goal that stopped it
        for journey, goal in journeys_to_exit(event, self._journeys.values(), partial_refund):
            for entry in entries:
                if entry.journey != journey.name or entry.ended_reason or not entry.execution_arn:
                    continue
                if not reaches_goal(event, journey, goal, entry):
                    continue
                reason = f"{'goal reached' if goal.converts else 'exit goal'}: {event.detail_type}"
                self._workflows.stop(entry.execution_arn, reason)
                stopped[entry.execution_arn] = reason
                self._store.save_entry(
                    entry.model_copy(update={"ended_reason": reason, "converted": goal.converts})
                )
                decide(
                    "converted" if goal.converts else "ended",
                    customer_id=entry.customer_id,
                    journey=journey.name,
                    order_id=entry.order_id,
                    reason=reason,
                )
        if stopped:
            drop_held(self._store, entries[0].customer_id, stopped)

    def _resume_waits(self, event: InboundEvent, customer_id: str, decide: _Decisions) -> None:
        """Each journey waiting for this event (wait_for_event) goes on."""
        if event.detail_type not in self._awaited:
            return
        noted = self._noted.get(str(event.detail_type))
        if noted is not None:  # noted first, then looked for: a wait registering now sees one side
            self._store.note_event(
                SeenEvent(
                    customer_id=customer_id,
                    event=str(event.detail_type),
                    event_id=event.event_id,
                    at=getattr(event.detail, "occurred_at", None) or event.received_at,
                    matched=same_values(noted, event.properties),
                )
            )
        for wait in self._store.waits_for(customer_id, event.order_id, str(event.detail_type)):
            if wait.matched and same_values(wait.matched, event.properties) != wait.matched:
                continue  # awaits the same subscription's, say: not this one
            if self._workflows.resume(wait.task_token, {"event_id": event.event_id}):
                decide(
                    "resumed",
                    customer_id=customer_id,
                    order_id=wait.order_id,
                    reason=f"{event.detail_type} arrived at step {wait.step}",
                )
            self._store.delete_wait(wait)

    def _passed_over(self, order: OrderPlacedV1) -> str | None:
        """Orders that start nothing and count for nothing: tests, and orders cancelled at once."""
        if order.cancelled_at is not None:
            return "cancelled before it was announced"
        if order.test and not self._test_orders_start_journeys:
            return "a test order (settings: test_orders_start_journeys)"
        return None

    def _keep_until_placed(
        self, event: InboundEvent, detail: OrderFollowUp, decide: _Decisions
    ) -> list[Decision]:
        """EventBridge and Shopify do not promise order: a follow-up of an order not seen yet is kept
        and applied when the order is placed. Kept first, then looked for, as waits are: an order
        placed meanwhile is seen by one side or both, and applying twice changes nothing."""
        self._store.keep_early(EarlyEvent(order_id=detail.order_id, event=event, kept_at=event.received_at))
        if self._store.get_order(detail.order_id) is not None:
            return self._apply_kept(detail.order_id)
        until = event.received_at + EARLY_RETENTION
        decide(
            "kept",
            customer_id=detail.customer_id,
            order_id=detail.order_id,
            reason=f"order not known yet: kept until {until:%Y-%m-%d}, applied when it arrives",
        )
        return []

    def _apply_kept(self, order_id: str) -> list[Decision]:
        """What came before the order, applied now in the order it happened."""
        decisions = []
        for early in self._store.early_events(order_id):
            decisions.extend(self.apply(early.event))
            self._store.forget_early(early)
        return decisions

    def _needs_entries(self, event: InboundEvent) -> bool:
        """Past entries matter only for re-entry spacing and exit goals: skip the read otherwise."""
        return event.detail_type in self._exit_events or any(
            journey.trigger.matches(event.detail_type, event.detail) for journey in self._spaced
        )

    def _place(
        self, event: InboundEvent, detail: OrderPlacedV1, customer_id: str
    ) -> tuple[CustomerProfile, OrderRecord, bool]:
        """A new order is stored and counted on the profile in one transaction; one placed before
        (a retry, or the same order under another event id) changes nothing, consent included."""
        record = OrderRecord.placed(detail, customer_id)
        for attempt in range(PROFILE_ATTEMPTS):
            # Most orders are new: the first attempt does not read the order, the transaction
            # refuses one placed before (OrderOutcome.KNOWN) and the next attempt reads it.
            known = self._store.get_order(detail.order_id) if attempt else None
            stored = self._store.get_profile(customer_id)
            if known is not None:
                profile = stored or self._update_profile(event, customer_id)
                assert profile is not None  # an order event always makes a profile
                self._move_calendar(None, profile)  # what an interrupted first attempt may have left undone
                self._link_phone(None, profile)
                return profile, known, False
            profile = self._merged(
                stored, _undated_consent_fills_gaps(detail.customer), event.received_at
            ).with_order(
                detail.placed_at,
                float(detail.total.amount),
                (category for item in detail.items for category in item.categories),
            )
            placed = self._store.place_order(record, profile, stored)
            if isinstance(placed, CustomerProfile):
                self._move_calendar(stored, placed)
                self._link_phone(stored, placed)
                return placed, record, True
        raise StepRetryable(f"order {detail.order_id}: its customer's profile kept changing")

    @staticmethod
    def _merged(stored: CustomerProfile | None, customer: CustomerV1, at: datetime) -> CustomerProfile:
        return stored.merged_with(customer, at) if stored else CustomerProfile.from_contract(customer, at)

    def _update_profile(self, event: InboundEvent, customer_id: str) -> CustomerProfile | None:
        detail = event.detail
        if isinstance(detail, OrderPlacedV1 | CustomerUpdatedV1 | CheckoutStartedV1 | CustomEventV1):
            customer = detail.customer
            if isinstance(detail, CustomerUpdatedV1) and customer.consent_updated_at is None:
                customer = customer.model_copy(update={"consent_updated_at": detail.updated_at})
            elif isinstance(detail, CheckoutStartedV1 | CustomEventV1):
                customer = _undated_consent_fills_gaps(customer)
            stored, profile = change_profile(
                self._store, customer_id, lambda stored: self._merged(stored, customer, event.received_at)
            )
            assert profile is not None
            if profile != stored:
                self._move_calendar(stored, profile)
                self._link_phone(stored, profile)
            return profile
        if isinstance(detail, SupportCaseOpenedV1 | SupportCaseClosedV1):
            return change_profile(
                self._store,
                customer_id,
                lambda stored: stored and _with_case(stored, detail, event.received_at),
            )[1]
        return self._store.get_profile(customer_id)

    def _link_phone(self, stored: CustomerProfile | None, profile: CustomerProfile) -> None:
        """SMS replies carry only the number: keep it pointing at the customer. Parsed only when the
        number or country changed (phonenumbers is not free, and most orders change neither)."""
        if stored is not None and (stored.phone, stored.country) == (profile.phone, profile.country):
            return
        number = e164(profile.phone, profile.country)
        if number:
            self._store.link_phone(number, profile.customer_id)

    def _move_calendar(self, stored: CustomerProfile | None, profile: CustomerProfile) -> None:
        """Keep the profile's calendar entries (and the timezone they carry) in step with it."""
        zone = profile.timezone or self._default_timezone
        before = calendar_keys(stored, self._default_timezone) if stored else set()
        after = calendar_keys(profile, self._default_timezone)
        if stored is not None and (stored.timezone or self._default_timezone) != zone:
            self._store.move_calendar(
                profile.customer_id, zone, before - after, after
            )  # rewrite all: new timezone
        elif before != after:
            self._store.move_calendar(profile.customer_id, zone, before - after, after - before)

    def _update_order(
        self, event: InboundEvent, order: OrderRecord | None, customer_id: str
    ) -> OrderRecord | None:
        detail = event.detail
        if order is None or order.is_closed:
            return order  # nothing to update, or closed for good whatever arrives late
        elif isinstance(detail, OrderFulfilledV1):
            order = order.model_copy(
                update={
                    "status": OrderStatus.FULFILLED,
                    "fulfilled_at": detail.fulfilled_at,
                    "tracking_url": detail.tracking_url,
                }
            )
        elif isinstance(detail, OrderRefundedV1):
            order = order.with_refund(detail, event.event_id)
        elif isinstance(detail, OrderCancelledV1):
            order = order.model_copy(
                update={"status": OrderStatus.CANCELLED, "closed_at": detail.cancelled_at}
            )
        else:
            return order
        self._store.put_order(order)
        return order


def _undated_consent_fills_gaps(customer: CustomerV1) -> CustomerV1:
    """Consent on an order or a checkout, stated without its own time (a checkout's accepts-marketing
    box, a storefront's copy of the state), may be stale: it only fills what is not known yet, so an
    unsubscribe made elsewhere is never undone by the next order. Changes come as Customer Updated."""
    if customer.consent_updated_at is not None:
        return customer
    return customer.model_copy(update={"consent_updated_at": datetime.min.replace(tzinfo=UTC)})


def _with_case(
    profile: CustomerProfile, case: SupportCaseOpenedV1 | SupportCaseClosedV1, at: datetime
) -> CustomerProfile:
    cases = set(profile.open_cases)
    if isinstance(case, SupportCaseOpenedV1):
        cases.add(case.case_id)
    else:
        cases.discard(case.case_id)
    if cases == set(profile.open_cases):
        return profile
    return profile.model_copy(update={"open_cases": sorted(cases), "updated_at": at})


def _time_or_now(value: Any) -> datetime:
    """When a refused event happened, as far as it says; it may say nothing usable."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
