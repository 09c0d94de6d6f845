"""SES (default bus) -> rule -> SQS engagement queue -> here: what became of each message.
Replies to our SMS number (two-way SNS topic -> the same queue, raw delivery) come here too."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from postventa.composition import Services, deployed
from postventa.handlers.failures import applied_or_dead_lettered
from postventa.handlers.observability import instrumented, metrics
from postventa.models.engagement import InboundSms, SesEngagementEvent
from postventa.models.inbound import describe_validation_error

processor = BatchProcessor(event_type=EventType.SQS)


def _apply(current: Services, record: SQSRecord) -> dict[str, Any]:
    try:
        body = json.loads(record.body)
        if isinstance(body, dict) and "originationNumber" in body:
            metrics.add_metric(name="Sms_reply", unit=MetricUnit.Count, value=1)
            received_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
            return current.engagement.reply(InboundSms.model_validate(body), received_at)
        event = parse(event=body, model=SesEngagementEvent)
    except (ValueError, ValidationError) as error:
        cause = error.__cause__ if isinstance(error.__cause__, ValidationError) else error
        reason = describe_validation_error(cause) if isinstance(cause, ValidationError) else f"event: {error}"
        current.invalid_events.send(record.body, reason)
        return {"invalid": reason}
    metrics.add_metric(name=f"Engagement_{event.detail.eventType}", unit=MetricUnit.Count, value=1)
    return current.engagement.apply(event.detail)


def build(services: Callable[[], Services]) -> Callable[..., PartialItemFailureResponse]:
    def record_handler(record: SQSRecord) -> dict[str, Any]:
        current = services()
        return applied_or_dead_lettered(
            record, lambda: current.invalid_events, lambda: _apply(current, record)
        )

    @instrumented()
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return lambda_handler


lambda_handler = build(deployed)
