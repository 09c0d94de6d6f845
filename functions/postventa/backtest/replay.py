"""One partition of customers replayed through the very services the Lambdas run, composed by
the same root (composition.Services) with in-memory adapters, the compiled state machines on the
local engine's virtual clock, and the customers' engagement (engagement.py) fed back through
EngagementService and on_order's service."""

from __future__ import annotations

import gc
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, PlainSerializer

from postventa.adapters.memory import (
    DiscardedEvents,
    MemoryRateLimiter,
    MemoryStore,
    Retired,
    SubjectOnlyRenderer,
    UnsignedLinks,
)
from postventa.analytics.archive import ArchiveWriter
from postventa.asl.engine import Execution, LocalStepFunctions
from postventa.backtest.assumptions import Assumptions
from postventa.backtest.engagement import OPENED_AFTER, Customers, Reaction
from postventa.backtest.history import order_events
from postventa.backtest.metering import SHARED, Meter, MeteredRateLimiter, MeteredStore
from postventa.composition import Services, StandIns
from postventa.journeys.compiler import compile_journey
from postventa.journeys.model import Journey
from postventa.journeys.tasks import StepRequest, WaitRequest
from postventa.logic.occasions import RUN_EVERY, inactivity_thresholds
from postventa.models.engagement import SesRecord
from postventa.models.events import Channel, DetailType, InboundEvent, OrderPlacedV1
from postventa.models.records import Decision, MessageStatus
from postventa.models.settings import Settings

RUN_STEP, REGISTER_WAIT = "arn:backtest:run-step", "arn:backtest:register-wait"
PROGRESS_EVERY = 500
AFTERMATH = timedelta(days=800)  # longer than any journey lasts: as far as the engine's run_until_idle looks
# An ended execution's records are folded into the tally and the archive this long after it ends:
# later than any reaction to its last message can arrive (engagement.py: hours).
SETTLED_AFTER = timedelta(days=1)
# Customers untouched this many replayed days wait on disk: each one read back costs a pickle
# round trip, so a short idle time trades CPU for memory (30 days: ~8% of a replay's CPU).
IDLE_DAYS = 30


VolumeKey = tuple[str, str, str, str]  # journey, step, channel, outcome


def _volume_rows(volumes: Counter[VolumeKey]) -> list[list[str | int]]:
    return [[*key, count] for key, count in sorted(volumes.items())]


def _volumes_from_rows(value: Any) -> Any:
    return Counter({tuple(row[:4]): row[4] for row in value}) if isinstance(value, list) else value


# In JSON (a partition's tally file) as rows: JSON's keys cannot be tuples.
Volumes = Annotated[
    Counter[VolumeKey],
    BeforeValidator(_volumes_from_rows),
    PlainSerializer(_volume_rows, when_used="json"),
]


