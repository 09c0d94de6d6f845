"""EventBridge -> SQS ingest queue -> here: each record is one storefront event."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.composition import Services, deployed
from postventa.handlers.failures import applied_or_dead_lettered
from postventa.handlers.observability import instrumented, metrics

processor = BatchProcessor(event_type=EventType.SQS)


def build(services: Callable[[], Services]) -> Callable[..., PartialItemFailureResponse]:
    def record_handler(record: SQSRecord) -> dict[str, Any]:
        # Invalid events go to their dead-letter queue inside; failures as failures.py says.
        metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
        current = services()
        return applied_or_dead_lettered(
            record, lambda: current.invalid_events, lambda: current.order_events.handle(record.body)
        )

    @instrumented()
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        services().register_context(context)
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return lambda_handler


lambda_handler = build(deployed)
