"""What became of each text, from either of AWS's two reports of it:

- SNS's SMS delivery-status logs (CloudWatch Logs, DirectPublishToPhoneNumber and /Failure) through
  a subscription filter: each record a text's delivery or failure, with the carrier's words;
- AWS End User Messaging SMS's `Text Message Delivery Status Updated` on the default bus (source
  aws.sms-voice), through a rule: one status of one text, final or not.

Invoked asynchronously by CloudWatch Logs and by EventBridge: an error is retried by Lambda (or the
rule), then kept in the function's dead-letter queue; each status is applied at most once in
effect (a delivery time is set once, a failure recorded once), so a retry changes nothing twice."""

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import CloudWatchLogsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, metrics
from postventa.models.engagement import SmsDeliveryLog, SmsVoiceEvent, TextStatus
from postventa.models.inbound import describe_validation_error


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    def apply(current: Services, status: TextStatus) -> dict[str, Any]:
        metrics.add_metric(name=f"Sms_{status.outcome}", unit=MetricUnit.Count, value=1)
        return current.engagement.text_status(status)

    @instrumented()
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        current = services()
        if "awslogs" not in event:
            try:
                text = parse(event=event, model=SmsVoiceEvent)
            except ValidationError as error:  # a rule delivers one event: kept with its reason
                current.invalid_events.send(json.dumps(event), describe_validation_error(error))
                return {"records": [{"invalid": describe_validation_error(error)}]}
            return {"records": [apply(current, text.detail.text_status())]}
        logs = parse(event=event, model=CloudWatchLogsModel).awslogs.decoded_data
        applied = []
        for log_event in logs.logEvents:
            try:
                record = SmsDeliveryLog.model_validate_json(str(log_event.message))
            except ValidationError as error:  # kept with its reason, the rest of the batch applied
                current.invalid_events.send(str(log_event.message), describe_validation_error(error))
                applied.append({"invalid": describe_validation_error(error)})
                continue
            applied.append(apply(current, record.text_status()))
        return {"records": applied}

    return lambda_handler


lambda_handler = build(deployed)