@dataclass
class Tally:
    """What one partition of customers produced; partitions add up."""

    orders: int = 0
    customers: int = 0
    first: datetime | None = None
    last: datetime | None = None
    events: int = 0
    run_step_calls: int = 0
    register_wait_calls: int = 0
    schedule_runs: int = 0  # the occasions schedule's invocations (every five minutes)
    engagement_events: int = 0  # SES's events handed to on_engagement's service
    queued_for_rate: int = 0  # sends a full second refused, each held for a share reserved later
    sms_segments: int = 0  # of the texts sent: what SMS is billed by
    drops: Counter[str] = field(default_factory=Counter)  # suppressed messages by their reason
    # Rows the table's stream would hand Firehose: orders, each message's claim and outcome,
    # split assignments, survey answers (SES's events on messages are counted in engagement_events).
    archive_records: int = 0
    # What the store and the rate would have asked of DynamoDB (metering.py): requests by
    # operation, and read and write request units.
    dynamodb_requests: Counter[str] = field(default_factory=Counter)
    dynamodb_units: dict[str, float] = field(default_factory=dict)
    transitions: Counter[str] = field(default_factory=Counter)  # per journey
    entries: Counter[str] = field(default_factory=Counter)
    conversions: Counter[str] = field(default_factory=Counter)
    volumes: Volumes = field(default_factory=Counter)
    # messages sent to one customer in one ISO week -> how many customer-weeks had that many
    weekly: Counter[int] = field(default_factory=Counter)

    def dynamodb_units_in_all(self) -> dict[str, float]:
        """Read and write units, the shared queries' (metering.SHARED) once for all partitions."""
        shared = sum(self.dynamodb_requests[name] * units for name, units in SHARED.items())
        return {
            "read": self.dynamodb_units.get("read", 0) + shared,
            "write": self.dynamodb_units.get("write", 0),
        }

    def __add__(self, other: Tally) -> Tally:
        requests = self.dynamodb_requests + other.dynamodb_requests
        for name in SHARED:  # one schedule's queries, made by every partition alike
            requests[name] = max(self.dynamodb_requests[name], other.dynamodb_requests[name])
        firsts = [t for t in (self.first, other.first) if t]
        lasts = [t for t in (self.last, other.last) if t]
        return Tally(
            orders=self.orders + other.orders,
            customers=self.customers + other.customers,
            first=min(firsts) if firsts else None,
            last=max(lasts) if lasts else None,
            events=self.events + other.events,
            run_step_calls=self.run_step_calls + other.run_step_calls,
            register_wait_calls=self.register_wait_calls + other.register_wait_calls,
            schedule_runs=max(self.schedule_runs, other.schedule_runs),  # one schedule for all partitions
            engagement_events=self.engagement_events + other.engagement_events,
            queued_for_rate=self.queued_for_rate + other.queued_for_rate,
            sms_segments=self.sms_segments + other.sms_segments,
            drops=self.drops + other.drops,
            archive_records=self.archive_records + other.archive_records,
            dynamodb_requests=+requests,
            dynamodb_units={
                unit: self.dynamodb_units.get(unit, 0) + other.dynamodb_units.get(unit, 0)
                for unit in {*self.dynamodb_units, *other.dynamodb_units}
            },
            transitions=self.transitions + other.transitions,
            entries=self.entries + other.entries,
            conversions=self.conversions + other.conversions,
            volumes=self.volumes + other.volumes,
            weekly=self.weekly + other.weekly,
        )


class _Loopback:
    """Postventa's own bus in a backtest: what it publishes (occasions, survey answers) reaches
    on_order's service at once, as EventBridge and the ingest queue bring it a moment later."""

    def __init__(self, apply: Callable[[InboundEvent], Any]):
        self._apply = apply

    def publish(self, detail_type: str, details: Sequence[tuple[BaseModel, datetime]]) -> None:
        if detail_type not in set(DetailType):
            return  # a call leaves the stack; nothing comes back of it in a replay
        for detail, at in details:
            body = detail.model_dump_json()
            self._apply(
                InboundEvent(
                    event_id=f"{detail_type}-{hashlib.sha256(body.encode()).hexdigest()[:16]}",
                    source="backtest",
                    detail_type=DetailType(detail_type),
                    received_at=at,
                    detail=detail,  # type: ignore[arg-type]  # each publisher sends its own contract's detail
                )
            )


def _backtest_settings(assumptions: Assumptions, machines: dict[str, str]) -> Settings:
    """What a deployed stack's environment would say; nothing here reaches AWS."""
    return Settings(
        table_name="backtest",
        idempotency_table_name="backtest-idempotency",
        invalid_events_queue_url="backtest://invalid-events",
        sender="Backtest <shop@backtest.invalid>",
        configuration_set="backtest",
        links_base_url="https://backtest.invalid",
        link_signing_secret_id="backtest",
        shop_name="Backtest",
        support_email="support@backtest.invalid",
        default_timezone=assumptions.timezone,
        contact_policy=assumptions.contact_policy,
        max_send_rate=assumptions.send_rate,
        state_machines=machines,
    )


