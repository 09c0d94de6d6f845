"""postventa backtest: replay an order history through the journeys before they go live.

The very services the Lambdas run (on_order's, run_step's, register_wait's) decide every step;
the compiled state machines run on the local engine's virtual clock; only the adapters are
in-memory stand-ins (local/memory.py), because moto answers in milliseconds and a history has
tens of thousands of orders. What the history does not say is assumed, and the report says how.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import heapq
import itertools
import json
import multiprocessing
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from postventa.adapters.workflows import JourneyWorkflows
from postventa.analytics.archive import write_records
from postventa.journeys.compiler import compile_journey
from postventa.journeys.model import Journey
from postventa.journeys.tasks import StepRequest, WaitRequest
from postventa.local.engine import LocalStepFunctions
from postventa.local.memory import (
    CountingSender,
    DiscardedEvents,
    MemoryStore,
    SubjectOnlyRenderer,
    UnlimitedRate,
    UnsignedLinks,
)
from postventa.logic.occasions import in_firing_hour, inactivity_thresholds
from postventa.models.common import Money
from postventa.models.events import (
    Channel,
    ConsentState,
    CustomerV1,
    DetailType,
    InboundEvent,
    LineItemV1,
    OccasionReachedV1,
    OrderFulfilledV1,
    OrderPlacedV1,
    SurveyAnsweredV1,
)
from postventa.models.policy import ContactPolicy
from postventa.models.records import Decision, MessageRecord, MessageStatus
from postventa.services.occasions import OccasionScheduler
from postventa.services.order_events import OrderEventService
from postventa.services.steps import StepRunner
from postventa.services.waits import WaitRegistrar

REQUIRED_COLUMNS = ("customer_id", "placed_at", "total")
OPTIONAL_COLUMNS = ("order_id", "currency", "email", "items", "categories")
RUN_STEP, REGISTER_WAIT = "arn:backtest:run-step", "arn:backtest:register-wait"

# Published on-demand prices, us-east-1, November 2026 (USD).
PRICES = {
    "step_functions_per_transition": 0.025 / 1000,
    "lambda_per_request": 0.20 / 1_000_000,
    "lambda_per_gb_second_arm": 0.0000133334,
    "ses_per_email": 0.10 / 1000,
    "dynamodb_per_write_request": 0.625 / 1_000_000,
    "dynamodb_per_read_request": 0.125 / 1_000_000,
}
# Per invocation, as measured against moto by make bench and rounded up: memory 512 MB, 100 ms.
LAMBDA_GB_SECONDS = 0.5 * 0.1
DYNAMODB_PER_EVENT = {
    "writes": 4,
    "reads": 3,
}  # idempotency record x2, profile, order; reads of order, profile, entries
DYNAMODB_PER_TASK = {"writes": 3, "reads": 3}  # idempotency x2, message or decision; profile, order, messages


class BacktestInputError(ValueError):
    pass


@dataclass(frozen=True)
class Assumptions:
    """What an order history cannot tell; each is stated in the report."""

    fulfilment_days: float = 2.0
    open_rate: float = 0.35
    click_rate: float = 0.08
    # A click on the survey email is an answer (its links are the scores): the bands' shares.
    promoter_share: float = 0.5
    detractor_share: float = 0.2
    consent: ConsentState = ConsentState.SUBSCRIBED
    timezone: str = "UTC"
    # The contact policy the journeys run under: the deployed default unless a backtest compares.
    contact_policy: ContactPolicy = field(default_factory=ContactPolicy)


@dataclass
class BacktestReport:
    orders: int
    customers: int
    period: tuple[str, str]
    assumptions: dict[str, Any]
    journeys: dict[str, dict[str, Any]]
    steps: list[dict[str, Any]]
    messages_per_customer_week: dict[str, float]
    cost_usd: dict[str, float]
    wall_seconds: float = 0.0
    orders_per_second: float = 0.0
    refused_rows: list[str] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, default=str)


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a bare date or time is read as UTC


def read_orders(path: Path, currency: str = "USD") -> tuple[list[OrderPlacedV1], list[str]]:
    """Orders from a CSV with a header; rows that cannot be read are returned with line and reason."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise BacktestInputError(
                f"{path}: the header lacks {', '.join(missing)} (required: {', '.join(REQUIRED_COLUMNS)})"
            )
        orders, refused = [], []
        for line, row in enumerate(reader, start=2):
            try:
                orders.append(_order(row, line, currency))
            except (ValueError, InvalidOperation) as error:
                refused.append(f"{path}:{line}: {error}")
    return orders, refused


