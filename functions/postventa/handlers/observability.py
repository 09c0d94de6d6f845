"""Powertools Logger, Tracer and Metrics, set up once for every handler (settings by environment).

Every handler is traced without its response (capture_response=False): responses carry pages with
signed tokens, subjects with first names, addresses; X-Ray keeps what it is given for 30 days."""

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from postventa.models.records import Decision

logger = Logger()
tracer = Tracer()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def instrumented(*, publishes_metrics: bool = True) -> Callable[[Handler], Handler]:
    """Powertools around a Lambda handler: the invocation's context in every log line (and none
    of the last one's keys), a trace without the response (it may hold personal data), and the
    metrics it added flushed at the end."""

    def wrap(handler: Handler) -> Handler:
        flushed: Callable[..., Any] = metrics.log_metrics(handler) if publishes_metrics else handler
        traced = tracer.capture_lambda_handler(flushed, capture_response=False)
        return logger.inject_lambda_context(traced, clear_state=True)  # type: ignore[return-value]

    return wrap


def log_decision(decision: Decision) -> None:
    """Decisions carry opaque ids only: never an address, a name or a phone number."""
    logger.info("decision", extra=decision.model_dump(mode="json", exclude_none=True))
    metrics.add_metric(name=f"Decision_{decision.kind}", unit=MetricUnit.Count, value=1)