@contextmanager
def paused_garbage_collector() -> Iterator[None]:
    """A replay makes few reference cycles (what it lets go is freed as its last reference goes):
    the collector's passes over the records in flight would cost much and free next to nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def replay(
    orders: list[OrderPlacedV1],
    journeys: dict[str, Journey],
    assumptions: Assumptions,
    progress: Callable[[int], None],
    *,
    retired: Callable[[Retired], None] = lambda records: None,
    archive: Path | None = None,
    part: str = "part-0",
    partitions: int = 1,
    period: tuple[datetime, datetime] | None = None,
) -> Tally:
    """retired: told of the records as the replay lets them go (each once, as last written; the rest
    at the end), so a caller can look at every message without the replay keeping them all.
    archive: where to write what it stored for `postventa report` (as `part` of each table).
    partitions: how many replays share the account's sending rate; customers are split evenly by
    hash, so each gets an even share (throttles, and so send times, vary a little with the split).
    period: the first and last order of the whole history this partition is part of: the one
    occasions schedule runs over all of it, in every partition alike."""
    start, last_order = period or (min(o.placed_at for o in orders), max(o.placed_at for o in orders))
    calls: Counter[str] = Counter()
    conversions: Counter[str] = Counter()
    tally = Tally(orders=len(orders), customers=len({o.customer.id for o in orders}))

    def invoke(function: str, payload: dict[str, Any]) -> Any:
        calls[function] += 1
        if function == RUN_STEP:
            return services.run_step_once(event=StepRequest.model_validate(payload))
        return services.wait_registrar.register(WaitRequest.model_validate(payload)).model_dump(mode="json")

    def count_conversions(decision: Decision) -> None:
        if decision.kind == "converted" and decision.journey:
            conversions[decision.journey] += 1

    def apply(event: InboundEvent) -> None:
        services.order_events.apply(event)
        tally.events += 1

    archived = ArchiveWriter(archive, part) if archive is not None else None
    weeks: Counter[tuple[str, int, int]] = Counter()  # customer, ISO year and week -> messages sent

    def fold(records: Retired) -> None:
        """What the store let go, counted and archived: memory follows what is in flight."""
        retired(records)
        tally.archive_records += (
            len(records.orders)
            + 2 * len(records.messages)
            + sum(1 for d in records.decisions if d.experiment)
            + len(records.answers)
        )
        for m in records.messages:
            tally.volumes[(m.journey, m.step, m.channel, m.status.value)] += 1
            if m.status is MessageStatus.SENT and m.channel == Channel.SMS.value:
                tally.sms_segments += m.segments or 1
            if m.status is MessageStatus.SUPPRESSED:
                tally.drops[m.reason or "no reason"] += 1
            if m.status is MessageStatus.SENT:
                year, week, _ = m.at.isocalendar()
                weeks[(m.customer_id, year, week)] += 1
        if archived is not None:
            archived.add_records(
                orders=records.orders,
                messages=records.messages,
                decisions=records.decisions,
                answers=records.answers,
            )

    oldest_needed = timedelta(days=assumptions.fulfilment_days) + SETTLED_AFTER  # an order's fulfilment

    def settle(execution: Execution) -> None:
        customer_id = execution.input["customer_id"]

        def retire() -> None:
            fold(store.retire(customer_id, execution.arn, placed_before=engine.now - oldest_needed))

        engine.call_at(engine.now + SETTLED_AFTER, retire)

    engine = LocalStepFunctions(start=start, invoke=invoke, on_finished=settle, forget_finished=True)
    machines = {
        name: engine.create_state_machine(
            name=f"postventa-{name}",
            definition=json.dumps(
                compile_journey(journey, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)
            ),
        )["stateMachineArn"]
        for name, journey in journeys.items()
    }
    customers = Customers(assumptions, clock=lambda: engine.now)
    store = MemoryStore()
    settings = _backtest_settings(assumptions, machines)
    rate = MemoryRateLimiter(
        {channel: Fraction(limit, partitions) for channel, limit in settings.max_send_rate.items()},
        clock=lambda: engine.now,
    )
    meter = Meter()
    services = Services(
        settings,
        stand_ins=StandIns(
            stepfunctions=engine,
            store=MeteredStore(store, meter),
            senders=dict.fromkeys(Channel, customers),
            rate_limiter=MeteredRateLimiter(rate, meter),
            renderer=SubjectOnlyRenderer(),
            links=UnsignedLinks(),
            invalid_events=DiscardedEvents(),
            bus=_Loopback(apply),
            idempotency=False,  # each step runs once here: nothing to deduplicate
        ),
        emit=count_conversions,
        journeys=journeys,
        clock=lambda: engine.now,
    )

    uses_occasions = any(j.trigger.occasion is not None for j in journeys.values())
    thresholds = inactivity_thresholds(journeys.values())
    # Runs every five minutes, as the schedule does, from the first order until the last one's longest lapse.
    tick = start.replace(minute=0, second=0, microsecond=0) + RUN_EVERY
    last_tick = last_order + timedelta(days=max(thresholds, default=0) + 1)

    def run_ticks_until(moment: datetime) -> None:
        # As deployed: the runs outside the customers' slots find nobody, but they are invoked
        # and read the calendar all the same, and the cost counts them.
        nonlocal tick
        while uses_occasions and tick <= min(moment, last_tick):
            engine.run_until(tick)
            services.occasions.run(tick)
            tally.schedule_runs += 1
            tick += RUN_EVERY

    def react(reaction: Reaction) -> None:
        if isinstance(reaction, SesRecord):
            services.engagement.apply(reaction)
            tally.engagement_events += 1
        else:
            services.publisher("postventa.preferences").publish(
                DetailType.SURVEY_ANSWERED, [(reaction, reaction.answered_at)]
            )

    def advance(moment: datetime) -> None:
        """Schedule runs, the engine and the customers' reactions, in time order, up to `moment`. A
        reaction a journey reads (Open, Click) comes OPENED_AFTER its send or later, so running
        ahead by no more than that at a time, and never past the next reaction known, passes none
        before it arises; Send and Delivery, which only record, may be applied a window late."""
        while True:
            until = min(moment, engine.now + OPENED_AFTER)
            if customers.next_at is not None:
                until = min(until, customers.next_at)
            run_ticks_until(until)
            engine.run_until(until)
            for reaction in customers.due(until):
                react(reaction)
            if until >= moment:
                return

    placed = 0
    day = start.date()
    for event in order_events(orders, assumptions.fulfilment_days, assumptions.fill_in):
        advance(event.received_at)
        while day < event.received_at.date():
            store.customers.put_away_idle(IDLE_DAYS)
            day += timedelta(days=1)
        apply(event)
        if event.detail_type is DetailType.ORDER_PLACED:
            placed += 1
            if placed % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
    advance(last_tick)
    advance(last_tick + AFTERMATH)  # what is still running plays out, answers included
    progress(placed % PROGRESS_EVERY)

    journey_of_machine = {arn.rsplit(":", 1)[-1]: name for name, arn in machines.items()}
    for machine_arn, count in engine.transitions.items():
        tally.transitions[journey_of_machine[machine_arn.rsplit(":", 1)[-1]]] += count
    for machine_arn, count in engine.started.items():
        tally.entries[journey_of_machine[machine_arn.rsplit(":", 1)[-1]]] += count
    tally.conversions = conversions
    for customer in store.customers.values():  # what is left: orders no journey started from, ...
        fold(
            Retired(
                orders=list(customer.orders.values()),
                messages=list(customer.messages.values()),
                decisions=list(customer.decisions.values()),
                answers=list(customer.nps.values()),
            )
        )
    tally.weekly.update(weeks.values())
    tally.run_step_calls, tally.register_wait_calls = calls[RUN_STEP], calls[REGISTER_WAIT]
    tally.queued_for_rate = rate.refused
    meter.count_idempotency(tally.events + tally.run_step_calls)  # off here, on in AWS
    tally.dynamodb_requests, tally.dynamodb_units = meter.requests, dict(meter.units)
    tally.first, tally.last = start, last_order
    if archived is not None:
        archived.flush()
    return tally
