"""Whether a message may go out, and the ids that make each send happen at most once."""

from __future__ import annotations

import hashlib

from postventa.journeys.model import Purpose
from postventa.models.events import ConsentState
from postventa.models.records import CustomerProfile, OrderRecord


def message_id(execution_id: str, step: str) -> str:
    """One message per (execution, step): a Step Functions retry maps to the same id."""
    return hashlib.sha256(f"{execution_id}|{step}".encode()).hexdigest()[:32]


def email_suppression_reason(
    purpose: Purpose, profile: CustomerProfile, order: OrderRecord | None
) -> str | None:
    """None when the email may be sent, else why not (recorded on the message log)."""
    if not profile.email:
        return "no email address on the profile"
    if profile.email_suppressed:
        return f"address on the suppression list ({profile.email_suppressed})"
    if order is not None and order.is_closed:
        return f"order {order.status.value}"
    if purpose is Purpose.MARKETING:
        if profile.email_marketing is ConsentState.UNSUBSCRIBED:
            return "unsubscribed from marketing email"
        if profile.email_marketing is not ConsentState.SUBSCRIBED:
            return "no consent to marketing email"
    return None
