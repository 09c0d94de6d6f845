"""In-memory adapters behind the same ports as the AWS ones, for backtests at a scale moto cannot
serve (tests/integration/test_store_contract.py holds both stores to one contract).

They keep the adapters' contracts (a claimed entry or message is claimed once, messages come
back oldest first, waits are found by order and event) without serializing anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from postventa.adapters.store import ANY_ORDER
from postventa.logic.render import RenderedMessage
from postventa.models.events import Channel
from postventa.models.records import (
    ContactLedger,
    CustomerProfile,
    EarlyEvent,
    JourneyEntry,
    MessageRecord,
    MessageStatus,
    NpsAnswer,
    OrderOutcome,
    OrderRecord,
    PendingWait,
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
    ledger: ContactLedger | None = None


class MemoryStore:
    def __init__(self) -> None:
        self.customers: defaultdict[str, _Customer] = defaultdict(_Customer)
        self.orders: dict[str, OrderRecord] = {}
        self.early: defaultdict[str, dict[str, EarlyEvent]] = defaultdict(dict)  # order -> event id -> event
        self.phones: dict[str, str] = {}
        self.calendar_entries: defaultdict[str, dict[str, str]] = defaultdict(
            dict
        )  # key -> customer -> timezone

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
        if order.order_id in self.orders:
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
        return [order for order in self.orders.values() if order.customer_id == customer_id]

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
                self.customers.pop(name, None)
            else:
                self.orders.pop(name, None)
                self.early.pop(name, None)

    def get_order(self, order_id: str) -> OrderRecord | None:
        return self.orders.get(order_id)

    def put_order(self, order: OrderRecord) -> None:
        self.orders[order.order_id] = order

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

    def get_message(self, customer_id: str, message_id: str) -> MessageRecord | None:
        return self.customers[customer_id].messages.get(message_id)

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

    def decisions_of(self, customer_id: str) -> list[StepDecision]:
        return list(self.customers[customer_id].decisions.values())

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


class CountingSender:
    """Accepts every message and counts them (the backtest's customers react as well: backtest/engagement.py)."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, *, to: Any, message: RenderedMessage, tags: dict[str, str]) -> str:
        self.sent += 1
        return f"memory-{self.sent}"


class MemoryRateLimiter:
    """The sending quota as DynamoRateLimiter keeps it (sends per channel and second, a queue of
    the seconds to come), for one process whose clock only moves forward; counts the sends refused."""

    def __init__(self, per_second: Mapping[Channel, int], clock: Callable[[], datetime]):
        self._per_second = per_second
        self._clock = clock
        self._sends: Counter[tuple[Channel, int]] = Counter()
        self._next_ticket: dict[Channel, int] = {}  # as DynamoRateLimiter.reserve counts them
        self._now = 0
        self.refused = 0

    def acquire(self, channel: Channel) -> bool:
        limit = self._per_second.get(channel)
        if limit is None:
            return True
        second = self._second()
        if self._sends[(channel, second)] >= limit:
            self.refused += 1
            return False
        self._sends[(channel, second)] += 1
        return True

    def reserve(self, channel: Channel) -> datetime:
        limit = self._per_second[channel]
        ticket = max(self._next_ticket.get(channel, 0), (self._second() + 1) * limit)
        self._next_ticket[channel] = ticket + 1
        second = ticket // limit
        self._sends[(channel, second)] += 1
        return datetime.fromtimestamp(second, UTC)

    def _second(self) -> int:
        second = int(self._clock().timestamp())
        if second != self._now:  # seconds gone by count for nothing any more
            self._now = second
            self._sends = Counter({key: n for key, n in self._sends.items() if key[1] >= second})
        return second


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
