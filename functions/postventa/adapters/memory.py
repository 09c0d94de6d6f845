"""In-memory adapters behind the same ports as the AWS ones, for backtests at a scale moto cannot
serve (tests/integration/test_store_contract.py holds both stores to one contract).

They keep the adapters' contracts (a claimed entry or message is claimed once, messages come
back oldest first, waits are found by order and event) without serializing anything.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from postventa.adapters.store import ANY_ORDER
from postventa.logic.render import RenderedMessage
from postventa.logic.send_time import counted
from postventa.models.events import Channel
from postventa.models.records import (
    ContactLedger,
    CustomerProfile,
    DecidedWinner,
    EarlyEvent,
    InboxCard,
    JourneyControl,
    JourneyEntry,
    MessageRecord,
    MessageStatus,
    NpsAnswer,
    OrderOutcome,
    OrderRecord,
    PendingWait,
    SeenEvent,
    StepDecision,
)


@dataclass
class _Customer:
    profile: CustomerProfile | None = None
    entries: dict[tuple[str, str], JourneyEntry] = field(default_factory=dict)
    messages: dict[str, MessageRecord] = field(default_factory=dict)
    decisions: dict[tuple[str, str], StepDecision] = field(default_factory=dict)  # by execution, step
    nps: dict[str, NpsAnswer] = field(default_factory=dict)  # by survey message (or time)
    waits: dict[tuple[str, str, str, str], PendingWait] = field(default_factory=dict)
    seen: dict[tuple[str, str], SeenEvent] = field(default_factory=dict)  # by event and event id
    cards: dict[str, InboxCard] = field(default_factory=dict)  # the app inbox's, by message
    ledger: ContactLedger | None = None
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)  # executions retired, their entries kept as latest


@dataclass
class Retired:
    """Records no decision will read again, taken out of the store as they were last written."""

    orders: list[OrderRecord] = field(default_factory=list)
    messages: list[MessageRecord] = field(default_factory=list)
    decisions: list[StepDecision] = field(default_factory=list)
    answers: list[NpsAnswer] = field(default_factory=list)


class CustomerShelf:
    """Every customer's records, those untouched for a while kept on disk (pickled, in a temporary
    SQLite file this process alone reads) and brought back when touched: with what `retire` lets
    go, a backtest's memory follows the customers in flight rather than the history."""

    def __init__(self) -> None:
        self._live: dict[str, _Customer] = {}
        self._touched: dict[str, int] = {}  # customer -> generation of its last touch
        self._generation = 0
        self._disk: sqlite3.Connection | None = None
        self._on_disk: set[str] = set()

    def __getitem__(self, customer_id: str) -> _Customer:
        self._touched[customer_id] = self._generation
        customer = self._live.get(customer_id)
        if customer is None:
            customer = self._load(customer_id) if customer_id in self._on_disk else _Customer()
            self._live[customer_id] = customer
        return customer

    def get(self, customer_id: str) -> _Customer | None:
        """The customer's records if any are kept, without starting new ones."""
        return self[customer_id] if customer_id in self._live or customer_id in self._on_disk else None

    @property
    def in_memory(self) -> int:
        return len(self._live)

    def pop(self, customer_id: str) -> None:
        if self.get(customer_id) is not None:
            del self._live[customer_id], self._touched[customer_id]

    def values(self) -> Iterator[_Customer]:
        """Every customer, those on disk read one at a time and not kept in memory."""
        yield from list(self._live.values())
        if self._disk is not None:
            for (blob,) in self._disk.execute("SELECT record FROM customers"):
                yield pickle.loads(blob)

    def put_away_idle(self, generations: int) -> None:
        """Ends a generation: customers untouched for `generations` of them go to disk."""
        idle = [c for c, touched in self._touched.items() if touched <= self._generation - generations]
        if idle:
            self._open().executemany(
                "INSERT INTO customers VALUES (?, ?)",
                ((c, pickle.dumps(self._live.pop(c), pickle.HIGHEST_PROTOCOL)) for c in idle),
            )
            for customer_id in idle:
                del self._touched[customer_id]
            self._on_disk.update(idle)
        self._generation += 1

    def _load(self, customer_id: str) -> _Customer:
        assert self._disk is not None
        (blob,) = self._disk.execute(
            "DELETE FROM customers WHERE id = ? RETURNING record", (customer_id,)
        ).fetchone()
        self._on_disk.discard(customer_id)
        return pickle.loads(blob)  # type: ignore[no-any-return]

    def _open(self) -> sqlite3.Connection:
        if self._disk is None:
            folder = Path(tempfile.mkdtemp(prefix="postventa-shelf-"))
            self._disk = sqlite3.connect(folder / "customers.sqlite", isolation_level=None)
            self._disk.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                " CREATE TABLE customers (id TEXT PRIMARY KEY, record BLOB) WITHOUT ROWID;"
            )
            # Unlinked at once: the open connection keeps the file until the process ends.
            (folder / "customers.sqlite").unlink()
            folder.rmdir()
        return self._disk


