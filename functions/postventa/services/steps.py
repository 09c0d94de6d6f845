"""run_step's work: decide, render, send and record one journey message, at most once."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from postventa.adapters.email import SesEmailSender
from postventa.adapters.errors import SendRejected, SendThrottled
from postventa.adapters.store import Store
from postventa.journeys.model import Journey, Purpose, SendStep
from postventa.logic.links import LinkSigner
from postventa.logic.messaging import email_suppression_reason, message_id
from postventa.logic.render import EmailRenderer, email_context
from postventa.models.records import CustomerProfile, MessageRecord, MessageStatus, OrderRecord


class StepRequest(BaseModel):
    """What the state machine passes to a Task state (see journeys/compiler.py)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    execution_id: str
    step: str
    now: AwareDatetime
    journey: str
    version: int
    customer_id: str
    order_id: str | None = None


class StepRunner:
    def __init__(
        self,
        *,
        store: Store,
        email: SesEmailSender,
        renderer: EmailRenderer,
        links: LinkSigner,
        journeys: dict[str, Journey],
        shop_name: str,
        support_email: str,
    ):
        self._store = store
        self._email = email
        self._renderer = renderer
        self._links = links
        self._journeys = journeys
        self._shop_name = shop_name
        self._support_email = support_email

    def run(self, request: StepRequest) -> dict[str, Any]:
        step = self._journeys[request.journey].step(request.step)
        if not isinstance(step, SendStep):
            raise ValueError(f"step {request.step!r} of {request.journey} is not a send step")
        action = step.send
        profile = self._store.get_profile(request.customer_id) or CustomerProfile(
            customer_id=request.customer_id, updated_at=request.now
        )
        order = self._store.get_order(request.order_id) if request.order_id else None
        record = MessageRecord(
            message_id=message_id(request.execution_id, request.step),
            customer_id=request.customer_id,
            order_id=request.order_id,
            journey=request.journey,
            version=request.version,
            step=request.step,
            execution_id=request.execution_id,
            channel=action.channel.value,
            template=action.template,
            purpose=action.purpose.value,
            status=MessageStatus.SENDING,
            at=request.now,
        )

        reason = email_suppression_reason(action.purpose, profile, order)
        if reason is not None:
            record = record.model_copy(update={"status": MessageStatus.SUPPRESSED, "reason": reason})
        existing = self._store.claim_message(record)
        if existing is not None:
            return _outcome(existing)  # a retry: whatever happened the first time stands
        if reason is not None:
            return _outcome(record)

        rendered = self._renderer.render(
            action.template, profile.locale, self._context(record, profile, order, action.purpose)
        )
        record = record.model_copy(update={"subject": rendered.subject})
        try:
            provider_id = self._email.send(
                to=str(profile.email),
                email=rendered,
                tags={
                    "journey": request.journey,
                    "step": request.step,
                    "customer": request.customer_id,
                    "message": record.message_id,
                },
            )
        except SendThrottled:
            self._store.release_message(record)
            raise
        except SendRejected as error:
            record = record.model_copy(update={"status": MessageStatus.FAILED, "reason": str(error)})
        else:
            record = record.model_copy(
                update={"status": MessageStatus.SENT, "provider_message_id": provider_id}
            )
        self._store.save_message(record)
        return _outcome(record)

    def _context(
        self, record: MessageRecord, profile: CustomerProfile, order: OrderRecord | None, purpose: Purpose
    ) -> dict[str, Any]:
        customer = record.customer_id
        links: dict[str, Any] = {
            "nps": [self._links.link("nps", c=customer, m=record.message_id, s=score) for score in range(11)],
            "review": self._links.link("review", c=customer, o=record.order_id),
            "unsubscribe": self._links.link("unsubscribe", c=customer)
            if purpose is Purpose.MARKETING
            else None,
        }
        return email_context(
            profile=profile,
            order=order,
            shop_name=self._shop_name,
            support_email=self._support_email,
            links=links,
        )


def _outcome(record: MessageRecord) -> dict[str, Any]:
    return {"message_id": record.message_id, "status": record.status.value, "reason": record.reason}