def _order(row: dict[str, str], line: int, default_currency: str) -> OrderPlacedV1:
    placed_at = _parse_time(row["placed_at"])
    currency = (row.get("currency") or default_currency).strip().upper()
    total = Money(amount=Decimal(row["total"].strip()), currency=currency)
    categories = [c.strip() for c in (row.get("categories") or "").split(";") if c.strip()]
    names = [n.strip() for n in (row.get("items") or "").split(";") if n.strip()] or ["item"]
    # The history gives the total, not each price: it is spread over the items for the templates' sake.
    share = (total.amount / len(names)).quantize(Decimal("0.01"))
    customer_id = row["customer_id"].strip()
    return OrderPlacedV1(
        order_id=(row.get("order_id") or "").strip() or f"{customer_id}-{line}",
        placed_at=placed_at,
        customer=CustomerV1(id=customer_id, email=(row.get("email") or "").strip() or None),
        currency=currency,
        total=total,
        items=[
            LineItemV1(
                name=name,
                quantity=1,
                unit_price=Money(amount=share, currency=currency),
                categories=categories,
            )
            for name in names
        ],
    )


def _fraction(*parts: str) -> float:
    """A stable pseudo-random number in [0, 1) for the same inputs: backtests repeat exactly."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


OPENED_AFTER, CLICKED_AFTER = timedelta(hours=2), timedelta(hours=2, minutes=5)
SURVEY_TEMPLATE = "nps_survey"  # the template whose links are the 0-10 scores
SCORE_OF_BAND = {"promoter": 10, "passive": 8, "detractor": 3}


class _EngagingStore(MemoryStore):
    """Customers open and click sent messages at the assumed rates, deterministically per message;
    a click on the survey answers it, and the answers wait in `answers` for their time."""

    def __init__(self, assumptions: Assumptions):
        super().__init__()
        self._assumptions = assumptions
        self.answers: list[tuple[datetime, str, InboundEvent]] = []  # a heap by time

    def save_message(self, message: MessageRecord) -> None:
        rates = self._assumptions
        # One draw for both: below the click rate the customer clicked, and a click implies an open.
        draw = _fraction("engagement", message.message_id)
        if message.status is MessageStatus.SENT and message.opened_at is None and draw < rates.open_rate:
            update = {"opened_at": message.at + OPENED_AFTER}
            if draw < rates.click_rate:
                update["clicked_at"] = message.at + CLICKED_AFTER
                if message.template == SURVEY_TEMPLATE:
                    self._answer(message, update["clicked_at"])
            message = message.model_copy(update=update)
        super().save_message(message)

    def _answer(self, survey: MessageRecord, at: datetime) -> None:
        rates, draw = self._assumptions, _fraction("score", survey.message_id)
        band = (
            "promoter"
            if draw < rates.promoter_share
            else "detractor"
            if draw < rates.promoter_share + rates.detractor_share
            else "passive"
        )
        answer = SurveyAnsweredV1(
            customer_id=survey.customer_id,
            score=SCORE_OF_BAND[band],
            answered_at=at,
            message_id=survey.message_id,
        )
        event = InboundEvent(
            event_id=f"answered-{survey.message_id}",
            source="backtest",
            detail_type=DetailType.SURVEY_ANSWERED,
            received_at=at,
            detail=answer,
        )
        heapq.heappush(self.answers, (at, event.event_id, event))


def _events(orders: list[OrderPlacedV1], assumptions: Assumptions) -> Iterator[InboundEvent]:
    """Orders as they arrive, and each one's fulfilment after the assumed delay, in time order."""
    queue: list[tuple[datetime, int, InboundEvent]] = []
    sequence = itertools.count()
    for order in sorted(orders, key=lambda o: o.placed_at):
        while queue and queue[0][0] <= order.placed_at:
            yield heapq.heappop(queue)[2]
        yield InboundEvent(
            event_id=f"placed-{order.order_id}",
            source="backtest",
            detail_type=DetailType.ORDER_PLACED,
            received_at=order.placed_at,
            detail=order,
        )
        fulfilled_at = order.placed_at + timedelta(days=assumptions.fulfilment_days)
        fulfilled = OrderFulfilledV1(
            order_id=order.order_id, customer_id=order.customer.id, fulfilled_at=fulfilled_at
        )
        heapq.heappush(
            queue,
            (
                fulfilled_at,
                next(sequence),
                InboundEvent(
                    event_id=f"fulfilled-{order.order_id}",
                    source="backtest",
                    detail_type=DetailType.ORDER_FULFILLED,
                    received_at=fulfilled_at,
                    detail=fulfilled,
                ),
            ),
        )
    while queue:
        yield heapq.heappop(queue)[2]


