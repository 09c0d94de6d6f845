"""Publishing Postventa's own events (occasions, survey answers, calls) to its EventBridge bus."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from postventa.services.errors import EventsNotPublished, describe

PUT_EVENTS_LIMIT = 10


class BusPublisher:
    def __init__(self, client: Any, bus_name: str, source: str):
        self._client = client
        self._bus_name = bus_name
        self._source = source

    def publish(self, detail_type: str, details: Sequence[tuple[BaseModel, datetime]]) -> None:
        """Each detail with the time it happened; EventsNotPublished if a batch was not accepted."""
        for start in range(0, len(details), PUT_EVENTS_LIMIT):
            batch = details[start : start + PUT_EVENTS_LIMIT]
            try:
                response = self._put(detail_type, batch)
            except ClientError as error:  # an answer, so nothing of the batch was taken
                raise EventsNotPublished(f"EventBridge refused the events: {describe(error)}") from error
            if response.get("FailedEntryCount"):
                raise EventsNotPublished(
                    f"{response['FailedEntryCount']} of {len(batch)} events were not published"
                )

    def _put(self, detail_type: str, batch: Sequence[tuple[BaseModel, datetime]]) -> Any:
        return self._client.put_events(
            Entries=[
                {
                    "Source": self._source,
                    "DetailType": str(detail_type),
                    "Detail": detail.model_dump_json(),
                    "EventBusName": self._bus_name,
                    "Time": at,
                }
                for detail, at in batch
            ]
        )
