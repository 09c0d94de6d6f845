"""A journey's wait_for_event step (callback Task): store the task token until the event arrives."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from postventa.composition import Services, deployed
from postventa.handlers.failures import retried_when_transient
from postventa.handlers.observability import instrumented
from postventa.journeys.tasks import WaitRequest


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    @instrumented(publishes_metrics=False)
    @event_parser(model=WaitRequest)
    def lambda_handler(event: WaitRequest, context: LambdaContext) -> dict[str, Any]:
        # Registering twice is harmless (same item; a second resume is refused), so no idempotency layer.
        with retried_when_transient():
            return services().wait_registrar.register(event).model_dump(mode="json")

    return lambda_handler


lambda_handler = build(deployed)