@dataclass
class _Tally:
    """What one partition of customers produced; partitions add up."""

    orders: int = 0
    customers: int = 0
    first: datetime | None = None
    last: datetime | None = None
    events: int = 0
    run_step_calls: int = 0
    register_wait_calls: int = 0
    transitions: Counter[str] = field(default_factory=Counter)  # per journey
    entries: Counter[str] = field(default_factory=Counter)
    conversions: Counter[str] = field(default_factory=Counter)
    volumes: Counter[tuple[str, str, str, str]] = field(
        default_factory=Counter
    )  # journey, step, channel, outcome
    weekly: Counter[tuple[str, int, int]] = field(
        default_factory=Counter
    )  # customer, year, week -> messages sent

    def __add__(self, other: _Tally) -> _Tally:
        firsts = [t for t in (self.first, other.first) if t]
        lasts = [t for t in (self.last, other.last) if t]
        return _Tally(
            orders=self.orders + other.orders,
            customers=self.customers + other.customers,
            first=min(firsts) if firsts else None,
            last=max(lasts) if lasts else None,
            events=self.events + other.events,
            run_step_calls=self.run_step_calls + other.run_step_calls,
            register_wait_calls=self.register_wait_calls + other.register_wait_calls,
            transitions=self.transitions + other.transitions,
            entries=self.entries + other.entries,
            conversions=self.conversions + other.conversions,
            volumes=self.volumes + other.volumes,
            weekly=self.weekly + other.weekly,
        )


def _prepared(orders: list[OrderPlacedV1], assumptions: Assumptions) -> list[OrderPlacedV1]:
    """The history says nothing of consent, address or timezone: the assumptions fill them in."""
    return [
        o.model_copy(
            update={
                "customer": o.customer.model_copy(
                    update={
                        "email": o.customer.email or f"{o.customer.id}@backtest.invalid",
                        "email_marketing": assumptions.consent,
                        "timezone": assumptions.timezone,
                    }
                )
            }
        )
        for o in orders
    ]


