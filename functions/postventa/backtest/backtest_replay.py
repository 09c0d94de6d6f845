"""The backtest's worker Lambda: one partition of a run, an item of the Distributed Map."""

from functools import cache

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from postventa.backtest.on_aws import BacktestRuns, replay_partition
from postventa.handlers.observability import instrumented, logger
from postventa.journeys.loader import load_journeys
from postventa.journeys.model import Journey


class PartitionRequest(BaseModel):
    """The run, and a partition's key as the map's ListObjectsV2 item names it."""

    run_id: str
    key: str


@cache
def deployed() -> tuple[BacktestRuns, dict[str, Journey]]:
    return BacktestRuns.deployed(), load_journeys()  # the journeys this stack deployed


@instrumented(publishes_metrics=False)
@event_parser(model=PartitionRequest)
def lambda_handler(event: PartitionRequest, context: LambdaContext) -> dict[str, str]:
    runs, journeys = deployed()
    key = replay_partition(runs, journeys, event.run_id, event.key)
    logger.info("partition replayed", extra={"run_id": event.run_id, "tally": key})
    return {"tally": key}
