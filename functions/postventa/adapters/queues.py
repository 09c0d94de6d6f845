"""The invalid-events dead-letter queue: the event as received, with why it was refused."""

from __future__ import annotations

from typing import Any


class InvalidEventQueue:
    def __init__(self, client: Any, queue_url: str):
        self._client = client
        self._queue_url = queue_url

    def send(self, body: str, reason: str) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:4000]}},
        )
