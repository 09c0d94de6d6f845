"""The account's sending quota per channel, shared by every concurrent run_step: a counter per
channel and second in DynamoDB, incremented only while under the configured rate; and, for the
sends a full second refused, a queue: one ticket counter per channel handing out shares of the
seconds to come in turn, each counted in its second as it is handed out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from postventa.models.events import Channel

WINDOW_TTL_SECONDS = 120  # a second's counter is useless a second later; TTL clears it


def _refused(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class DynamoRateLimiter:
    def __init__(self, table: Any, per_second: dict[Channel, int], clock: Callable[[], datetime]):
        self._table = table
        self._per_second = per_second
        self._clock = clock

    def acquire(self, channel: Channel) -> bool:
        limit = self._per_second.get(channel)
        if limit is None:
            return True
        try:
            self._count(channel, int(self._clock().timestamp()), below=limit)
        except ClientError as error:
            if _refused(error):
                return False
            raise
        return True

    def reserve(self, channel: Channel, *, transactional: bool = True) -> datetime:
        # Tickets, not times: ticket n is a share of second n // rate, so no rounding ever puts
        # one share too many in a second. The rate is in the key: a changed rate starts a new queue.
        limit = self._per_second[channel]
        first = (int(self._clock().timestamp()) + 1) * limit  # the next second's first ticket
        transactional_queue = {"pk": f"RATE#{channel.value}", "sk": f"queue#{limit}"}
        if transactional:
            ticket = self._ticket(transactional_queue, first)
            # Handed out once: its second may not give it again.
            self._count(channel, ticket // limit, below=None)
        else:  # behind every transactional ticket handed out; not counted: it acquires at its time
            ahead = self._table.get_item(Key=transactional_queue, ConsistentRead=True).get("Item", {})
            first = max(first, int(ahead.get("next_ticket", 0)))
            ticket = self._ticket({**transactional_queue, "sk": f"queue#{limit}#marketing"}, first)
        return datetime.fromtimestamp(ticket // limit, UTC)

    def _ticket(self, queue: dict[str, str], first: int) -> int:
        """The queue's next ticket, or `first` when the queue is behind it (no backlog)."""
        try:  # no backlog: the queue starts again at `first`
            self._table.update_item(
                Key=queue,
                UpdateExpression="SET next_ticket = :after",
                ConditionExpression="attribute_not_exists(next_ticket) OR next_ticket < :first",
                ExpressionAttributeValues={":after": first + 1, ":first": first},
            )
            return first
        except ClientError as error:
            if not _refused(error):
                raise
        taken = self._table.update_item(
            Key=queue,
            UpdateExpression="ADD next_ticket :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(taken["Attributes"]["next_ticket"]) - 1

    def _count(self, channel: Channel, second: int, *, below: int | None) -> None:
        """One more send in `second`; with `below`, only while its count is under it."""
        values: dict[str, int] = {":one": 1, ":expires": second + WINDOW_TTL_SECONDS}
        condition: dict[str, str] = {}
        if below is not None:
            values[":limit"] = below
            condition["ConditionExpression"] = "attribute_not_exists(sends) OR sends < :limit"
        self._table.update_item(
            Key={"pk": f"RATE#{channel.value}", "sk": str(second)},
            UpdateExpression="ADD sends :one SET expires_at = :expires",
            ExpressionAttributeValues=values,
            **condition,
        )
