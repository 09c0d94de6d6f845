"""on_engagement's work: what became of a message (delivered, delayed, opened, clicked, bounced,
complained, rejected).

Opens and clicks are facts for branches (message.<step>.opened) and resume a wait_for_event on
Message Opened / Message Clicked in the journey execution that sent the message; a permanent
bounce or a complaint puts the address on Postventa's suppression list: nothing more is sent to it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from postventa.logic.channels import CHANNELS
from postventa.logic.copies import COPY_TAG
from postventa.logic.send_time import counted, open_hour
from postventa.logic.sms import CARRIER_REFUSAL, permanent_sms_failure
from postventa.models.consent import ConsentChangedV1
from postventa.models.engagement import InboundSms, SesRecord, TextStatus
from postventa.models.events import Channel, DetailType
from postventa.models.records import CustomerProfile, MessageRecord, MessageStatus
from postventa.services.ports import CustomerStore, Workflows, change_profile

# What SES says of an email that will never arrive (a transient bounce is not: SES retries it).
UNDELIVERED = {"Bounce", "Reject"}
SUPPRESSING = {"Bounce": "permanent bounce", "Complaint": "complaint"}
# A text's longest time to live (End User Messaging's 72 hours): a carrier's final word on a text
# comes within it. SNS stamps a log with the time it took the text, on its own clock.
TEXT_TIME_TO_LIVE, CLOCK_SKEW = timedelta(hours=72), timedelta(minutes=1)
# A journey parks on Message Undelivered seconds after its send: a refusal resumes the waits
# registered up to this long after the carrier's word.
RESUME_WINDOW = timedelta(hours=1)
# The carriers' and AWS's opt-out and opt-in keywords (AWS also keeps its own opt-out list).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT-OUT", "ARRET", "BAJA"}
START_WORDS = {"START", "UNSTOP", "YES", "ALTA"}


class EngagementService:
    def __init__(
        self,
        *,
        store: CustomerStore,
        workflows: Workflows,
        publish_consent: Callable[[ConsentChangedV1], None],
        default_timezone: str = "UTC",
    ):
        """default_timezone: the hour of an open, for a customer whose timezone is unknown."""
        self._store = store
        self._workflows = workflows
        self._publish_consent = publish_consent
        self._default_timezone = default_timezone

    def apply(self, record: SesRecord) -> dict[str, Any]:
        customer_id, message_id = record.mail.tag("customer"), record.mail.tag("message")
        if record.mail.tag(COPY_TAG):
            return {"ignored": f"a {record.mail.tag(COPY_TAG)} copy, no customer's message"}
        if not customer_id or not message_id:
            return {"ignored": "not a Postventa message (no customer or message tag)"}
        message = self._store.get_message(customer_id, message_id)
        if message is None:
            return {"ignored": "message not in the log"}
        if record.eventType == "Send":
            confirmed = self._store.confirm_sent(customer_id, message_id, record.mail.messageId)
            return {
                "message_id": message_id,
                "event": record.eventType,
                "recorded": ["sent"] if confirmed else [],
            }
        update: dict[str, Any] = {}
        if record.open and message.opened_at is None:
            update["opened_at"] = record.open.timestamp
        if record.click and message.clicked_at is None:
            update["clicked_at"] = record.click.timestamp
            update.setdefault(
                "opened_at", message.opened_at or record.click.timestamp
            )  # a click implies an open
        if record.delivery and message.delivered_at is None:
            update["delivered_at"] = record.delivery.timestamp
        if record.deliveryDelay and message.delayed_at is None:
            update["delayed_at"] = record.deliveryDelay.timestamp
        suppression = self._suppression(record)
        if suppression:
            update["status"] = MessageStatus.FAILED
            update["reason"] = suppression
        elif record.reject:
            update["status"] = MessageStatus.FAILED
            update["reason"] = f"rejected by SES ({record.reject.reason})"
        if update:
            self._store.save_message(message.model_copy(update=update))
        if "opened_at" in update:
            if message.opened_at is None:  # its first open, or a click that implies one
                self._learn_hour(customer_id, update["opened_at"])
            self._resume(message, DetailType.MESSAGE_OPENED)
        if "clicked_at" in update:
            self._resume(message, DetailType.MESSAGE_CLICKED)
        if record.eventType in UNDELIVERED and update.get("status") is MessageStatus.FAILED:
            self._resume(message, DetailType.MESSAGE_UNDELIVERED)
        if suppression:
            change_profile(
                self._store,
                customer_id,
                lambda stored: (
                    stored
                    and (
                        stored
                        if stored.email_suppressed
                        else stored.model_copy(update={"email_suppressed": suppression})
                    )
                ),
            )
        return {"message_id": message_id, "event": record.eventType, "recorded": sorted(update)}

    def read_in_app(self, customer_id: str, message_id: str, at: datetime) -> bool:
        """The customer read the message's card in the app's inbox: its open, as an email's
        (a fact for branches, and a wait for Message Opened resumes). False: opened before."""
        message = self._store.get_message(customer_id, message_id)
        if message is None or message.opened_at is not None:
            return False
        self._store.save_message(message.model_copy(update={"opened_at": at}))
        self._learn_hour(customer_id, at)
        self._resume(message, DetailType.MESSAGE_OPENED)
        return True

    def reply(self, sms: InboundSms, received_at: datetime) -> dict[str, Any]:
        """A customer's text to our number: STOP opts the number out at once, START opts it back
        in; either is said on the bus (Consent Changed)."""
        if sms.keyword not in STOP_WORDS | START_WORDS:
            return {"ignored": "not an opt-out or opt-in keyword"}
        customer_id = self._store.customer_by_phone(sms.originationNumber)
        opted_out = f"replied {sms.keyword}" if sms.keyword in STOP_WORDS else None
        _, profile = (
            change_profile(
                self._store,
                customer_id,
                lambda stored: stored and stored.model_copy(update={"sms_opted_out": opted_out}),
            )
            if customer_id
            else (None, None)
        )
        if profile is None:
            return {"ignored": "number not known to Postventa"}
        self._publish_consent(ConsentChangedV1.of(profile, "sms_reply", received_at))
        return {"customer_id": profile.customer_id, "sms_opted_out": opted_out is not None}

    def text_status(self, status: TextStatus) -> dict[str, Any]:
        """What the carrier said of a text (SNS's delivery logs, End User Messaging's events):
        delivered, or failed with its words, which resumes the execution's wait for Message
        Undelivered (a journey's fallback to the next channel). A number refused for good
        (invalid, blocked, opted out) gets no more texts: the customer's next messages take their
        next channel."""
        if status.outcome == "pending":
            return {"ignored": f"not final: {status.reason}"}
        message = self._store.text_by_provider_id(status.provider_id)
        customer_id = message.customer_id if message else None
        if customer_id is None and status.number:
            customer_id = self._store.customer_by_phone(status.number)
            if customer_id is not None:
                message = self._text_of_unknown_fate(customer_id, status)
        if customer_id is None:
            return {"ignored": "no text of Postventa's with this id, no customer with this number"}
        recorded = []
        if message is not None and status.outcome == "delivered":
            if message.delivered_at is None:
                self._store.save_message(message.model_copy(update={"delivered_at": status.at}))
            recorded.append("delivered")
        elif message is not None:
            if message.status is not MessageStatus.FAILED:
                failed = {"status": MessageStatus.FAILED, "reason": f"sms: {status.reason}"}
                self._store.save_message(message.model_copy(update=failed))
            # Again on a retry: the failure may have been stored by an attempt that died before
            # it resumed. A wait registered later sees the failure itself (register_wait); one
            # parked long after the carrier spoke waits for another message's refusal.
            self._resume(message, DetailType.MESSAGE_UNDELIVERED, registered_by=status.at + RESUME_WINDOW)
            recorded.append("failed")
        # A refusal of the number holds whichever text it answers, even one not told apart (a
        # second text whose id was lost, another sender's): the number gets no more texts.
        permanent = permanent_sms_failure(status.reason) if status.permanent is None else status.permanent
        if status.outcome == "failed" and permanent:
            change = CHANNELS[Channel.SMS].opted_out(CARRIER_REFUSAL + status.reason)
            change_profile(
                self._store, customer_id, lambda stored: stored and stored.model_copy(update=change)
            )
            recorded.append("number suppressed")
        if not recorded:
            return {"ignored": "no text of Postventa's with this id"}
        return {"message_id": message.message_id if message else None, "recorded": recorded}

    def _text_of_unknown_fate(self, customer_id: str, status: TextStatus) -> MessageRecord | None:
        """The customer's one text SNS took whose answer (its id) was lost on the way, if the
        carrier's word came within that text's time to live: the word is of that text, whose id
        is recorded (sent, as SES's Send event confirms an email). Two such texts, or none in
        time: nothing is assumed."""
        unknown = [
            message
            for message in self._store.messages_of(customer_id)
            if message.channel == Channel.SMS.value
            and message.provider_message_id is None
            and message.handed_over_at is not None
            and message.status in (MessageStatus.SENDING, MessageStatus.FAILED)
            and message.handed_over_at - CLOCK_SKEW <= status.at <= message.handed_over_at + TEXT_TIME_TO_LIVE
        ]
        if len(unknown) != 1:
            return None
        (text,) = unknown
        learnt = {"provider_message_id": status.provider_id, "sent_at": text.handed_over_at}
        sent = text.model_copy(update={**learnt, "status": MessageStatus.SENT, "reason": None})
        self._store.save_message(sent)
        return sent

    def _learn_hour(self, customer_id: str, opened_at: datetime) -> None:
        """A message's first open (or click), counted by its local hour for the customer and the
        shop (wait_until's best_hour). After the open is stored: a retry may miss a count, never
        make one twice."""

        def local_hour(profile: CustomerProfile) -> int:
            return open_hour(opened_at, profile.timezone or self._default_timezone)

        def counted_open(stored: CustomerProfile | None) -> CustomerProfile | None:
            if stored is None:
                return None
            return stored.model_copy(update={"open_hours": counted(stored.open_hours, local_hour(stored))})

        _, profile = change_profile(self._store, customer_id, counted_open)
        if profile is not None:
            self._store.count_open_hour(local_hour(profile))

    def _resume(
        self, message: MessageRecord, event: DetailType, registered_by: datetime | None = None
    ) -> None:
        for wait in self._store.waits_for(message.customer_id, message.order_id, event.value):
            if wait.execution_id == message.execution_id and (
                registered_by is None or wait.registered_at <= registered_by
            ):
                self._workflows.resume(wait.task_token, {"message_id": message.message_id})
                self._store.delete_wait(wait)

    @staticmethod
    def _suppression(record: SesRecord) -> str | None:
        if (
            record.eventType == "Bounce"
            and record.bounce is not None
            and record.bounce.bounceType != "Permanent"
        ):
            return None  # a transient bounce: SES retries, the address stays
        return SUPPRESSING.get(record.eventType)