class MemoryStore:
    def __init__(self) -> None:
        self.customers = CustomerShelf()
        self._open_hours: list[int] = []  # the shop's, by local hour
        self._order_customers: dict[str, str] = {}  # order -> customer
        self.early: defaultdict[str, dict[str, EarlyEvent]] = defaultdict(dict)  # order -> event id -> event
        self.phones: dict[str, str] = {}
        self.calendar_entries: defaultdict[str, dict[str, str]] = defaultdict(
            dict
        )  # key -> customer -> timezone
        self.winners: dict[str, DecidedWinner] = {}  # by experiment
        self.controls: dict[str, JourneyControl] = {}  # by journey
        self.seed_copies: set[tuple[str, str, str, date]] = set()

    def get_profile(self, customer_id: str) -> CustomerProfile | None:
        return self.customers[customer_id].profile

    def save_profile(self, profile: CustomerProfile, read: CustomerProfile | None) -> CustomerProfile | None:
        stored = self.customers[profile.customer_id].profile
        if (stored.version if stored else None) != (read.version if read else None):
            return None
        written = profile.model_copy(update={"version": (read.version if read else 0) + 1})
        self.customers[profile.customer_id].profile = written
        return written

    def place_order(
        self, order: OrderRecord, profile: CustomerProfile, read: CustomerProfile | None
    ) -> CustomerProfile | OrderOutcome:
        if order.order_id in self._order_customers:
            return OrderOutcome.KNOWN
        written = self.save_profile(profile, read)
        if written is None:
            return OrderOutcome.PROFILE_CHANGED
        self.put_order(order)
        return written

    def link_phone(self, phone: str, customer_id: str) -> None:
        self.phones[phone] = customer_id

    def customer_by_phone(self, phone: str) -> str | None:
        return self.phones.get(phone)

    def calendar(self, key: str) -> list[tuple[str, str]]:
        return sorted(self.calendar_entries[key].items())

    def move_calendar(self, customer_id: str, timezone: str, removed: set[str], added: set[str]) -> None:
        for key in removed:
            self.calendar_entries[key].pop(customer_id, None)
        for key in added:
            self.calendar_entries[key][customer_id] = timezone

    def unlink_phone(self, phone: str, customer_id: str) -> None:
        if self.phones.get(phone) == customer_id:
            del self.phones[phone]

    def orders_of(self, customer_id: str) -> list[OrderRecord]:
        return list(self.customers[customer_id].orders.values())

    def answers_of(self, customer_id: str) -> list[NpsAnswer]:
        return list(self.customers[customer_id].nps.values())

    def keys_of(self, customer_id: str) -> list[dict[str, str]]:
        """One key per customer and per order: each stands for all that is kept under it."""
        orders = [{"pk": f"ORDER#{order.order_id}", "sk": "*"} for order in self.orders_of(customer_id)]
        return [{"pk": f"CUSTOMER#{customer_id}", "sk": "*"}, *orders]

    def delete(self, keys: list[dict[str, str]]) -> None:
        for key in keys:
            kind, _, name = key["pk"].partition("#")
            if kind == "CUSTOMER":
                self.customers.pop(name)
            else:
                customer = self.customers.get(self._order_customers.pop(name, ""))
                if customer is not None:
                    customer.orders.pop(name, None)
                self.early.pop(name, None)

    def get_order(self, order_id: str) -> OrderRecord | None:
        customer = self.customers.get(self._order_customers.get(order_id, ""))
        return None if customer is None else customer.orders.get(order_id)

    def put_order(self, order: OrderRecord) -> None:
        self._order_customers[order.order_id] = order.customer_id
        self.customers[order.customer_id].orders[order.order_id] = order

    def keep_early(self, early: EarlyEvent) -> None:
        self.early[early.order_id][early.event.event_id] = early

    def early_events(self, order_id: str) -> list[EarlyEvent]:
        return sorted(self.early.get(order_id, {}).values(), key=lambda early: early.event.received_at)

    def forget_early(self, early: EarlyEvent) -> None:
        self.early.get(early.order_id, {}).pop(early.event.event_id, None)

    def claim_entry(self, entry: JourneyEntry) -> bool:
        entries = self.customers[entry.customer_id].entries
        existing = entries.get((entry.journey, entry.trigger_id))
        if existing is not None and existing.execution_arn is not None:
            return False
        entries[(entry.journey, entry.trigger_id)] = entry
        return True

    def save_entry(self, entry: JourneyEntry) -> None:
        self.customers[entry.customer_id].entries[(entry.journey, entry.trigger_id)] = entry

    def entries_of(self, customer_id: str) -> list[JourneyEntry]:
        return list(self.customers[customer_id].entries.values())

    def claim_message(self, message: MessageRecord) -> MessageRecord | None:
        messages = self.customers[message.customer_id].messages
        known = messages.get(message.message_id)
        if known is not None and known.status is not MessageStatus.DEFERRED:
            return known
        messages.pop(message.message_id, None)  # a deferred message moves to its new time
        messages[message.message_id] = message
        return None

    def save_message(self, message: MessageRecord) -> None:
        self.customers[message.customer_id].messages[message.message_id] = message

    def reclaim_message(self, message: MessageRecord, claimed_at: datetime) -> bool:
        messages = self.customers[message.customer_id].messages
        known = messages.get(message.message_id)
        if known is None or known.status is not MessageStatus.SENDING or known.claimed_at != claimed_at:
            return False
        messages[message.message_id] = message
        return True

    def hand_over(self, message: MessageRecord, channel: str, at: datetime) -> bool:
        messages = self.customers[message.customer_id].messages
        known = messages.get(message.message_id)
        if (
            known is None
            or known.status is not MessageStatus.SENDING
            or known.claimed_at != message.claimed_at
        ):
            return False
        messages[message.message_id] = known.model_copy(update={"handed_over_at": at, "channel": channel})
        return True

    def drop_deferred(self, message: MessageRecord, reason: str) -> bool:
        messages = self.customers[message.customer_id].messages
        known = messages.get(message.message_id)
        if known is None or known.status is not MessageStatus.DEFERRED:
            return False
        messages[message.message_id] = known.model_copy(
            update={"status": MessageStatus.SUPPRESSED, "reason": reason}
        )
        return True

    def confirm_sent(self, customer_id: str, message_id: str, provider_message_id: str) -> bool:
        messages = self.customers[customer_id].messages
        known = messages.get(message_id)
        if known is None or known.status is not MessageStatus.SENDING:
            return False
        messages[message_id] = known.model_copy(
            update={"status": MessageStatus.SENT, "provider_message_id": provider_message_id}
        )
        return True

    def release_message(self, message: MessageRecord) -> None:
        messages = self.customers[message.customer_id].messages
        known = messages.get(message.message_id)
        if (
            known is not None
            and known.status is MessageStatus.SENDING
            and known.claimed_at == message.claimed_at
        ):
            messages.pop(message.message_id, None)

    def text_by_provider_id(self, provider_id: str) -> MessageRecord | None:
        return next(
            (
                message
                for customer in self.customers.values()
                for message in customer.messages.values()
                if message.provider_message_id == provider_id and message.channel == Channel.SMS.value
            ),
            None,
        )

    def get_message(self, customer_id: str, message_id: str) -> MessageRecord | None:
        return self.customers[customer_id].messages.get(message_id)

    def count_open_hour(self, hour: int) -> None:
        self._open_hours = counted(self._open_hours, hour)

    def shop_open_hours(self) -> list[int]:
        return list(self._open_hours)

    def put_card(self, card: InboxCard) -> bool:
        return self.customers[card.customer_id].cards.setdefault(card.message_id, card) is card

    def cards_of(self, customer_id: str) -> list[InboxCard]:
        return list(self.customers[customer_id].cards.values())

    def mark_read(self, customer_id: str, message_id: str, at: datetime) -> bool:
        cards = self.customers[customer_id].cards
        card = cards.get(message_id)
        if card is None or card.read_at is not None:
            return False
        cards[message_id] = card.model_copy(update={"read_at": at})
        return True

    def messages_of(self, customer_id: str) -> list[MessageRecord]:
        # Oldest first; nearly always in that order already, which sorting finds in one pass.
        return sorted(self.customers[customer_id].messages.values(), key=lambda message: message.at)

    def contact_ledger(self, customer_id: str) -> ContactLedger:
        return self.customers[customer_id].ledger or ContactLedger(customer_id=customer_id)

    def save_contact_ledger(self, ledger: ContactLedger) -> bool:
        customer = self.customers[ledger.customer_id]
        if (customer.ledger.version if customer.ledger else 0) != ledger.version - 1:
            return False
        customer.ledger = ledger
        return True

    def save_decision(self, decision: StepDecision) -> None:
        self.customers[decision.customer_id].decisions[(decision.execution_id, decision.step)] = decision

    def claim_decision(self, decision: StepDecision) -> StepDecision | None:
        decisions = self.customers[decision.customer_id].decisions
        key = (decision.execution_id, decision.step)
        if key in decisions:
            return decisions[key]
        decisions[key] = decision
        return None

    def release_decision(self, decision: StepDecision) -> None:
        decisions = self.customers[decision.customer_id].decisions
        key = (decision.execution_id, decision.step)
        if key in decisions and decisions[key].outcome == decision.outcome:
            del decisions[key]

    def decisions_of(self, customer_id: str) -> list[StepDecision]:
        return list(self.customers[customer_id].decisions.values())

    def decided_winner(self, experiment: str) -> DecidedWinner | None:
        return self.winners.get(experiment)

    def record_winner(self, decided: DecidedWinner) -> None:
        self.winners.setdefault(decided.experiment, decided)  # the first decision stands

    def forget_winner(self, experiment: str) -> bool:
        return self.winners.pop(experiment, None) is not None

    def claim_seed_copy(self, journey: str, step: str, channel: str, day: date) -> bool:
        key = (journey, step, channel, day)
        claimed = key not in self.seed_copies
        self.seed_copies.add(key)
        return claimed

    def journey_control(self, journey: str) -> JourneyControl | None:
        return self.controls.get(journey)

    def save_journey_control(self, control: JourneyControl) -> None:
        self.controls[control.journey] = control

    def save_nps(self, answer: NpsAnswer) -> None:
        answers = self.customers[answer.customer_id].nps
        key = answer.message_id or answer.at.isoformat()
        if key not in answers or answers[key].at < answer.at:
            answers[key] = answer

    def latest_nps(self, customer_id: str) -> NpsAnswer | None:
        return max(self.customers[customer_id].nps.values(), key=lambda answer: answer.at, default=None)

    def put_wait(self, wait: PendingWait) -> None:
        key = (wait.order_id or ANY_ORDER, wait.event, wait.execution_id, wait.step)
        self.customers[wait.customer_id].waits[key] = wait

    def delete_wait(self, wait: PendingWait) -> None:
        key = (wait.order_id or ANY_ORDER, wait.event, wait.execution_id, wait.step)
        self.customers[wait.customer_id].waits.pop(key, None)

    def waits_for(self, customer_id: str, order_id: str | None, event: str) -> list[PendingWait]:
        orders = {ANY_ORDER, order_id or ANY_ORDER}
        return [
            w for key, w in self.customers[customer_id].waits.items() if key[0] in orders and key[1] == event
        ]

    def note_event(self, seen: SeenEvent) -> None:
        self.customers[seen.customer_id].seen[(seen.event, seen.event_id)] = seen

    def seen_since(self, customer_id: str, event: str, since: datetime) -> list[SeenEvent]:
        return [s for s in self.customers[customer_id].seen.values() if s.event == event and s.at >= since]

    def retire(self, customer_id: str, execution_arn: str, placed_before: datetime) -> Retired:
        """What an ended execution leaves that no decision reads again (a backtest's memory then
        follows what is in flight, not the history): its messages and decisions (reads are of
        running executions' messages; opens and clicks arrive before the caller retires them);
        its entry once the journey's latest is another (re-entry spacing reads that one); orders placed
        before `placed_before` no kept entry points to (only their own journeys read an order by
        id); survey answers but the latest (the one facts read)."""
        customer = self.customers.get(customer_id)
        if customer is None:  # erased meanwhile
            return Retired()
        retired = Retired(
            messages=_take(customer.messages, lambda m: m.execution_id == execution_arn),
            decisions=_take(customer.decisions, lambda d: d.execution_id == execution_arn),
        )
        customer.settled.add(execution_arn)
        latest: dict[str, JourneyEntry] = {}
        for entry in customer.entries.values():
            if entry.journey not in latest or entry.entered_at > latest[entry.journey].entered_at:
                latest[entry.journey] = entry
        for entry in _take(
            customer.entries,
            lambda e: e.execution_arn in customer.settled and e is not latest[e.journey],
        ):
            customer.settled.discard(entry.execution_arn or "")
        pointed_to = {e.order_id for e in customer.entries.values()}
        retired.orders = _take(
            customer.orders, lambda o: o.placed_at < placed_before and o.order_id not in pointed_to
        )
        for order in retired.orders:
            del self._order_customers[order.order_id]
        answer = self.latest_nps(customer_id)
        retired.answers = _take(customer.nps, lambda a: a is not answer)
        return retired


