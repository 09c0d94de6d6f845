"""The scoring job's fit (Step Functions, after Athena wrote the customer summary)."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, metrics


class FitRequest(BaseModel):
    """Where Athena wrote the summary: the query's output bucket and key."""

    bucket: str
    key: str


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    @event_parser(model=FitRequest)
    def lambda_handler(event: FitRequest, context: LambdaContext) -> dict[str, Any]:
        result = services().scoring_job.fit(event.bucket, event.key)
        metrics.add_metric(name="CustomersSummarized", unit=MetricUnit.Count, value=result["customers"])
        return {**result, "bucket": event.bucket, "key": event.key}

    return lambda_handler


lambda_handler = build(deployed)
