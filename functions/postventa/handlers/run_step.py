"""A journey's Task steps (send, branch, split, wait_until): once per (execution, step)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.handlers.observability import logger, metrics, tracer
from postventa.handlers.wiring import wiring
from postventa.services.steps import StepRequest


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=StepRequest)
def lambda_handler(event: StepRequest, context: LambdaContext) -> dict[str, Any]:
    current = wiring()
    current.register_context(context)
    logger.append_keys(journey=event.journey, step=event.step, customer_id=event.customer_id)
    outcome: dict[str, Any] = current.run_step_once(event=event)
    kind = event.action.kind
    metric = f"Message_{outcome['status']}" if kind == "send" else f"Step_{kind}"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return outcome
