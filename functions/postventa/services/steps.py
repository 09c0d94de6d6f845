"""run_step's work: decide, render, send and record one journey message, at most once."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from postventa.adapters.errors import SendRejected, SendThrottled
from postventa.journeys.model import Condition, Purpose, SendAction, WaitUntilAction
from postventa.logic.conditions import all_hold
from postventa.logic.facts import Facts, facts
from postventa.logic.messaging import email_suppression_reason, message_id
from postventa.logic.render import email_context
from postventa.logic.schedule import end_of_wait, timestamp
from postventa.logic.splits import assign
from postventa.models.records import CustomerProfile, MessageRecord, MessageStatus, OrderRecord, StepDecision
from postventa.services.ports import CustomerStore, EmailSender, Links, Renderer


class StepContext(BaseModel):
    """What every Task of a journey passes (see journeys/compiler.py)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    execution_id: str
    started_at: AwareDatetime | None = None
    step: str
    now: AwareDatetime
    journey: str
    version: int
    customer_id: str
    order_id: str | None = None


class SendTask(SendAction):
    experiment: str | None = None
    variant: str | None = None


class CaseTask(BaseModel):
    name: str
    when: list[Condition]


class BranchTask(BaseModel):
    kind: Literal["branch"]
    cases: list[CaseTask]


class VariantTask(BaseModel):
    name: str
    weight: int


class SplitTask(BaseModel):
    kind: Literal["split"]
    experiment: str
    variants: list[VariantTask]
    holdout_percent: float


class WaitUntilTask(WaitUntilAction):
    kind: Literal["wait_until"]


class StepRequest(StepContext):
    """A Task of run_step: the step's own configuration travels with it, so an execution keeps
    the journey version it started with, whatever is deployed since."""

    action: Annotated[SendTask | BranchTask | SplitTask | WaitUntilTask, Field(discriminator="kind")]


class StepRunner:
    def __init__(
        self,
        *,
        store: CustomerStore,
        email: EmailSender,
        renderer: Renderer,
        links: Links,
        shop_name: str,
        support_email: str,
        default_timezone: str,
    ):
        self._store = store
        self._email = email
        self._renderer = renderer
        self._links = links
        self._shop_name = shop_name
        self._support_email = support_email
        self._default_timezone = default_timezone

    def run(self, request: StepRequest) -> dict[str, Any]:
        action = request.action
        if isinstance(action, SendTask):
            return self._send(request, action)
        if isinstance(action, BranchTask):
            return self._branch(request, action)
        if isinstance(action, SplitTask):
            return self._split(request, action)
        return self._wait_until(request, action)

    def _branch(self, request: StepRequest, action: BranchTask) -> dict[str, Any]:
        context = self._facts(request)
        case = next((c.name for c in action.cases if all_hold(c.when, context)), "otherwise")
        self._store.save_decision(self._decision(request, case))
        return {"case": case}

    def _split(self, request: StepRequest, action: SplitTask) -> dict[str, Any]:
        weights = [(variant.name, variant.weight) for variant in action.variants]
        variant = assign(request.customer_id, action.experiment, weights, action.holdout_percent)
        self._store.save_decision(self._decision(request, variant, experiment=action.experiment))
        return {"variant": variant}

    def _wait_until(self, request: StepRequest, action: WaitUntilTask) -> dict[str, Any]:
        until = end_of_wait(action, self._facts(request), request.now, self._default_timezone)
        return {"until": timestamp(until)}

    def _facts(self, request: StepRequest) -> Facts:
        profile = self._store.get_profile(request.customer_id) or CustomerProfile(
            customer_id=request.customer_id, updated_at=request.now
        )
        order = self._store.get_order(request.order_id) if request.order_id else None
        messages = [
            m for m in self._store.messages_of(request.customer_id) if m.execution_id == request.execution_id
        ]
        return facts(
            profile=profile,
            order=order,
            messages=messages,
            nps=self._store.latest_nps(request.customer_id),
            started_at=request.started_at,
            now=request.now,
        )

    @staticmethod
    def _decision(request: StepRequest, outcome: str, experiment: str | None = None) -> StepDecision:
        return StepDecision(
            customer_id=request.customer_id,
            journey=request.journey,
            version=request.version,
            step=request.step,
            execution_id=request.execution_id,
            outcome=outcome,
            experiment=experiment,
            at=request.now,
        )

    def _send(self, request: StepRequest, action: SendTask) -> dict[str, Any]:
        profile = self._store.get_profile(request.customer_id) or CustomerProfile(
            customer_id=request.customer_id, updated_at=request.now
        )
        order = self._store.get_order(request.order_id) if request.order_id else None
        fields: dict[str, Any] = {
            "message_id": message_id(request.execution_id, request.step),
            "customer_id": request.customer_id,
            "order_id": request.order_id,
            "journey": request.journey,
            "version": request.version,
            "step": request.step,
            "execution_id": request.execution_id,
            "channel": action.channel.value,
            "template": action.template,
            "purpose": action.purpose.value,
            "experiment": action.experiment,
            "variant": action.variant,
            "at": request.now,
        }
        reason = email_suppression_reason(action.purpose, profile, order)
        status = MessageStatus.SENDING if reason is None else MessageStatus.SUPPRESSED
        record = MessageRecord(**fields, status=status, reason=reason)
        existing = self._store.claim_message(record)
        if existing is not None:
            return _outcome(existing)  # a retry: whatever happened the first time stands
        if reason is not None:
            return _outcome(record)

        rendered = self._renderer.render(
            action.template, profile.locale, lambda: self._context(record, profile, order, action.purpose)
        )
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
            outcome = {"status": MessageStatus.FAILED, "reason": str(error)}
        else:
            outcome = {"status": MessageStatus.SENT, "provider_message_id": provider_id}
        record = MessageRecord(**fields, subject=rendered.subject, **outcome)
        self._store.save_message(record)
        return _outcome(record)

    def _context(
        self, record: MessageRecord, profile: CustomerProfile, order: OrderRecord | None, purpose: Purpose
    ) -> dict[str, Any]:
        links = MessageLinks(self._links, record, unsubscribe=purpose is Purpose.MARKETING)
        return email_context(
            profile=profile,
            order=order,
            shop_name=self._shop_name,
            support_email=self._support_email,
            links=links,
        )


class MessageLinks:
    """The signed links a template may use, each signed only if the template asks for it."""

    def __init__(self, links: Links, record: MessageRecord, *, unsubscribe: bool):
        self._links, self._record, self._with_unsubscribe = links, record, unsubscribe

    @cached_property
    def nps(self) -> list[str]:
        record = self._record
        return [
            self._links.link("nps", c=record.customer_id, m=record.message_id, s=score) for score in range(11)
        ]

    @cached_property
    def review(self) -> str:
        return self._links.link("review", c=self._record.customer_id, o=self._record.order_id)

    @cached_property
    def unsubscribe(self) -> str | None:
        return self._links.link("unsubscribe", c=self._record.customer_id) if self._with_unsubscribe else None


def _outcome(record: MessageRecord) -> dict[str, Any]:
    return {"message_id": record.message_id, "status": record.status.value, "reason": record.reason}
