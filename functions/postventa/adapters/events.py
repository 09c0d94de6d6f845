"""Publishing Postventa's own events (occasions, survey answers) to its EventBridge bus."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from postventa.models.events import DetailType

PUT_EVENTS_LIMIT = 10


class EventPublishFailed(RuntimeError):
    pass


class BusPublisher:
    def __init__(self, client: Any, bus_name: str, source: str):
        self._client = client
        self._bus_name = bus_name
        self._source = source

    def publish(self, detail_type: DetailType, details: Sequence[tuple[BaseModel, datetime]]) -> None:
        """Each detail with the time it happened; raises if any was not accepted."""
        for start in range(0, len(details), PUT_EVENTS_LIMIT):
            batch = details[start : start + PUT_EVENTS_LIMIT]
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": self._source,
                        "DetailType": detail_type.value,
                        "Detail": detail.model_dump_json(),
                        "EventBusName": self._bus_name,
                        "Time": at,
                    }
                    for detail, at in batch
                ]
            )
            if response.get("FailedEntryCount"):
                raise EventPublishFailed(
                    f"{response['FailedEntryCount']} of {len(batch)} events were not published"
                )
