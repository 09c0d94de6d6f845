"""Consent Changed (our bus) -> rule -> SQS consent queue -> here: the customer's choice written
back to their Shopify marketing consent (Admin API, the shop's custom app token)."""

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse

from postventa.composition import Services, deployed
from postventa.handlers.failures import queued_events_handler
from postventa.handlers.observability import metrics
from postventa.models.consent import ConsentChangedEvent
from postventa.models.inbound import describe_parse_error


def _apply(current: Services, record: SQSRecord) -> dict[str, Any]:
    try:
        event = parse(event=json.loads(record.body), model=ConsentChangedEvent)
    except ValueError as error:  # ValidationError is one
        reason = describe_parse_error(error)
        current.invalid_events.send(record.body, reason)
        return {"invalid": reason}
    written = current.consent_writeback.write(event.detail)
    metrics.add_metric(
        name="ConsentWrittenBack" if "written" in written else "ConsentNotForShopify",
        unit=MetricUnit.Count,
        value=1,
    )
    return written


def build(services: Callable[[], Services]) -> Callable[..., PartialItemFailureResponse]:
    return queued_events_handler(services, _apply)


lambda_handler = build(deployed)
