"""The channels: what sets each apart (CHANNELS), which a message may take, in order, and why
each other one was passed over. The journeys' phases (which channels a journey may use) are in
journeys/model.py, each provider's adapter in adapters/ (email, sms, push, inbox)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from postventa.journeys.model import PHASE_CHANNELS, Phase, Purpose
from postventa.logic.sms import e164
from postventa.models.events import Channel, ConsentState, PushTokenV1
from postventa.models.records import CustomerProfile, OrderRecord

# The channels a customer may choose, email first for customers who chose nothing: "preferred"
# sends go by them. The app's inbox is not among them: a step names it.
DEFAULT_ORDER = (Channel.EMAIL, Channel.SMS, Channel.PUSH)


@dataclass(frozen=True)
class ChannelTraits:
    locale_file: str  # the template file whose presence decides a message's locale
    parts: dict[str, str]  # each part rendered -> the suffix of its template file
    # A claim handed over but not recorded may be handed over again: SES publishes a Send event
    # for an email it took (on_engagement records it), the inbox's write is conditional on the
    # message's id; SNS and Pinpoint say nothing, so a text or push is never tried twice.
    may_hand_over_again: bool
    billed_per_segment: bool
    delivered_when_sent: bool  # the provider is the destination (the inbox): taken is delivered
    one_click_unsubscribe: bool  # marketing carries RFC 8058 List-Unsubscribe headers
    opted_out: Callable[
        [str], dict[str, Any]
    ]  # the profile change when the recipient told the provider to stop


CHANNELS = {
    Channel.EMAIL: ChannelTraits(
        locale_file="html",
        parts={"subject": "subject.txt", "html": "html", "text": "txt"},
        may_hand_over_again=True,
        billed_per_segment=False,
        delivered_when_sent=False,
        one_click_unsubscribe=True,
        opted_out=lambda reason: {"email_suppressed": reason},
    ),
    Channel.SMS: ChannelTraits(
        locale_file="txt",
        parts={"text": "txt"},
        may_hand_over_again=False,
        billed_per_segment=True,
        delivered_when_sent=False,
        one_click_unsubscribe=False,
        opted_out=lambda reason: {"sms_opted_out": reason},
    ),
    Channel.PUSH: ChannelTraits(
        locale_file="txt",
        parts={"title": "title.txt", "text": "txt"},
        may_hand_over_again=False,
        billed_per_segment=False,
        delivered_when_sent=False,
        one_click_unsubscribe=False,
        opted_out=lambda reason: {"push_tokens": []},  # every installation said no
    ),
    Channel.INBOX: ChannelTraits(
        locale_file="txt",
        parts={"title": "title.txt", "text": "txt"},
        may_hand_over_again=True,
        billed_per_segment=False,
        delivered_when_sent=True,
        one_click_unsubscribe=False,
        opted_out=lambda reason: {},  # the app's own store: nobody to refuse it
    ),
}


@dataclass(frozen=True)
class Route:
    channel: Channel
    # an address, an E.164 number, the customer's app installations, or (inbox) the customer's id
    to: str | tuple[PushTokenV1, ...]


@dataclass(frozen=True)
class Routing:
    routes: list[Route]
    passed_over: list[str]  # "sms: no consent to SMS": channels asked for, or chosen, but not allowed
    refused: list[str]  # every channel considered and why not: the reason when no route is left

    @property
    def reason(self) -> str | None:
        return "; ".join(self.refused) or None


ORDERED_SINCE_CHECKOUT = "ordered since the checkout started"


def ordered_since(profile: CustomerProfile, moment: datetime) -> bool:
    return profile.last_order_at is not None and profile.last_order_at >= moment


def message_blocked_reason(
    purpose: Purpose,
    topic: str | None,
    profile: CustomerProfile,
    order: OrderRecord | None,
    checkout_started_at: datetime | None = None,
) -> str | None:
    """Reasons that hold on every channel. checkout_started_at: the journey reminds of a checkout,
    which an order since has completed (whatever the order of the events that said so)."""
    if order is not None and order.is_closed:
        return f"order {order.status.value}"
    if checkout_started_at is not None and ordered_since(profile, checkout_started_at):
        return ORDERED_SINCE_CHECKOUT
    if purpose is Purpose.MARKETING and topic and topic in profile.topics_unsubscribed:
        return f"unsubscribed from {topic}"
    return None


def route(
    channels: list[Channel] | Literal["preferred"],
    purpose: Purpose,
    phase: Phase,
    profile: CustomerProfile,
    instead_of: tuple[str, Channel] | None = None,
) -> Routing:
    """The customer's chosen channels bind marketing; transactional messages (receipts, delivery
    news) still go by the step's order, the customer's preferred channels first. A message that
    stands in for another (step, the channel it took) never goes by that channel."""
    chosen = profile.channels
    if isinstance(channels, str):  # "preferred"
        order = [*(chosen or []), *(c for c in DEFAULT_ORDER if c not in (chosen or []))]
        if purpose is Purpose.MARKETING and chosen is not None:
            order = list(chosen)
    else:
        order = list(channels)
    routes, passed_over, refused, no_inbox = [], [], [], []
    for channel in order:
        reason = _not_allowed(channel, purpose, phase, profile)
        if reason is None and instead_of is not None and channel is instead_of[1]:
            reason = f"the {instead_of[0]} message went this way"
        if reason is None:
            routes.append(Route(channel, _address(channel, profile)))
            continue
        # A customer without the app has no inbox to pass over: a word only when nothing else was tried.
        if channel is Channel.INBOX and _unreachable(channel, profile):
            no_inbox.append(f"{channel.value}: {reason}")
            continue
        refused.append(f"{channel.value}: {reason}")
        # "preferred" tries every channel: only those the customer chose are worth a word.
        if not isinstance(channels, str) or channel in (chosen or []):
            passed_over.append(refused[-1])
    return Routing(routes, passed_over, refused or no_inbox)


_NOT_IN_PHASE = "not in this journey's phase"


def _not_allowed(channel: Channel, purpose: Purpose, phase: Phase, profile: CustomerProfile) -> str | None:
    if channel not in PHASE_CHANNELS[phase]:
        return _NOT_IN_PHASE
    marketing = purpose is Purpose.MARKETING
    if channel is Channel.INBOX:
        return _unreachable(channel, profile) or (_inbox_consent(profile) if marketing else None)
    if marketing and profile.channels is not None and channel not in profile.channels:
        return "not a channel the customer chose"
    unreachable = _unreachable(channel, profile)
    if unreachable:
        return unreachable
    if channel is Channel.EMAIL:
        return _consent(profile.email_marketing, "marketing email") if marketing else None
    if channel is Channel.SMS:
        if marketing:
            return _consent(profile.sms_marketing, "marketing SMS")
        if ConsentState.SUBSCRIBED in (profile.sms_transactional, profile.sms_marketing):
            return None
        return _consent(profile.sms_transactional, "SMS")
    return _consent(profile.push_marketing, "marketing push") if marketing else None


def _unreachable(channel: Channel, profile: CustomerProfile) -> str | None:
    """Why the customer cannot be reached on the channel at all, whatever the message."""
    if channel is Channel.EMAIL:
        if not profile.email:
            return "no email address"
        if profile.email_suppressed:
            return f"address on the suppression list ({profile.email_suppressed})"
        return None
    if channel is Channel.SMS:
        if e164(profile.phone, profile.country) is None:
            return "no valid phone number" if profile.phone else "no phone number"
        if profile.sms_opted_out:
            return f"number opted out ({profile.sms_opted_out})"
        return None
    # push and the inbox: the app, known by the installations it registered
    return None if profile.push_tokens else "no app installation (push token)"


def channels_of(channels: list[Channel] | Literal["preferred"], phase: Phase) -> list[Channel]:
    """The channels a send may take in its journey's phase, in the order tried ("preferred": the
    channels a customer may choose)."""
    named = DEFAULT_ORDER if isinstance(channels, str) else channels
    return [channel for channel in named if channel in PHASE_CHANNELS[phase]]


def reachable_channels(profile: CustomerProfile) -> list[Channel]:
    """Of the channels a customer may choose, those the customer can be reached on."""
    return [channel for channel in DEFAULT_ORDER if _unreachable(channel, profile) is None]


def _inbox_consent(profile: CustomerProfile) -> str | None:
    """Promotions in the app's inbox, which the customer opens, need no channel's consent, and
    the channels chosen bind what reaches out (notifications, mail, texts), not what the app
    holds; a customer who unsubscribed from marketing and subscribed to none gets none there."""
    states = {profile.email_marketing, profile.sms_marketing, profile.push_marketing}
    if ConsentState.UNSUBSCRIBED in states and ConsentState.SUBSCRIBED not in states:
        return "unsubscribed from marketing on every channel"
    return None


def _consent(state: ConsentState, what: str) -> str | None:
    if state is ConsentState.SUBSCRIBED:
        return None
    return f"unsubscribed from {what}" if state is ConsentState.UNSUBSCRIBED else f"no consent to {what}"


def _address(channel: Channel, profile: CustomerProfile) -> str | tuple[PushTokenV1, ...]:
    if channel is Channel.EMAIL:
        return str(profile.email)
    if channel is Channel.SMS:
        return str(e164(profile.phone, profile.country))
    if channel is Channel.INBOX:
        return profile.customer_id
    return tuple(profile.push_tokens)