@contextmanager
def _paused_garbage_collector() -> Iterator[None]:
    """A replay keeps millions of records alive and makes few reference cycles: the collector's
    passes over them cost a fifth of the run and free next to nothing (make bench)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _replay(
    orders: list[OrderPlacedV1],
    journeys: dict[str, Journey],
    assumptions: Assumptions,
    progress: Callable[[int], None],
    every_hour: bool = False,
    archive: Path | None = None,
) -> _Tally:
    """One partition of customers through the real services, on the local engine."""
    with _paused_garbage_collector():
        return _replay_partition(orders, journeys, assumptions, progress, every_hour, archive=archive)


def _replay_partition(
    orders: list[OrderPlacedV1],
    journeys: dict[str, Journey],
    assumptions: Assumptions,
    progress: Callable[[int], None],
    every_hour: bool,
    keep: list[Any] | None = None,
    archive: Path | None = None,
    part: str = "part-0",
) -> _Tally:
    """`keep` takes what the replay built, for a process that will end without freeing it;
    `archive`, where to write what it stored for `postventa report` (as `part` of each table)."""
    store = _EngagingStore(assumptions)
    conversions: Counter[str] = Counter()

    def count_conversions(decision: Decision) -> None:
        if decision.kind == "converted" and decision.journey:
            conversions[decision.journey] += 1

    calls: Counter[str] = Counter()
    sender = CountingSender()
    runner = StepRunner(
        store=store,
        senders=dict.fromkeys(Channel, sender),
        rate_limiter=UnlimitedRate(),
        policy=assumptions.contact_policy,
        renderer=SubjectOnlyRenderer(),
        links=UnsignedLinks(),
        shop_name="Backtest",
        support_email="support@backtest.invalid",
        default_timezone=assumptions.timezone,
        clock=lambda: engine.now,
    )

    def invoke(function: str, payload: dict[str, Any]) -> Any:
        calls[function] += 1
        if function == RUN_STEP:
            return runner.run(StepRequest.model_validate(payload)).model_dump(mode="json")
        return registrar.register(WaitRequest.model_validate(payload)).model_dump(mode="json")

    engine = LocalStepFunctions(start=min(o.placed_at for o in orders), invoke=invoke)
    machines = {
        name: engine.create_state_machine(
            name=f"postventa-{name}",
            definition=json.dumps(
                compile_journey(journey, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)
            ),
        )["stateMachineArn"]
        for name, journey in journeys.items()
    }
    workflows = JourneyWorkflows(engine, machines)
    registrar = WaitRegistrar(store=store, workflows=workflows)
    service = OrderEventService(
        store=store,
        workflows=workflows,
        invalid_events=DiscardedEvents(),
        journeys=journeys,
        emit=count_conversions,
    )
    tally = _Tally(orders=len(orders), customers=len({o.customer.id for o in orders}))

    def publish(occasions: list[OccasionReachedV1]) -> None:
        for occasion in occasions:
            service.apply(
                InboundEvent(
                    event_id=f"{occasion.customer_id}-{occasion.occasion_id}",
                    source="backtest",
                    detail_type=DetailType.OCCASION_REACHED,
                    received_at=occasion.reached_at,
                    detail=occasion,
                )
            )
            tally.events += 1

    scheduler = OccasionScheduler(
        store=store, publish=publish, journeys=journeys, default_timezone=assumptions.timezone
    )
    uses_occasions = any(j.trigger.occasion is not None for j in journeys.values())
    thresholds = inactivity_thresholds(journeys.values())
    # Hourly runs, as the schedule does, from the first order until the last one's longest lapse.
    tick = min(o.placed_at for o in orders).replace(minute=0, second=0, microsecond=0) + HOUR
    last_tick = max(o.placed_at for o in orders) + timedelta(days=max(thresholds, default=0) + 1)

    def run_ticks_until(moment: datetime) -> None:
        # Every customer here lives in the assumed timezone: only the run in its 09:00 hour can fire,
        # the other 23 find nobody (tests/e2e/test_backtest.py checks against running them all).
        nonlocal tick
        while uses_occasions and tick <= min(moment, last_tick):
            if every_hour or in_firing_hour(tick, assumptions.timezone):
                engine.run_until(tick)
                scheduler.run(tick)
            tick += HOUR

    def advance(moment: datetime) -> None:
        """Hourly runs, the engine and survey answers, in time order, up to `moment`. An answer comes
        CLICKED_AFTER its survey was sent, so running ahead by no more than that at a time never
        passes an answer that has yet to arise."""
        while True:
            until = min(moment, engine.now + CLICKED_AFTER)
            if store.answers:
                until = min(until, store.answers[0][0])
            run_ticks_until(until)
            engine.run_until(until)
            while store.answers and store.answers[0][0] <= until:
                service.apply(heapq.heappop(store.answers)[2])
                tally.events += 1
            if until >= moment:
                return

    placed = 0
    for event in _events(orders, assumptions):
        advance(event.received_at)
        service.apply(event)
        tally.events += 1
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
    for execution in engine.executions.values():
        tally.entries[journey_of_machine[execution.state_machine_arn.rsplit(":", 1)[-1]]] += 1
    tally.conversions = conversions
    for customer in store.customers.values():
        for m in customer.messages.values():
            tally.volumes[(m.journey, m.step, m.channel, m.status.value)] += 1
            if m.status is MessageStatus.SENT:
                year, week, _ = m.at.isocalendar()
                tally.weekly[(m.customer_id, year, week)] += 1
    tally.run_step_calls, tally.register_wait_calls = calls[RUN_STEP], calls[REGISTER_WAIT]
    tally.first, tally.last = min(o.placed_at for o in orders), max(o.placed_at for o in orders)
    if archive is not None:
        _archive(store, archive, part)
    if keep is not None:
        keep.append((store, engine, service))
    return tally


def _archive(store: MemoryStore, root: Path, part: str) -> None:
    """The replay's orders, messages, split assignments and survey answers, as the stream archives them."""
    customers = list(store.customers.values())
    write_records(
        root,
        orders=store.orders.values(),
        messages=(m for c in customers for m in c.messages.values()),
        decisions=(d for c in customers for d in c.decisions),
        answers=(a for c in customers for a in c.nps.values()),
        part=part,
    )


