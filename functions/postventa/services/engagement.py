"""on_engagement's work: what became of a message (delivered, opened, clicked, bounced, complained).

Opens and clicks are facts for branches (message.<step>.opened); a permanent bounce or a
complaint puts the address on Postventa's suppression list: nothing more is sent to it.
"""

from __future__ import annotations

from typing import Any

from postventa.models.engagement import SesRecord
from postventa.models.records import MessageStatus
from postventa.services.ports import CustomerStore

SUPPRESSING = {"Bounce": "permanent bounce", "Complaint": "complaint"}


class EngagementService:
    def __init__(self, *, store: CustomerStore):
        self._store = store

    def apply(self, record: SesRecord) -> dict[str, Any]:
        customer_id, message_id = record.mail.tag("customer"), record.mail.tag("message")
        if not customer_id or not message_id:
            return {"ignored": "not a Postventa message (no customer or message tag)"}
        message = next((m for m in self._store.messages_of(customer_id) if m.message_id == message_id), None)
        if message is None:
            return {"ignored": "message not in the log"}
        update: dict[str, Any] = {}
        if record.open and message.opened_at is None:
            update["opened_at"] = record.open.timestamp
        if record.click and message.clicked_at is None:
            update["clicked_at"] = record.click.timestamp
            update.setdefault(
                "opened_at", message.opened_at or record.click.timestamp
            )  # a click implies an open
        suppression = self._suppression(record)
        if suppression:
            update["status"] = MessageStatus.FAILED
            update["reason"] = suppression
        if update:
            self._store.save_message(message.model_copy(update=update))
        if suppression:
            profile = self._store.get_profile(customer_id)
            if profile is not None and profile.email_suppressed is None:
                self._store.put_profile(profile.model_copy(update={"email_suppressed": suppression}))
        return {"message_id": message_id, "event": record.eventType, "recorded": sorted(update)}

    @staticmethod
    def _suppression(record: SesRecord) -> str | None:
        if (
            record.eventType == "Bounce"
            and record.bounce is not None
            and record.bounce.bounceType != "Permanent"
        ):
            return None  # a transient bounce: SES retries, the address stays
        return SUPPRESSING.get(record.eventType)
