"""The scoring job's last step (Step Functions, after Athena counted the journeys' conversions):
record the A/B winners they decide, which `winner: auto` splits then apply."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, metrics


class WinnersRequest(BaseModel):
    """Where Athena wrote the conversions, and the job's start (the decisions' time)."""

    bucket: str
    key: str
    decided_at: AwareDatetime


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    @event_parser(model=WinnersRequest)
    def lambda_handler(event: WinnersRequest, context: LambdaContext) -> dict[str, Any]:
        result = services().scoring_job.record_winners(event.bucket, event.key, event.decided_at)
        metrics.add_metric(name="WinnersRecorded", unit=MetricUnit.Count, value=result["winners"])
        return result

    return lambda_handler


lambda_handler = build(deployed)
