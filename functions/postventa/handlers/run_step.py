"""A journey's Task steps (send, branch, split, wait_until): once per (execution, step)."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.composition import Services, deployed
from postventa.handlers.failures import retried_when_transient
from postventa.handlers.observability import instrumented, logger, metrics
from postventa.journeys.tasks import StepOutcome, StepRequest
from postventa.logic.policy import CEILING
from postventa.models.records import MessageStatus
from postventa.services.errors import SendDeferred


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    @event_parser(model=StepRequest)
    def lambda_handler(event: StepRequest, context: LambdaContext) -> dict[str, Any]:
        current = services()
        current.register_context(context)
        logger.append_keys(journey=event.journey, step=event.step, customer_id=event.customer_id)
        try:
            with retried_when_transient():
                outcome: dict[str, Any] = current.run_step_once(event=event)
        except SendDeferred as held:
            metrics.add_metric(name=f"Held_{held.rule}", unit=MetricUnit.Count, value=1)
            raise
        kind = event.action.kind
        if kind == "give_up":
            failed = StepOutcome.model_validate(outcome)
            logger.error("step gave up", extra={"failed_step": event.step, "reason": failed.reason})
            metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=1)
        elif kind == "send":
            sent = StepOutcome.model_validate(outcome)
            metrics.add_metric(name=f"Message_{sent.status.value}", unit=MetricUnit.Count, value=1)
            if (sent.reason or "").startswith(CEILING):
                metrics.add_metric(name="CeilingReached", unit=MetricUnit.Count, value=1)
            if sent.status is MessageStatus.SENT:
                metrics.add_metric(name=f"Sent_{sent.channel}", unit=MetricUnit.Count, value=1)
        else:
            metrics.add_metric(name=f"Step_{kind}", unit=MetricUnit.Count, value=1)
        return outcome

    return lambda_handler


lambda_handler = build(deployed)
