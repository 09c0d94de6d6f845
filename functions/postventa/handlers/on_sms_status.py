"""SNS's SMS delivery-status logs (CloudWatch Logs, DirectPublishToPhoneNumber and /Failure) ->
subscription filter -> here: each text's delivery or failure, with the carrier's words.

Invoked asynchronously by CloudWatch Logs: an error is retried twice by Lambda, then kept in the
function's dead-letter queue; each record is applied at most once in effect (a delivery time is
set once, a failure recorded once), so a retried batch changes nothing twice."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import CloudWatchLogsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, metrics
from postventa.models.engagement import SmsDeliveryLog
from postventa.models.inbound import describe_validation_error


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        current = services()
        logs = parse(event=event, model=CloudWatchLogsModel).awslogs.decoded_data
        applied = []
        for log_event in logs.logEvents:
            try:
                record = SmsDeliveryLog.model_validate_json(str(log_event.message))
            except ValidationError as error:  # kept with its reason, the rest of the batch applied
                current.invalid_events.send(str(log_event.message), describe_validation_error(error))
                applied.append({"invalid": describe_validation_error(error)})
                continue
            metrics.add_metric(name=f"Sms_{record.status.lower()}", unit=MetricUnit.Count, value=1)
            applied.append(current.engagement.sms_delivery(record))
        return {"records": applied}

    return lambda_handler


lambda_handler = build(deployed)
