"""Messages that are not a customer's: test sends (`postventa send-test`) and seed copies
(Journey.seeds). Marked in the subject or text, tagged so on_engagement records nothing of them."""

from __future__ import annotations

from dataclasses import replace

from postventa.logic.render import RenderedMessage
from postventa.models.events import Channel

SEED_CUSTOMER = "seed"
# The tag on_engagement reads: a copy's opens, clicks and bounces are no customer's facts.
COPY_TAG = "copy"


def marked(message: RenderedMessage, label: str) -> RenderedMessage:
    """The label first where the recipient sees it first: an email's subject, a push's title,
    else the text."""
    prefix = f"[{label}] "
    if message.subject is not None:
        return replace(message, subject=prefix + message.subject)
    if message.title is not None:
        return replace(message, title=prefix + message.title)
    return replace(message, text=prefix + message.text)


def copy_tags(journey: str, step: str, kind: str) -> dict[str, str]:
    """kind: "seed" or "test". No customer or message tag: nothing is recorded on a message."""
    return {"journey": journey, "step": step, COPY_TAG: kind}


def seed_channel(seed: str) -> Channel:
    """A seed is an email address or an E.164 number (Journey.seeds validates which)."""
    return Channel.SMS if seed.startswith("+") else Channel.EMAIL
