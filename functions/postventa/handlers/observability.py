"""Powertools Logger, Tracer and Metrics, set up once for every handler (settings by environment)."""

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from postventa.adapters.errors import SendThrottled, StepRetryable, describe, is_transient
from postventa.models.records import Decision

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def log_decision(decision: Decision) -> None:
    """Decisions carry opaque ids only: never an address, a name or a phone number."""
    logger.info("decision", extra=decision.model_dump(mode="json", exclude_none=True))
    metrics.add_metric(name=f"Decision_{decision.kind}", unit=MetricUnit.Count, value=1)


@contextmanager
def retried_when_transient() -> Iterator[None]:
    """A journey step's failure, named for the journey's Retry: StepRetryable when trying again
    may succeed (errors.is_transient), the error itself when it never will (the Catch records it)."""
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
