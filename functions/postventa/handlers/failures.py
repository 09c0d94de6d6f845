"""How a handler's failure ends: retried where trying again may succeed (errors.is_transient),
otherwise recorded with its reason. Nothing fails silently and nothing is retried forever."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.adapters.errors import is_transient
from postventa.adapters.queues import MAX_RECEIVES
from postventa.handlers.observability import instrumented, logger, metrics
from postventa.services.errors import SendThrottled, StepRetryable, describe
from postventa.services.ports import DeadLetters

if TYPE_CHECKING:
    from postventa.composition import Services


@contextmanager
def retried_when_transient() -> Iterator[None]:
    """A journey step's failure, named for the journey's Retry: StepRetryable when trying again
    may succeed, the error itself when it never will (the journey's Catch records it)."""
    try:
        yield
    except (SendThrottled, StepRetryable):
        metrics.add_metric(name="StepRetried", unit=MetricUnit.Count, value=1)
        raise
    except Exception as error:
        if not is_transient(error):
            raise
        metrics.add_metric(name="StepRetried", unit=MetricUnit.Count, value=1)
        logger.warning("step failed, will be retried", extra={"error": describe(error)})
        raise StepRetryable(describe(error)) from error


def applied_or_dead_lettered(
    record: SQSRecord, dead_letters: Callable[[], DeadLetters], apply: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """One queued event: applied; or, on a transient failure before its last receive, left to
    SQS to deliver again; or else in the dead-letter queue with the reason (the error's type and
    text, never the event's content), instead of reaching the redrive queue with none."""
    try:
        return apply()
    except Exception as error:
        receives = int(record.attributes.approximate_receive_count or 1)
        if is_transient(error) and receives < MAX_RECEIVES:
            raise
        reason = f"{'failed' if is_transient(error) else 'cannot be applied'} (receive {receives}): {describe(error)}"
        logger.error("event dead-lettered", extra={"reason": reason, "message_id": record.message_id})
        metrics.add_metric(name="EventDeadLettered", unit=MetricUnit.Count, value=1)
        dead_letters().send(record.body, reason)
        return {"dead_lettered": reason}


def queued_events_handler(
    services: Callable[[], Services], apply: Callable[[Services, SQSRecord], dict[str, Any]]
) -> Callable[..., PartialItemFailureResponse]:
    """An SQS batch, each record applied once or dead-lettered with its reason (above); the
    records that may succeed later are reported failed, for SQS to deliver again."""
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        current = services()
        return applied_or_dead_lettered(
            record, lambda: current.invalid_events, lambda: apply(current, record)
        )

    @instrumented()
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return lambda_handler
