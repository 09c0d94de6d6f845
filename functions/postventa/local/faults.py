"""Faults injected into a local run at the AWS calls the handlers make, from a seeded schedule.

Each handler invocation draws, with probability `rate`, one fault placed at one of its first
calls: a throttle, a 5xx, a connection that never opened, an answer lost after the service acted
(a read timeout), or the invocation dying (a Lambda timeout) before or after a call. The faults
are injected through botocore's own event hooks, so every adapter meets them as it would meet
AWS's. Calls that reach a provider (SES, SNS, Pinpoint) are counted per message, which is what
the invariants are checked on: no message handed over twice.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from postventa.logic.sms import refused_by_carrier
from postventa.models.records import CustomerProfile, MessageRecord

FAULT_KINDS = ("throttled", "server_error", "connection", "lost_answer", "crash_before", "crash_after")
FIRST_CALLS = 10  # a fault lands on one of an invocation's first calls
_ENDPOINT = "https://local.invalid"
_PROVIDER_SENDS = {("sesv2", "SendEmail"), ("sns", "Publish"), ("pinpoint", "SendMessages")}
_ERRORS = {
    "throttled": (400, "ThrottlingException", "Rate exceeded"),
    "server_error": (500, "InternalFailure", "We encountered an internal error. Please try again."),
    # Only where a test places them: what a concurrent writer or a paused account answers.
    "conditional_failed": (400, "ConditionalCheckFailedException", "The conditional request failed"),
    "sending_paused": (400, "SendingPausedException", "Email sending is disabled for this account"),
}


@dataclass
class PlacedFault:
    """A fault at a chosen call: each of the first `times` calls of `operation` ("sesv2.SendEmail",
    "dynamodb.PutItem") whose parameters satisfy `where`, made inside a handler invocation."""

    operation: str
    kind: str
    where: Callable[[dict[str, Any]], bool] = lambda params: True
    times: int = 1


class InvocationCrashed(BaseException):
    """The invocation died (timed out, ran out of memory): no handler code sees it, the platform does.

    A BaseException, so no `except Exception` in the code under test can swallow it."""

    platform_error = "Sandbox.Timedout"


@dataclass
class FaultInjector:
    rate: float
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    handed_over: Counter[str] = field(default_factory=Counter)  # provider requests per message key
    invocations: int = 0
    # Told of every message a provider took, before any fault is raised: what the provider does
    # next (SES publishing its Send event) happens whether or not its answer is lost.
    on_accepted: list[Callable[[dict[str, Any], dict[str, Any]], None]] = field(default_factory=list)
    placed: list[PlacedFault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # the handlers' AWS calls, by operation

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._planned: tuple[int, str] | None = None
        self._calls = 0
        self._active = False

    def install(self) -> None:
        """Hooks every client made after this on boto3's default session (moto included)."""
        events = default_events()
        events.register("before-parameter-build.*.*", self._name_message, unique_id="postventa-faults-name")
        events.register("before-call.*.*", self._before_call, unique_id="postventa-faults-before")
        events.register("after-call.*.*", self._after_call, unique_id="postventa-faults-after")

    def uninstall(self) -> None:
        events = default_events()
        events.unregister("before-parameter-build.*.*", unique_id="postventa-faults-name")
        events.unregister("before-call.*.*", unique_id="postventa-faults-before")
        events.unregister("after-call.*.*", unique_id="postventa-faults-after")

    @contextmanager
    def invocation(self) -> Iterator[None]:
        """One handler invocation: maybe one fault, at one of its first calls. Invocations may
        nest (a Step Functions task run inside on_order's StartExecution): each keeps its own."""
        outer = (self._planned, self._calls, self._active)
        self.invocations += 1
        self._calls = 0
        self._planned = None
        if self.rate and self._random.random() < self.rate:
            self._planned = (self._random.randrange(FIRST_CALLS), self._random.choice(FAULT_KINDS))
        self._active = True
        try:
            yield
        finally:
            self._planned, self._calls, self._active = outer

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    @staticmethod
    def _name_message(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """Which message a provider request carries: the message tag Postventa puts on every
        email and push; an SMS carries none, so its number and text stand for it."""
        operation = (model.service_model.service_id.hyphenize(), model.name)
        card = _inbox_card(params) if operation == ("dynamodb", "PutItem") else None
        if operation not in _PROVIDER_SENDS and card is None:
            return
        context["postventa_request"] = params  # as handed over: what an outbox writes
        context["postventa_operation"] = "PutInboxCard" if card else model.name
        if card:  # the app inbox's provider is the table: a card written is a message handed over
            context["postventa_message"] = card
            return
        tags = {tag["Name"]: tag["Value"] for tag in params.get("EmailTags", [])}
        if "EmailTags" in params:
            context["postventa_email_tags"] = tags
        push = params.get("MessageRequest", {}).get("Context", {})
        context["postventa_message"] = (
            tags.get("message")
            or push.get("message")
            or f"{params.get('PhoneNumber')}|{params.get('Message')}"
        )

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        if not self._active:
            return None
        operation = f"{model.service_model.service_id.hyphenize()}.{model.name}"
        self.calls[operation] += 1
        kind = self._placed_fault(operation, params)
        index, self._calls = self._calls, self._calls + 1
        if kind is None and self._planned is not None and self._planned[0] == index:
            kind = self._planned[1]
        if kind is None:
            return None
        self.injected[kind] += 1
        if kind in _ERRORS:
            status, code, message = _ERRORS[kind]
            context["postventa_fault"] = True  # never reached the service
            response = AWSResponse(_ENDPOINT, status, {}, None)
            parsed = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return response, parsed
        if kind == "connection":
            raise EndpointConnectionError(endpoint_url=_ENDPOINT)
        if kind == "crash_before":
            raise InvocationCrashed()
        context["postventa_after"] = kind  # lost_answer, crash_after: once the service has acted
        return None

    def _placed_fault(self, operation: str, params: dict[str, Any]) -> str | None:
        for placed in self.placed:
            if placed.times and placed.operation == operation and placed.where(params):
                placed.times -= 1
                return placed.kind
        return None

    def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("postventa_fault"):
            return
        if "postventa_message" in context and "Error" not in parsed:
            self.handed_over[context["postventa_message"]] += 1
            for observer in self.on_accepted:
                observer(context, parsed)
        kind = context.pop("postventa_after", None)
        if kind == "lost_answer":
            raise ReadTimeoutError(endpoint_url=_ENDPOINT)
        if kind == "crash_after":
            raise InvocationCrashed()


def _inbox_card(params: dict[str, Any]) -> str | None:
    """The message id of the app inbox card a PutItem writes (typed or not yet), if it writes one."""
    sk = params.get("Item", {}).get("sk")
    sk = sk.get("S") if isinstance(sk, dict) else sk
    return sk.removeprefix("INBOX#") if isinstance(sk, str) and sk.startswith("INBOX#") else None


def default_events() -> Any:
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION._session.get_component("event_emitter")  # type: ignore[union-attr]


def platform_error(name: str) -> Exception:
    """An error whose type name is what Step Functions reports for a dead invocation."""
    return type(name, (RuntimeError,), {})(f"{name}: the invocation ended before it returned")


DELIVERY_FAULTS = ("duplicate_delivery", "late_delivery", "resent_under_new_id")
_TERMINAL = {"sent", "suppressed", "failed"}


def delivery_schedule(
    events: list[dict[str, Any]], faults: FaultInjector
) -> list[tuple[datetime, dict[str, Any]]]:
    """When each event reaches the queue: at its time, or, for a share `rate` of them, also a
    minute later (EventBridge's at-least-once), two hours late (out of order), or again five
    minutes later under a new id (a storefront's retry of a publish that had worked)."""
    draw = random.Random(faults.seed + 1)
    schedule: list[tuple[datetime, int, dict[str, Any]]] = []
    for index, event in enumerate(events):
        at = _time_of(event)
        kind = draw.choice(DELIVERY_FAULTS) if faults.rate and draw.random() < faults.rate else None
        if kind is not None:
            faults.injected[kind] += 1
        if kind == "late_delivery":
            at += timedelta(hours=2)
        schedule.append((at, index, event))
        if kind == "duplicate_delivery":
            schedule.append((at + timedelta(minutes=1), index, event))
        elif kind == "resent_under_new_id":
            schedule.append((at + timedelta(minutes=5), index, {**event, "id": f"{event.get('id')}-resent"}))
    return [(at, event) for at, _, event in sorted(schedule, key=lambda item: (item[0], item[1]))]


# What makes one customer's history their own: renamed in each copy of a scaled history.
_RENAMED_FIELDS = frozenset({"id", "order_id", "customer_id", "case_id", "email", "phone"})


def scaled_history(events: list[dict[str, Any]], copies: int) -> list[dict[str, Any]]:
    """`copies` histories like `events`, at the same times, each with its own customers, orders,
    cases, event ids, addresses and numbers: a larger history with the same shapes."""
    return [_renamed(event, copy) for copy in range(copies) for event in events]


def _renamed(node: Any, copy: int, key: str | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _renamed(v, copy, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(v, copy, key) for v in node]
    if copy == 0 or key not in _RENAMED_FIELDS or node is None or isinstance(node, bool):
        return node
    if isinstance(node, int):
        return node + copy * 1_000_000  # Shopify's integer ids stay integers, and distinct
    if key == "email" and "@" in node:
        local, domain = node.split("@", 1)
        return f"{local}+{copy}@{domain}"
    if key == "phone":
        return f"{node[:-2]}{copy % 100:02d}"
    return f"{node}-{copy}"


def _time_of(event: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def consent_of(profile: CustomerProfile) -> dict[str, Any]:
    """What the customer said about being contacted, as the guarantee compares it. A carrier's
    refusal of the number is not theirs: it is learnt from a text that reached the carrier, and
    under faults a text handed over without an answer is never sent again (so never refused)."""
    return {
        "email_marketing": profile.email_marketing.value,
        "sms_marketing": profile.sms_marketing.value,
        "sms_transactional": profile.sms_transactional.value,
        "push_marketing": profile.push_marketing.value,
        "channels": [c.value for c in profile.channels] if profile.channels is not None else None,
        "topics_unsubscribed": sorted(profile.topics_unsubscribed),
        "sms_opted_out": profile.sms_opted_out is not None and not refused_by_carrier(profile.sms_opted_out),
        "email_suppressed": profile.email_suppressed is not None,
    }


@dataclass(frozen=True)
class FinalState:
    messages: list[MessageRecord]
    consent: dict[str, dict[str, Any]]
    orders_counted: dict[str, int]
    orders_stored: dict[str, int]
    failed_executions: list[str]
    dead_lettered: int  # in the dead-letter queue with their reason (invalid events included)
    redriven: int  # moved by SQS after the invocation died on the last receive: no reason attached
    waiting_customers: frozenset[str]  # whose events wait in a dead-letter queue
    exited: frozenset[tuple[str, str]] = frozenset()  # (customer, journey) an exit goal ended


@dataclass(frozen=True)
class Guarantee:
    """What a run under faults did to the delivery guarantee (docs/architecture.md)."""

    faults: dict[str, int]
    messages: int
    duplicates: int  # messages handed to a provider more than once
    lost: int  # decided and never ended (still sending or held, a dead execution) or never decided
    dead_lettered: int  # events more than the clean run's waiting in a dead-letter queue
    consent_regressions: list[str]
    miscounted_orders: list[str]
    failed_after_retries: int  # ended `failed` because transient faults outlasted the retries
    outcome_unknown: int  # SMS or push interrupted after the hand-over: failed, not sent again

    @property
    def holds(self) -> bool:
        return not (self.duplicates or self.lost or self.consent_regressions or self.miscounted_orders)

    def describe(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items()))
        return (
            f"{sum(self.faults.values()):,} faults injected ({kinds}) over {self.messages:,} messages: "
            f"{self.duplicates} duplicates, {self.lost} lost, {len(self.consent_regressions)} consent "
            f"regressions, {len(self.miscounted_orders)} miscounted orders; {self.dead_lettered} events "
            f"dead-lettered, {self.failed_after_retries} messages failed after retries, "
            f"{self.outcome_unknown} with an unknown outcome "
            f"({'the guarantee held' if self.holds else 'THE GUARANTEE DID NOT HOLD'})"
        )


def check_guarantee(
    run: FinalState, handed_over: Counter[str], clean: FinalState, faults: FaultInjector
) -> Guarantee:
    """The run under faults against the same events without them, checked at the providers.
    A customer whose event waits in a dead-letter queue is left out of the comparison: the
    guarantee for that event is that it waits there, not that it was applied."""
    reasons = [m.reason or "" for m in run.messages if m.status.value == "failed"]
    compared = set(clean.consent) - run.waiting_customers
    decided = {m.message_id for m in run.messages}
    # A journey an exit goal ended may end before a step the clean run reached: a late delivery
    # moves its start, not the event that ends it (a checkout delivered after a delay, its
    # reminder's hour not yet up when the order arrives). Its unreached steps are not lost.
    never_decided = [
        m
        for m in clean.messages
        if m.customer_id in compared
        and m.message_id not in decided
        and (m.customer_id, m.journey) not in run.exited
    ]
    return Guarantee(
        faults=dict(faults.injected),
        messages=len(run.messages),
        duplicates=sum(count - 1 for count in handed_over.values() if count > 1),
        lost=sum(m.status.value not in _TERMINAL for m in run.messages)
        + len(run.failed_executions)
        + len(never_decided),
        dead_lettered=run.dead_lettered + run.redriven - clean.dead_lettered,
        consent_regressions=sorted(c for c in compared if run.consent.get(c) != clean.consent[c]),
        miscounted_orders=sorted(
            c
            for c, counted in run.orders_counted.items()
            if counted != run.orders_stored.get(c)
            or (c in compared and counted != clean.orders_counted.get(c))
        ),
        failed_after_retries=sum(reason.startswith("gave up after retries") for reason in reasons),
        outcome_unknown=sum("outcome unknown" in reason for reason in reasons),
    )
