"""`postventa send-test`: one step's message, rendered from sample data or a customer's file,
sent through the deployed stack's provider to one recipient. Marked [TEST] where the recipient
sees it first and tagged as a copy: no message is recorded, on_engagement ignores its events, no
KPI counts it."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from postventa.journeys.library import Library
from postventa.journeys.model import Purpose, SendStep
from postventa.local.preview import PreviewCustomer
from postventa.local.samples import sample_message
from postventa.logic.copies import copy_tags, marked
from postventa.logic.render import RenderedMessage
from postventa.logic.sms import e164
from postventa.models.events import Channel, PushPlatform, PushTokenV1
from postventa.services.ports import Sender


class SendTestError(ValueError):
    pass


def send_step(library: Library, journey: str, step: str) -> SendStep:
    journeys = library.journeys()
    if journey not in journeys:
        raise SendTestError(f"no journey {journey}: {', '.join(sorted(journeys))}")
    sends = {s.id: s for s in journeys[journey].all_steps() if isinstance(s, SendStep)}
    if step not in sends:
        raise SendTestError(f"{journey} has no send step {step}: {', '.join(sends)}")
    return sends[step]


def default_channel(step: SendStep) -> Channel:
    channels = step.send.channels
    return channels[0] if isinstance(channels, list) else Channel.EMAIL


def recipient(channel: Channel, to: str) -> Any:
    """What the channel's sender takes: an address, an E.164 number, or PLATFORM:token."""
    if channel is Channel.EMAIL:
        if "@" not in to:
            raise SendTestError(f"{to}: not an email address")
        return to
    if channel is Channel.SMS:
        number = e164(to, None)
        if number is None:
            raise SendTestError(f"{to}: not a phone number in international form (+14155550100)")
        return number
    platform, _, token = to.partition(":")
    if platform.upper() not in PushPlatform.__members__ or not token:
        raise SendTestError(f"{to}: a push recipient is APNS:<device token> or FCM:<registration token>")
    try:
        return (PushTokenV1(platform=PushPlatform(platform.upper()), token=token),)
    except ValidationError as error:
        raise SendTestError(f"{to}: {error.errors()[0]['msg']}") from None


def send_test(
    library: Library,
    journey: str,
    step_id: str,
    *,
    to: str,
    channel: Channel,
    locale: str | None,
    customer: PreviewCustomer | None,
    sender: Sender,
) -> tuple[RenderedMessage, str]:
    """(what was sent, the provider's id)."""
    step = send_step(library, journey, step_id)
    address = recipient(channel, to)
    marketing = step.send.purpose is Purpose.MARKETING
    _, message = sample_message(
        step.send.template, channel, locale, marketing=marketing, library=library, customer=customer
    )
    test = marked(message, "TEST")
    return test, sender.send(to=address, message=test, tags=copy_tags(journey, step_id, "test"))