PROGRESS_EVERY = 500
HOUR = timedelta(hours=1)
AFTERMATH = timedelta(days=800)  # longer than any journey lasts: as far as the engine's run_until_idle looks
_FORKED: dict[str, Any] = {}  # what forked workers inherit instead of unpickling


def _replay_forked(partition: int) -> _Tally:
    """A worker lives for one partition and ends without freeing anything: its collector stays off
    (turned back on, its first pass would walk millions of live records) and what the replay built
    is kept rather than freed object by object; together a few percent of the run."""
    gc.disable()
    inherited = _FORKED
    return _replay_partition(
        inherited["partitions"][partition],
        inherited["journeys"],
        inherited["assumptions"],
        inherited["progress"].put,
        every_hour=False,
        keep=inherited.setdefault("kept", []),
        archive=inherited["archive"],
        part=f"part-{partition}",
    )


def run_backtest(
    orders: list[OrderPlacedV1],
    journeys: dict[str, Journey],
    assumptions: Assumptions = Assumptions(),
    *,
    workers: int = 1,
    progress: Callable[[int], None] = lambda done: None,
    archive: Path | None = None,
) -> BacktestReport:
    """Customers never affect each other's journeys, so they are split across worker processes.
    archive: also write the analytics archive there (the input of `postventa report`)."""
    if not orders:
        raise BacktestInputError("the history has no orders")
    orders = _prepared(orders, assumptions)
    started = time.perf_counter()
    if workers <= 1:
        tally = _replay(orders, journeys, assumptions, progress, archive=archive)
    else:
        partitions: list[list[OrderPlacedV1]] = [[] for _ in range(workers)]
        for order in orders:
            partitions[int(_fraction("partition", order.customer.id) * workers)].append(order)
        context = multiprocessing.get_context("fork")
        queue = context.SimpleQueue()
        _FORKED.update(
            partitions=partitions, journeys=journeys, assumptions=assumptions, progress=queue, archive=archive
        )
        try:
            with context.Pool(workers) as pool:
                pending = pool.map_async(_replay_forked, [i for i, p in enumerate(partitions) if p])
                while not pending.ready() or not queue.empty():
                    while not queue.empty():
                        progress(queue.get())
                    pending.wait(0.1)
                tally = sum(pending.get(), _Tally())
        finally:
            _FORKED.clear()
    wall = time.perf_counter() - started
    report = _report(tally, journeys, assumptions)
    report.wall_seconds = round(wall, 2)
    report.orders_per_second = round(len(orders) / wall, 1)
    return report


def _report(tally: _Tally, journeys: dict[str, Journey], assumptions: Assumptions) -> BacktestReport:
    sent_by_journey: Counter[str] = Counter()
    held_by_journey: Counter[str] = Counter()
    for (journey, _, _, outcome), count in tally.volumes.items():
        if outcome == MessageStatus.SENT.value:
            sent_by_journey[journey] += count
        elif outcome == MessageStatus.SUPPRESSED.value:
            held_by_journey[journey] += count
    per_journey = {}
    for name in journeys:
        entered, sent = tally.entries[name], sent_by_journey[name]
        per_journey[name] = {
            "entries": entered,
            "conversions": tally.conversions[name],
            "conversion_rate": round(tally.conversions[name] / entered, 4) if entered else 0.0,
            "messages_sent": sent,
            "messages_suppressed": held_by_journey[name],
            "state_transitions": tally.transitions[name],
            "transitions_per_message_sent": round(tally.transitions[name] / sent, 2) if sent else None,
        }
    steps = [
        {"journey": j, "step": s, "channel": c, "outcome": o, "messages": n}
        for (j, s, c, o), n in sorted(tally.volumes.items())
    ]
    counts = sorted(tally.weekly.values())
    per_week = {
        "customer_weeks_with_mail": len(counts),
        "mean": round(statistics.fmean(counts), 3) if counts else 0.0,
        "p95": counts[int(0.95 * (len(counts) - 1))] if counts else 0,
        "max": counts[-1] if counts else 0,
    }
    sent_total = sum(sent_by_journey.values())
    tasks = tally.run_step_calls + tally.register_wait_calls
    invocations = tally.events + tasks
    transitions = sum(tally.transitions.values())
    cost = {
        "step_functions": transitions * PRICES["step_functions_per_transition"],
        "lambda": invocations
        * (PRICES["lambda_per_request"] + LAMBDA_GB_SECONDS * PRICES["lambda_per_gb_second_arm"]),
        "ses": sent_total * PRICES["ses_per_email"],
        "dynamodb": (tally.events * DYNAMODB_PER_EVENT["writes"] + tasks * DYNAMODB_PER_TASK["writes"])
        * PRICES["dynamodb_per_write_request"]
        + (tally.events * DYNAMODB_PER_EVENT["reads"] + tasks * DYNAMODB_PER_TASK["reads"])
        * PRICES["dynamodb_per_read_request"],
    }
    cost = {key: round(value, 4) for key, value in cost.items()}
    cost["total"] = round(sum(cost.values()), 4)
    cost["per_message_sent"] = round(cost["total"] / sent_total, 6) if sent_total else 0.0
    assert tally.first is not None and tally.last is not None
    return BacktestReport(
        orders=tally.orders,
        customers=tally.customers,
        period=(tally.first.date().isoformat(), tally.last.date().isoformat()),
        assumptions={
            **assumptions.__dict__,
            "consent": assumptions.consent.value,
            "prices": PRICES,
            "lambda_gb_seconds_per_invocation": LAMBDA_GB_SECONDS,
        },
        journeys=per_journey,
        steps=steps,
        messages_per_customer_week=per_week,
        cost_usd=cost,
    )


