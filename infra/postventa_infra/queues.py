"""SQS queues: encrypted, TLS only, two weeks' retention; dead-letter queues acknowledged once."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from postventa.adapters.queues import MAX_RECEIVES, VISIBILITY_TIMEOUT
from postventa_infra.nag import acknowledge

WORK_VISIBILITY = Duration.seconds(int(VISIBILITY_TIMEOUT.total_seconds()))


def queue(scope: Construct, construct_id: str, **kwargs: Any) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        **kwargs,
    )


def dead_letter_queue(scope: Construct, construct_id: str, *, of: str) -> sqs.Queue:
    """Where `of` keeps what it could not deliver or apply; Monitoring alarms on its depth."""
    created = queue(scope, construct_id)
    acknowledge(created, {"SQS3": f"This queue is itself {of}'s dead-letter queue; its depth is alarmed"})
    return created


def work_queue(scope: Construct, construct_id: str, dead_letters: sqs.IQueue) -> sqs.Queue:
    """A message received five times without success moves to its dead-letter queue."""
    return queue(
        scope,
        construct_id,
        visibility_timeout=WORK_VISIBILITY,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=MAX_RECEIVES),
    )
