"""The account's sending quota per channel, shared by every concurrent run_step: a counter per
channel and second in DynamoDB, incremented only while under the configured rate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from postventa.models.events import Channel

WINDOW_TTL_SECONDS = 120  # a second's counter is useless a second later; TTL clears it


class DynamoRateLimiter:
    def __init__(self, table: Any, per_second: dict[Channel, int], clock: Callable[[], datetime]):
        self._table = table
        self._per_second = per_second
        self._clock = clock

    def acquire(self, channel: Channel) -> bool:
        limit = self._per_second.get(channel)
        if limit is None:
            return True
        second = int(self._clock().timestamp())
        try:
            self._table.update_item(
                Key={"pk": f"RATE#{channel.value}", "sk": str(second)},
                UpdateExpression="ADD sends :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(sends) OR sends < :limit",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":limit": limit,
                    ":expires": second + WINDOW_TTL_SECONDS,
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
