"""Where call steps hand work (context httpDestinations): for each destination an EventBridge
connection (its credential read from Secrets Manager at deploy, then kept by EventBridge in a
secret of its own), an API destination with its rate limit, and a rule on Postventa's bus that
posts each call's detail to it, retried for a day, then kept in the UndeliveredCalls queue."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_cdk import Duration, SecretValue
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, RootModel, field_validator

from postventa.journeys.model import DESTINATION
from postventa.models.actions import ACTION_REQUESTED, ACTIONS_SOURCE
from postventa_infra.queues import dead_letter_queue

_METHODS = {"POST": events.HttpMethod.POST, "PUT": events.HttpMethod.PUT, "PATCH": events.HttpMethod.PATCH}


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeyAuth(_Options):
    """A header carrying a key, e.g. Authorization: Bearer <key> (the secret holds the whole value)."""

    type: Literal["api_key"]
    header: str = Field(min_length=1)
    secret: str = Field(min_length=1, description="Secrets Manager name or ARN of a JSON secret")
    field: str = Field(default="apiKey", description="The JSON key holding the header's value")


class BasicAuth(_Options):
    type: Literal["basic"]
    username: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    field: str = Field(default="password")


class HttpDestination(_Options):
    endpoint: HttpUrl
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    rate_per_second: int = Field(default=5, ge=1, le=300, description="EventBridge's invocation rate limit")
    auth: Annotated[ApiKeyAuth | BasicAuth, Field(discriminator="type")]

    @field_validator("endpoint")
    @classmethod
    def _https(cls, value: HttpUrl) -> HttpUrl:
        if value.scheme != "https":
            raise ValueError("an API destination's endpoint must be https")
        return value


class HttpDestinations(RootModel[dict[Annotated[str, Field(pattern=DESTINATION)], HttpDestination]]):
    """httpDestinations: {"helpdesk": {"endpoint": ..., "auth": {...}}, ...}"""


class CallDestinations(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, bus: events.IEventBus, destinations: HttpDestinations
    ):
        super().__init__(scope, construct_id)
        self.undelivered_calls = dead_letter_queue(
            self, "UndeliveredCalls", of="the call destinations' rules"
        )
        for name, destination in destinations.root.items():
            self._destination(bus, name, destination)

    def _destination(self, bus: events.IEventBus, name: str, destination: HttpDestination) -> None:
        auth = destination.auth
        credential = SecretValue.secrets_manager(auth.secret, json_field=auth.field)
        authorization = (
            events.Authorization.api_key(auth.header, credential)
            if isinstance(auth, ApiKeyAuth)
            else events.Authorization.basic(auth.username, credential)
        )
        part = "".join(word.capitalize() for word in name.split("-"))
        connection = events.Connection(
            self, f"{part}Connection", authorization=authorization, description=f"Postventa calls to {name}"
        )
        api = events.ApiDestination(
            self,
            f"{part}Destination",
            connection=connection,
            endpoint=str(destination.endpoint),
            http_method=_METHODS[destination.method],
            rate_limit_per_second=destination.rate_per_second,
            description=f"Postventa calls to {name}",
        )
        events.Rule(
            self,
            f"{part}Calls",
            event_bus=bus,
            description=f"Call steps naming {name}: the call's detail is the request body",
            event_pattern=events.EventPattern(
                source=[ACTIONS_SOURCE], detail_type=[ACTION_REQUESTED], detail={"destination": [name]}
            ),
            targets=[
                targets.ApiDestination(
                    api,
                    event=events.RuleTargetInput.from_event_path("$.detail"),
                    dead_letter_queue=self.undelivered_calls,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
