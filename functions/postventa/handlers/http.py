"""What the HTTP API's functions (preferences, inbox) share: the Lambda handler around a
Powertools resolver, and when API Gateway received the request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.composition import Services
from postventa.handlers.observability import instrumented


def received_at(app: APIGatewayHttpResolver) -> datetime:
    """When API Gateway received the request: the time a choice was stated, whatever the retries."""
    return datetime.fromtimestamp(app.current_event.request_context.time_epoch / 1000, UTC)


def serve(app: APIGatewayHttpResolver, services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented()
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        app.append_context(services=services())  # cleared by the resolver after the request
        return app.resolve(event, context)

    return lambda_handler
