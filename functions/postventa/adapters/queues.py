"""The invalid-events dead-letter queue: the event as received, with why it was refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

# Receives of one queued event before it is given up (the ingest queues' redrive policy; the
# handlers dead-letter it themselves on the last one, with the reason).
MAX_RECEIVES = 5
VISIBILITY_TIMEOUT = timedelta(minutes=3)  # six times on_order's timeout, as Lambda recommends


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
