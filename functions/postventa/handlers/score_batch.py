"""The scoring job's fan-out: one batch of the customer summary scored and written to profiles."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, Field

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, metrics


class BatchInput(BaseModel):
    model_key: str
    scored_at: AwareDatetime


class ScoreBatch(BaseModel):
    """What a Distributed Map's ItemBatcher sends: the rows, and what every batch shares."""

    items: list[dict[str, str]] = Field(alias="Items", min_length=1)
    batch_input: BatchInput = Field(alias="BatchInput")


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    @event_parser(model=ScoreBatch)
    def lambda_handler(event: ScoreBatch, context: LambdaContext) -> dict[str, Any]:
        result = services().scoring_job.score(
            event.items, event.batch_input.model_key, event.batch_input.scored_at
        )
        metrics.add_metric(name="ProfilesScored", unit=MetricUnit.Count, value=result["written"])
        return result

    return lambda_handler


lambda_handler = build(deployed)
