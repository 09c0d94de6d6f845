"""EventBridge Scheduler, daily: each audience's consented members written as hashed ad lists."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, logger, metrics
from postventa.models.inbound import ScheduledRun


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    @event_parser(model=ScheduledRun)
    def lambda_handler(event: ScheduledRun, context: LambdaContext) -> dict[str, Any]:
        exported = services().audience_export.run(event.scheduled_time)
        for audience in exported:
            # Counts and keys only: the lists themselves stay in the bucket.
            logger.info("audience exported", extra=audience.model_dump(mode="json"))
        metrics.add_metric(name="AudiencesExported", unit=MetricUnit.Count, value=len(exported))
        return {"audiences": [audience.model_dump(mode="json") for audience in exported]}

    return lambda_handler


lambda_handler = build(deployed)
