"""SES (default bus) -> rule -> SQS engagement queue -> here: what became of each message.
Replies to our SMS number (two-way SNS topic -> the same queue, raw delivery) come here too."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse

from postventa.composition import Services, deployed
from postventa.handlers.failures import queued_events_handler
from postventa.handlers.observability import metrics
from postventa.models.engagement import InboundSms, SesEngagementEvent
from postventa.models.inbound import describe_parse_error


def _apply(current: Services, record: SQSRecord) -> dict[str, Any]:
    try:
        body = json.loads(record.body)
        if isinstance(body, dict) and "originationNumber" in body:
            metrics.add_metric(name="Sms_reply", unit=MetricUnit.Count, value=1)
            received_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
            return current.engagement.reply(InboundSms.model_validate(body), received_at)
        event = parse(event=body, model=SesEngagementEvent)
    except ValueError as error:  # ValidationError is one
        reason = describe_parse_error(error)
        current.invalid_events.send(record.body, reason)
        return {"invalid": reason}
    metrics.add_metric(name=f"Engagement_{event.detail.eventType}", unit=MetricUnit.Count, value=1)
    return current.engagement.apply(event.detail)


def build(services: Callable[[], Services]) -> Callable[..., PartialItemFailureResponse]:
    return queued_events_handler(services, _apply)


lambda_handler = build(deployed)
