"""run_step's work: decide, render, send and record one journey message, at most once."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any

from jinja2 import TemplateNotFound

from postventa.journeys.model import AUTO, Purpose
from postventa.journeys.tasks import (
    BranchResult,
    BranchTask,
    CallOutcome,
    CallTask,
    GiveUpTask,
    SendTask,
    SplitResult,
    SplitTask,
    StepOutcome,
    StepRequest,
    WaitUntilResult,
    WaitUntilTask,
)
from postventa.logic.channels import CHANNELS, Route, Routing, message_blocked_reason, route
from postventa.logic.conditions import all_hold
from postventa.logic.copies import SEED_CUSTOMER, copy_tags, marked, seed_channel
from postventa.logic.facts import Facts, facts
from postventa.logic.links import Campaign, ShopLinks
from postventa.logic.messaging import message_id
from postventa.logic.policy import (
    Candidate,
    Verdict,
    forget,
    held_before,
    judge,
    queued_for_rate,
    rate_reserved,
)
from postventa.logic.policy import record as record_verdict
from postventa.logic.render import RenderedMessage, message_context
from postventa.logic.schedule import end_of_wait, timestamp
from postventa.logic.send_time import SendTimes
from postventa.logic.sms import sms_size
from postventa.logic.splits import assign
from postventa.models.events import Channel
from postventa.models.policy import ContactPolicy
from postventa.models.records import (
    ContactLedger,
    CustomerProfile,
    HeldMessage,
    JourneyControl,
    JourneyState,
    MessageRecord,
    MessageStatus,
    OrderRecord,
)
from postventa.services.calls import CallRunner
from postventa.services.errors import (
    RecipientOptedOut,
    SendDeferred,
    SendRejected,
    SendThrottled,
    SendUnknown,
    StepRetryable,
    describe,
)
from postventa.services.ports import (
    CustomerStore,
    Links,
    RateLimiter,
    Renderer,
    Sender,
    change_profile,
    profile_of,
)

LEDGER_ATTEMPTS = 5
# How often a send held by a paused journey looks again: `resume` releases it within this.
PAUSE_RECHECK = timedelta(hours=1)
# How long a claim is another attempt's before it counts as abandoned: well past run_step's
# 30-second timeout, so a live attempt is never taken over.
CLAIM_LEASE = timedelta(minutes=5)


class ChannelPassedOver(Exception):
    """This channel cannot carry the message (why is the text): the next one is tried."""


class _RateFull(Exception):
    """This second's share of the channel's sending rate is used up."""


@dataclass(frozen=True)
class SendPlan:
    """What one send step will do, worked out before anything is claimed."""

    request: StepRequest
    action: SendTask
    profile: CustomerProfile
    order: OrderRecord | None
    fields: dict[str, Any]
    routing: Routing
    reason: str | None  # why no channel may carry it; None: it may be sent
    planned: str
    record: MessageRecord  # the claim
    candidate: Candidate


class StepRunner:
    def __init__(
        self,
        *,
        store: CustomerStore,
        senders: dict[Channel, Sender],
        rate_limiter: RateLimiter,
        policy: ContactPolicy,
        renderer: Renderer,
        links: Links,
        shop_links: ShopLinks,
        shop_name: str,
        support_email: str,
        default_timezone: str,
        clock: Callable[[], datetime],
        send_times: SendTimes,
        calls: CallRunner | None = None,
    ):
        """clock: the time sends really happen at (claims' leases), not the step's entry time.
        send_times: where a wait_until finds the customer's best hour.
        calls: the call steps' runner (None: no journey calls anything)."""
        self._store = store
        self._clock = clock
        self._senders = senders
        self._rate_limiter = rate_limiter
        self._policy = policy
        self._renderer = renderer
        self._links = links
        self._shop_links = shop_links
        self._shop_name = shop_name
        self._support_email = support_email
        self._default_timezone = default_timezone
        self._send_times = send_times
        self._calls = calls

    def run(
        self, request: StepRequest
    ) -> StepOutcome | CallOutcome | BranchResult | SplitResult | WaitUntilResult:
        action = request.action
        if isinstance(action, SendTask):
            return self._send(request, action)
        if isinstance(action, CallTask):
            return self._call_runner.run(request, action)
        if isinstance(action, BranchTask):
            return self._branch(request, action)
        if isinstance(action, SplitTask):
            return self._split(request, action)
        if isinstance(action, GiveUpTask):
            return self.give_up(request, action)
        return self._wait_until(request, action)

    def _branch(self, request: StepRequest, action: BranchTask) -> BranchResult:
        context = self._facts(request)
        case = next((c.name for c in action.cases if all_hold(c.when, context)), "otherwise")
        self._store.save_decision(request.decided(case))
        return BranchResult(case=case)

    def _split(self, request: StepRequest, action: SplitTask) -> SplitResult:
        weights = [(variant.name, variant.weight) for variant in action.variants]
        winner, reason = action.winner, None
        if winner == AUTO:  # the winner recorded as decided, if one is and is still a variant here
            decided = self._store.decided_winner(action.experiment)
            if decided is not None and decided.winner in dict(weights):
                winner, reason = (
                    decided.winner,
                    f"winner recorded {decided.decided_at:%Y-%m-%d}: {decided.reason}",
                )
            else:
                winner = None
        variant = assign(request.customer_id, action.experiment, weights, action.holdout_percent, winner)
        decision = request.decided(variant, experiment=action.experiment, reason=reason)
        self._store.save_decision(decision)
        return SplitResult(variant=variant)

    def _wait_until(self, request: StepRequest, action: WaitUntilTask) -> WaitUntilResult:
        until = end_of_wait(
            action, self._facts(request), request.now, self._default_timezone, self._send_times
        )
        return WaitUntilResult(until=timestamp(until))

    def _facts(self, request: StepRequest) -> Facts:
        profile = profile_of(self._store, request.customer_id, request.now)
        order = self._store.get_order(request.order_id) if request.order_id else None
        messages = [
            m for m in self._store.messages_of(request.customer_id) if m.execution_id == request.execution_id
        ]
        return facts(
            profile=profile,
            order=order,
            messages=messages,
            nps=self._store.latest_nps(request.customer_id),
            trigger=request.trigger,
            started_at=request.started_at,
            now=request.now,
        )

    def _send(self, request: StepRequest, action: SendTask) -> StepOutcome:
        """Plan, claim, judge, deliver. Whatever fails between the claim and the provider's answer
        releases the claim, so the journey's retry sends; only an answer the provider may have
        given keeps it (see _reclaim). A paused journey holds the send where it is."""
        control = self._store.journey_control(request.journey)
        if control is not None and control.state is JourneyState.PAUSED:
            raise SendDeferred(timestamp(self._clock() + PAUSE_RECHECK), "journey paused")
        plan = self._plan(request, action, control)
        existing = self._store.claim_message(plan.record)
        if existing is not None:
            if existing.status is not MessageStatus.SENDING:
                return _outcome(existing)  # a retry: whatever happened the first time stands
            existing = self._reclaim(plan, existing)
            if existing is not None:
                return _outcome(existing)
        if plan.reason is not None:
            return _outcome(plan.record)
        try:
            verdict, hold = self._judge(plan.candidate, request.now, plan.profile)
            return self._deliver(plan, hold) if verdict.send else self._hold_or_drop(plan, verdict, hold)
        except SendDeferred:
            raise
        except SendUnknown as error:
            raise StepRetryable(str(error)) from error  # the claim stays: the provider may have it
        except Exception:
            self._release(plan)
            raise

    def _plan(self, request: StepRequest, action: SendTask, control: JourneyControl | None) -> SendPlan:
        profile = profile_of(self._store, request.customer_id, request.now)
        order = self._store.get_order(request.order_id) if request.order_id else None
        fields: dict[str, Any] = {
            "message_id": message_id(request.execution_id, request.step),
            "customer_id": request.customer_id,
            "order_id": request.order_id,
            "journey": request.journey,
            "version": request.version,
            "step": request.step,
            "execution_id": request.execution_id,
            "template": action.template,
            "purpose": action.purpose.value,
            "topic": action.topic,
            "experiment": action.experiment,
            "variant": action.variant,
            "at": request.now,
        }
        blocked = (
            f"journey stopped: {control.reason or 'by an operator'}"
            if control is not None and control.state is JourneyState.STOPPED
            else message_blocked_reason(
                action.purpose, action.topic, profile, order, _checkout_started(request.trigger)
            )
        )
        routing = route(
            action.channels, action.purpose, action.phase, profile, self._replaced(request, action)
        )
        reason = blocked or (None if routing.routes else routing.reason or "no channel allowed")
        planned = routing.routes[0].channel.value if routing.routes else action.describe_channels()
        status = MessageStatus.SENDING if reason is None else MessageStatus.SUPPRESSED
        record = MessageRecord(
            **fields, channel=planned, status=status, reason=reason, claimed_at=self._clock()
        )
        candidate = Candidate(
            message_id=record.message_id,
            journey=request.journey,
            purpose=action.purpose,
            priority=action.priority,
            timezone=profile.timezone or self._default_timezone,
        )
        return SendPlan(request, action, profile, order, fields, routing, reason, planned, record, candidate)

    def _replaced(self, request: StepRequest, action: SendTask) -> tuple[str, Channel] | None:
        """The message a fallback stands in for (its step, its channel), if it was decided."""
        if action.instead_of is None:
            return None
        replaced = self._store.get_message(
            request.customer_id, message_id(request.execution_id, action.instead_of)
        )
        return (action.instead_of, Channel(replaced.channel)) if replaced else None

    def _reclaim(self, plan: SendPlan, claim: MessageRecord) -> MessageRecord | None:
        """A claim still `sending`: another attempt holds it, or one died on the way.

        Within the lease, wait (the journey retries). Past it: a claim never handed to a provider
        is taken over and sent. An email handed over is sent again too: SES publishes a Send event
        carrying the message tag within seconds of taking a message, and on_engagement records it
        as `sent`, so one still `sending` a lease later was not taken; an inbox card's write is
        conditional on the message's id, so a second one changes nothing. SNS and Pinpoint give no
        such proof: the message is recorded failed, with why, rather than risk a second text or push.
        Returns the outcome to answer, or None when this attempt now holds the claim."""
        claimed_at = claim.claimed_at or claim.at
        if self._clock() - claimed_at < CLAIM_LEASE:
            raise StepRetryable(f"message {claim.message_id} is being sent by another attempt")
        if claim.handed_over_at is not None and not CHANNELS[Channel(claim.channel)].may_hand_over_again:
            failed = claim.model_copy(
                update={
                    "status": MessageStatus.FAILED,
                    "reason": f"{claim.channel}: interrupted after it was handed over; outcome unknown, "
                    "not sent again so it cannot arrive twice",
                }
            )
            self._store.save_message(failed)
            return failed
        if self._store.reclaim_message(plan.record, claimed_at):
            return None
        raise StepRetryable(f"message {claim.message_id} was taken over by another attempt")

    def _release(self, plan: SendPlan) -> None:
        """Nothing was handed over: drop the claim and the count, so a retry decides afresh."""
        self._store.release_message(plan.record)
        with suppress(Exception):  # a count left behind only replaces itself on the retry
            self._update_ledger(
                plan.record.customer_id, lambda ledger: forget(ledger, plan.record.message_id)
            )

    def _hold_or_drop(self, plan: SendPlan, verdict: Verdict, hold: HeldMessage | None) -> StepOutcome:
        """Dropped by the policy: the outcome. Held: recorded, then SendDeferred for the journey."""
        held = {"held": hold.reason, "due_at": hold.first_due} if hold else {}
        if verdict.until is None:
            dropped = MessageRecord(
                **plan.fields,
                channel=plan.planned,
                status=MessageStatus.SUPPRESSED,
                reason=verdict.reason,
                **held,
            )
            self._store.save_message(dropped)
            return _outcome(dropped)
        self._store.save_message(
            MessageRecord(
                **plan.fields,
                channel=plan.planned,
                status=MessageStatus.DEFERRED,
                held=verdict.reason,
                due_at=hold.first_due if hold else plan.request.now,
                deferred_until=verdict.until,
            )
        )
        raise SendDeferred(timestamp(verdict.until), verdict.rule or "held")

    def _deliver(self, plan: SendPlan, hold: HeldMessage | None) -> StepOutcome:
        """Each allowed channel in turn until one provider takes the message."""
        held = {"held": hold.reason, "due_at": hold.first_due} if hold else {}
        passed_over = list(plan.routing.passed_over)
        links = MessageLinks(
            self._links,
            self._shop_links,
            plan.record,
            plan.order,
            unsubscribe=plan.action.purpose is Purpose.MARKETING,
        )
        reserved = rate_reserved(hold, plan.request.now)
        for option in plan.routing.routes:
            try:
                rendered, provider_id = self._hand_to_provider(plan, option, links, reserved)
            except ChannelPassedOver as passed:
                passed_over.append(f"{option.channel.value}: {passed}")
                continue
            except _RateFull:
                return self._queue_for_rate(plan, option.channel, hold)
            channel, sent_at = option.channel, self._clock()
            record = MessageRecord(
                **plan.fields,
                channel=channel.value,
                status=MessageStatus.SENT,
                reason="; ".join(passed_over) or None,
                subject=rendered.subject or rendered.title or _preview(rendered.text),
                segments=sms_size(rendered.text).segments if CHANNELS[channel].billed_per_segment else None,
                provider_message_id=provider_id,
                sent_at=sent_at,
                delivered_at=sent_at if CHANNELS[channel].delivered_when_sent else None,
                **held,
            )
            try:
                self._store.save_message(record)
            except Exception as error:  # handed over: keep the claim, never release it now
                raise SendUnknown(f"sent as {provider_id} but not recorded: {describe(error)}") from error
            self._copy_to_seeds(plan, channel)
            return _outcome(record)

        message = plan.record.message_id
        self._update_ledger(plan.request.customer_id, lambda ledger: forget(ledger, message))
        record = MessageRecord(
            **plan.fields,
            channel=plan.planned,
            status=MessageStatus.FAILED,
            reason="; ".join(passed_over),
            **held,
        )
        self._store.save_message(record)
        return _outcome(record)

    def _queue_for_rate(self, plan: SendPlan, channel: Channel, hold: HeldMessage | None) -> StepOutcome:
        """This second's share of the rate is used up: hold the message for its turn behind the
        backlog (one Wait), rather than retry into a full second again; transactional messages
        are given their share, marketing ones go after them (RateLimiter.reserve)."""
        transactional = plan.action.purpose is not Purpose.MARKETING
        until = self._rate_limiter.reserve(channel, transactional=transactional)
        verdict = queued_for_rate(channel.value, until, kept=transactional)
        now = plan.request.now
        self._update_ledger(
            plan.record.customer_id, lambda ledger: record_verdict(ledger, plan.candidate, verdict, now)
        )
        return self._hold_or_drop(plan, verdict, hold)

    def _hand_to_provider(
        self, plan: SendPlan, option: Route, links: MessageLinks, reserved: bool
    ) -> tuple[RenderedMessage, str]:
        """Render for the channel, take a share of its sending rate (unless one was reserved),
        mark the claim handed over and send: (what was sent, the provider's id).
        ChannelPassedOver: try the next channel. _RateFull: this second's share is used up."""
        request, profile, channel = plan.request, plan.profile, option.channel
        if channel not in self._senders:
            raise ChannelPassedOver("not set up for this shop")
        rendered = self._render(plan, channel, profile, links)
        if not reserved and not self._rate_limiter.acquire(channel):
            raise _RateFull
        if not self._store.hand_over(plan.record, channel.value, self._clock()):
            raise StepRetryable(f"message {plan.record.message_id} was taken over by another attempt")
        tags = {
            "journey": request.journey,
            "step": request.step,
            "customer": request.customer_id,
            "message": plan.record.message_id,
        }
        try:
            return rendered, self._senders[channel].send(to=option.to, message=rendered, tags=tags)
        except SendRejected as error:
            if isinstance(error, RecipientOptedOut):
                self._opted_out(profile.customer_id, channel, str(error))
            raise ChannelPassedOver(str(error)) from error

    def _render(
        self, plan: SendPlan, channel: Channel, profile: CustomerProfile, links: MessageLinks
    ) -> RenderedMessage:
        """The message for the channel, its links to the shop tagged. ChannelPassedOver: no template."""
        action, request = plan.action, plan.request
        try:
            rendered = self._renderer.render(
                channel,
                action.template,
                profile.locale,
                partial(self._context, profile, plan, links, channel),
            )
        except TemplateNotFound:
            raise ChannelPassedOver(f"no {action.template} template") from None
        campaign = Campaign(channel.value, request.journey, request.step)
        return as_handed(
            rendered, campaign, self._shop_links, links, marketing=action.purpose is Purpose.MARKETING
        )

    def _copy_to_seeds(self, plan: SendPlan, channel: Channel) -> None:
        """The step's first send of the day on this channel, copied to the journey's seeds on it:
        rendered for a seed (the customer's order, none of their profile), marked [SEED], tagged
        so engagement ignores it. A seed the provider refuses is passed over; the customer's
        message is recorded already, so nothing here changes its outcome."""
        request = plan.request
        seeds = [seed for seed in plan.action.seeds or () if seed_channel(seed) is channel]
        day = self._clock().date()
        if not seeds or not self._store.claim_seed_copy(request.journey, request.step, channel.value, day):
            return
        seed = CustomerProfile(customer_id=SEED_CUSTOMER, locale=plan.profile.locale, updated_at=request.now)
        record = plan.record.model_copy(update={"customer_id": SEED_CUSTOMER})
        marketing = plan.action.purpose is Purpose.MARKETING
        links = MessageLinks(self._links, self._shop_links, record, plan.order, unsubscribe=marketing)
        copy = marked(self._render(plan, channel, seed, links), "SEED")
        for address in seeds:
            with suppress(SendRejected, SendThrottled):
                self._senders[channel].send(
                    to=address, message=copy, tags=copy_tags(request.journey, request.step, "seed")
                )

    @property
    def _call_runner(self) -> CallRunner:
        if self._calls is None:
            raise RuntimeError("a call step, but run_step was built without its call runner")
        return self._calls

    def give_up(self, request: StepRequest, action: GiveUpTask) -> StepOutcome | CallOutcome:
        """The journey's retries of a step ran out: its one outcome is `failed`, with why, and the
        journey goes on past it (a send, a call) or ends (a decision). An outcome already reached stands."""
        reason = f"gave up after retries: {action.error}: {_error_message(action.cause)}"[:500]
        if action.step_kind == "call":
            return self._call_runner.give_up(request, reason)
        if action.step_kind != "send":
            self._store.save_decision(request.decided("failed", reason=reason))
            return StepOutcome(status=MessageStatus.FAILED, reason=reason)
        stored = self._store.get_message(request.customer_id, message_id(request.execution_id, request.step))
        if stored is not None and stored.status not in (MessageStatus.SENDING, MessageStatus.DEFERRED):
            return _outcome(stored)
        failed = MessageRecord(
            message_id=message_id(request.execution_id, request.step),
            customer_id=request.customer_id,
            order_id=request.order_id,
            journey=request.journey,
            version=request.version,
            step=request.step,
            execution_id=request.execution_id,
            channel=stored.channel if stored else "-",
            template=action.template or "-",
            purpose=action.purpose or "-",
            at=stored.at if stored else request.now,
            status=MessageStatus.FAILED,
            reason=reason,
        )
        self._store.save_message(failed)
        return _outcome(failed)

    def _opted_out(self, customer_id: str, channel: Channel, reason: str) -> None:
        """The provider says the customer stopped this channel: never try it again for them."""
        change = CHANNELS[channel].opted_out(reason)
        change_profile(self._store, customer_id, lambda stored: stored and stored.model_copy(update=change))

    def _judge(
        self, candidate: Candidate, now: datetime, profile: CustomerProfile
    ) -> tuple[Verdict, HeldMessage | None]:
        """The contact policy's verdict, written to the customer's ledger in the same step."""
        outcome: list[tuple[Verdict, HeldMessage | None]] = []

        def decide(ledger: ContactLedger) -> ContactLedger:
            verdict = judge(candidate, now, ledger, profile.open_cases, self._policy)
            outcome[:] = [(verdict, held_before(ledger, candidate.message_id))]
            return record_verdict(ledger, candidate, verdict, now)

        self._update_ledger(profile.customer_id, decide)
        return outcome[0]

    def _update_ledger(self, customer_id: str, change: Callable[[ContactLedger], ContactLedger]) -> None:
        """Read, change, write over the version read; another send to the customer in between
        means judging again on what it wrote."""
        for _ in range(LEDGER_ATTEMPTS):
            if self._store.save_contact_ledger(change(self._store.contact_ledger(customer_id))):
                return
        raise SendThrottled("too many concurrent sends to one customer")

    def _context(
        self, profile: CustomerProfile, plan: SendPlan, links: MessageLinks, channel: Channel
    ) -> dict[str, Any]:
        return message_context(
            profile=profile,
            order=plan.order,
            event=plan.request.trigger,
            shop_name=self._shop_name,
            support_email=self._support_email,
            links=links,
            marketing=plan.action.purpose is Purpose.MARKETING,
            channel=channel,
            timezone=profile.timezone or self._default_timezone,
        )


def as_handed(
    rendered: RenderedMessage, campaign: Campaign, shop: ShopLinks, links: MessageLinks, *, marketing: bool
) -> RenderedMessage:
    """A rendered message as a sender is handed it: links to the shop tagged, marked marketing or
    not, with the one-click unsubscribe where its channel carries one."""
    channel = Channel(campaign.channel)
    return replace(
        shop.tagged(rendered, campaign),
        marketing=marketing,
        unsubscribe_url=links.unsubscribe if CHANNELS[channel].one_click_unsubscribe else None,
    )


class MessageLinks:
    """The links a template may use: the shop's, and the signed ones, each signed only if the
    template asks for it."""

    def __init__(
        self,
        links: Links,
        shop: ShopLinks,
        record: MessageRecord,
        order: OrderRecord | None,
        *,
        unsubscribe: bool,
    ):
        self._links, self._shop, self._record, self._order = links, shop, record, order
        self._with_unsubscribe = unsubscribe

    @cached_property
    def nps(self) -> list[str]:
        record = self._record
        return [
            self._links.link("nps", c=record.customer_id, m=record.message_id, s=score) for score in range(11)
        ]

    @property
    def review(self) -> str:
        return self._shop.review(self._order)

    @property
    def shop(self) -> str:
        return self._shop.home

    @cached_property
    def unsubscribe(self) -> str | None:
        if not self._with_unsubscribe:
            return None
        return self._links.link("unsubscribe", c=self._record.customer_id, m=self._record.message_id)

    @cached_property
    def preferences(self) -> str:
        return self._links.link("preferences", c=self._record.customer_id)


def _checkout_started(trigger: dict[str, Any] | None) -> datetime | None:
    """When the checkout a journey reminds of was started, if a checkout started it."""
    if trigger is None or "checkout_id" not in trigger:
        return None
    return datetime.fromisoformat(trigger["started_at"])


def _preview(text: str, length: int = 60) -> str:
    """What the log keeps of a text message: its start, like an email's subject line."""
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _error_message(cause: str | None) -> str:
    """Step Functions passes a Lambda error's document as Cause: its message, not the stack."""
    try:
        document = json.loads(cause or "")
    except ValueError:
        return (cause or "no cause given")[:300]
    return str(document.get("errorMessage", document))[:300] if isinstance(document, dict) else str(document)


def _outcome(record: MessageRecord) -> StepOutcome:
    return StepOutcome(
        message_id=record.message_id, status=record.status, channel=record.channel, reason=record.reason
    )
