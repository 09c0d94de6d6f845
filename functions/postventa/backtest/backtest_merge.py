"""The backtest's last step: every partition's tally added into the report."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from postventa.backtest.backtest_replay import deployed
from postventa.backtest.on_aws import RUNS_PREFIX, merge
from postventa.handlers.observability import instrumented, logger


class MergeRequest(BaseModel):
    run_id: str


@instrumented(publishes_metrics=False)
@event_parser(model=MergeRequest)
def lambda_handler(event: MergeRequest, context: LambdaContext) -> dict[str, Any]:
    runs, journeys = deployed()
    report = merge(runs, journeys, event.run_id, datetime.now(UTC))
    logger.info("backtest merged", extra={"run_id": event.run_id, "orders": report.orders})
    return {"report": f"s3://{runs.bucket}/{RUNS_PREFIX}/{event.run_id}/report.json", "orders": report.orders}