def _take(records: dict[Any, Any], retire: Callable[[Any], bool]) -> list[Any]:
    keys = [key for key, record in records.items() if retire(record)]
    return [records.pop(key) for key in keys]


class CountingSender:
    """Accepts every message and counts them (the backtest's customers react as well: backtest/engagement.py)."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, *, to: Any, message: RenderedMessage, tags: dict[str, str]) -> str:
        self.sent += 1
        return f"memory-{self.sent}"


class MemoryRateLimiter:
    """The sending quota as DynamoRateLimiter keeps it (sends per channel and second, a queue of
    the seconds to come), for one process whose clock only moves forward; counts the sends refused.
    A rate may be a fraction (a backtest partition's share of the account's): 14/50 a second is
    14 sends in each 50-second window, as many as the account's 14 a second over its 50 partitions."""

    def __init__(self, per_second: Mapping[Channel, int | Fraction], clock: Callable[[], datetime]):
        # Each channel's rate as sends per window of whole seconds.
        self._quota = {channel: Fraction(rate) for channel, rate in per_second.items()}
        self._clock = clock
        self._sends: Counter[tuple[Channel, int]] = Counter()  # by channel and window
        self._next_ticket: dict[tuple[Channel, bool], int] = {}  # by channel and lane, as DynamoRateLimiter
        self._now = 0
        self.refused = 0

    def acquire(self, channel: Channel) -> bool:
        rate = self._quota.get(channel)
        if rate is None:
            return True
        window = self._window(rate)
        if self._sends[(channel, window)] >= rate.numerator:
            self.refused += 1
            return False
        self._sends[(channel, window)] += 1
        return True

    def reserve(self, channel: Channel, *, transactional: bool = True) -> datetime:
        rate = self._quota[channel]
        first = (self._window(rate) + 1) * rate.numerator
        if not transactional:
            first = max(first, self._next_ticket.get((channel, True), 0))
        ticket = max(self._next_ticket.get((channel, transactional), 0), first)
        self._next_ticket[(channel, transactional)] = ticket + 1
        window = ticket // rate.numerator
        if transactional:
            self._sends[(channel, window)] += 1
        return datetime.fromtimestamp(window * rate.denominator, UTC)

    def _window(self, rate: Fraction) -> int:
        second = int(self._clock().timestamp())
        if second != self._now:  # windows gone by count for nothing any more
            self._now = second
            self._sends = Counter(
                {
                    key: n
                    for key, n in self._sends.items()
                    if key[1] >= second // self._quota[key[0]].denominator
                }
            )
        return second // rate.denominator


class SubjectOnlyRenderer:
    """Backtests need the decision, not the HTML: the template's name stands in for the subject
    (the backtest's customers read it to know a survey when they see one)."""

    def render(
        self, channel: Channel, template: str, locale: str | None, context: Callable[[], dict[str, Any]]
    ) -> RenderedMessage:
        return RenderedMessage(subject=template, text="")


class UnsignedLinks:
    def link(self, action: str, **claims: Any) -> str:
        return action


class DiscardedEvents:
    def __init__(self) -> None:
        self.refused: list[str] = []

    def send(self, body: str, reason: str) -> None:
        self.refused.append(reason)
