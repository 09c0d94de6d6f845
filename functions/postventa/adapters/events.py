"""Publishing Postventa's own events (occasions) to its EventBridge bus."""

from __future__ import annotations

from typing import Any

from postventa.models.events import DetailType, OccasionReachedV1

SOURCE = "postventa.occasions"
PUT_EVENTS_LIMIT = 10


class EventPublishFailed(RuntimeError):
    pass


class OccasionPublisher:
    def __init__(self, client: Any, bus_name: str):
        self._client = client
        self._bus_name = bus_name

    def __call__(self, occasions: list[OccasionReachedV1]) -> None:
        for start in range(0, len(occasions), PUT_EVENTS_LIMIT):
            batch = occasions[start : start + PUT_EVENTS_LIMIT]
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": DetailType.OCCASION_REACHED.value,
                        "Detail": occasion.model_dump_json(),
                        "EventBusName": self._bus_name,
                        "Time": occasion.reached_at,
                    }
                    for occasion in batch
                ]
            )
            if response.get("FailedEntryCount"):
                # The next hourly run finds the same occasions again; their ids keep entry to once.
                raise EventPublishFailed(
                    f"{response['FailedEntryCount']} of {len(batch)} occasions were not published"
                )
