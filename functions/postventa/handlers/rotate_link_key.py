"""Secrets Manager's rotation schedule -> here: one step of rotating the link-signing key."""

from collections.abc import Callable
from typing import Literal

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from postventa.composition import Services, deployed
from postventa.handlers.observability import instrumented, logger


class RotationStep(BaseModel):
    """What Secrets Manager sends a rotation function."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    secret_id: str = Field(alias="SecretId")
    token: str = Field(alias="ClientRequestToken")
    step: Literal["createSecret", "setSecret", "testSecret", "finishSecret"] = Field(alias="Step")


def build(services: Callable[[], Services]) -> Callable[..., None]:
    @instrumented(publishes_metrics=False)
    @event_parser(model=RotationStep)
    def lambda_handler(event: RotationStep, context: LambdaContext) -> None:
        logger.info("rotation step", extra={"step": event.step})  # never the secret's value
        services().key_rotation.run(event.step, event.secret_id, event.token)

    return lambda_handler


lambda_handler = build(deployed)