def format_report(report: BacktestReport) -> str:
    lines = [
        f"Backtest: {report.orders} orders from {report.customers} customers, {report.period[0]} to {report.period[1]}",
        f"  ({report.orders_per_second:,.0f} orders/s, {report.wall_seconds:.1f} s)",
        "",
        f"{'journey':<20} {'entries':>8} {'sent':>8} {'held':>8} {'conv.':>7} {'rate':>7} {'transitions/msg':>16}",
    ]
    for name, j in report.journeys.items():
        per = j["transitions_per_message_sent"]
        lines.append(
            f"{name:<20} {j['entries']:>8} {j['messages_sent']:>8} {j['messages_suppressed']:>8} "
            f"{j['conversions']:>7} {j['conversion_rate']:>7.1%} {per if per is not None else '-':>16}"
        )
    lines += ["", f"{'journey':<20} {'step':<28} {'channel':<8} {'outcome':<11} {'messages':>9}"]
    lines += [
        f"{s['journey']:<20} {s['step']:<28} {s['channel']:<8} {s['outcome']:<11} {s['messages']:>9}"
        for s in report.steps
    ]
    week = report.messages_per_customer_week
    lines += [
        "",
        f"Messages per customer per week (weeks with mail): mean {week['mean']}, p95 {week['p95']}, max {week['max']}",
    ]
    lines += [
        "",
        "Cost on AWS at published prices (USD): " + ", ".join(f"{k} {v}" for k, v in report.cost_usd.items()),
    ]
    assumed = {k: v for k, v in report.assumptions.items() if k != "prices"}
    lines += ["", "Assumed: " + ", ".join(f"{k}={v}" for k, v in assumed.items())]
    if report.refused_rows:
        lines += ["", f"{len(report.refused_rows)} rows refused:", *report.refused_rows[:20]]
    return "\n".join(lines)


def synthetic_history(
    orders: int, customers: int, months: int, seed: str = "postventa"
) -> list[OrderPlacedV1]:
    """A repeatable history for benchmarks: every customer orders once, some order again; half the
    customers gave a birthday, a fifth of the orders hold consumables, so every journey is reached."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    span = timedelta(days=30 * months)
    history = []
    for index in range(orders):
        customer = index if index < customers else int(_fraction(seed, "who", str(index)) * customers)
        placed_at = start + span * _fraction(seed, "when", str(index))
        amount = Decimal(20 + int(_fraction(seed, "total", str(index)) * 180))
        birthday_draw = _fraction(seed, "birthday", str(customer))
        birthday = (
            date(1990, 1, 1) + timedelta(days=int(birthday_draw * 2 * 365)) if birthday_draw < 0.5 else None
        )
        consumable = _fraction(seed, "consumable", str(index)) < 0.2
        history.append(
            OrderPlacedV1(
                order_id=f"o{index}",
                placed_at=placed_at,
                customer=CustomerV1(id=f"c{customer}", birthday=birthday),
                currency="USD",
                total=Money(amount=amount, currency="USD"),
                items=[
                    LineItemV1(
                        name="item",
                        quantity=1,
                        unit_price=Money(amount=amount, currency="USD"),
                        categories=["consumables"] if consumable else [],
                    )
                ],
            )
        )
    return history
