"""Powertools Logger, Tracer and Metrics, set up once for every handler (settings by environment).

Every handler is traced without its response (capture_response=False): responses carry pages with
signed tokens, subjects with first names, addresses; X-Ray keeps what it is given for 30 days."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from postventa.models.records import Decision

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def log_decision(decision: Decision) -> None:
    """Decisions carry opaque ids only: never an address, a name or a phone number."""
    logger.info("decision", extra=decision.model_dump(mode="json", exclude_none=True))
    metrics.add_metric(name=f"Decision_{decision.kind}", unit=MetricUnit.Count, value=1)
