"""EventBridge Scheduler, every five minutes: publish the birthdays, anniversaries and lapses due now."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, metrics
from postventa.models.inbound import ScheduledRun


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    @event_parser(model=ScheduledRun)
    def lambda_handler(event: ScheduledRun, context: LambdaContext) -> dict[str, Any]:
        due = services().occasions.run(event.scheduled_time)
        metrics.add_metric(name="OccasionsPublished", unit=MetricUnit.Count, value=len(due))
        return {"published": len(due)}

    return lambda_handler


lambda_handler = build(deployed)
