"""What the replay's store and sending rate would have cost in DynamoDB: each call the services
make on the in-memory adapters is counted as the requests the DynamoDB adapters make for it
(adapters/store.py, adapters/rate.py; tests/integration/test_metering.py holds this table to their
own calls against moto) and the capacity units those requests consume, from the sizes of the
records written and read."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from postventa.models.events import Channel

WRITE_UNIT, READ_UNIT = 1024, 4096  # bytes per write and per (strongly consistent) read unit
KEY_BYTES = 60  # pk, sk and the expiry attribute beside a record's own fields
SAMPLES = 64  # records of a kind measured before their mean size stands for the rest


@dataclass(frozen=True)
class Operation:
    write: bool
    requests: int = 1
    transactional: bool = False  # a transaction's writes cost two units per kilobyte
    read_back: bool = False  # a refused claim reads what is stored (claim_message)


READ, WRITE = Operation(write=False), Operation(write=True)
STORE: dict[str, Operation] = {
    "get_profile": READ,
    "save_profile": WRITE,
    "place_order": Operation(write=True, transactional=True),
    "link_phone": WRITE,
    "unlink_phone": WRITE,
    "customer_by_phone": READ,
    "calendar": READ,  # units: SHARED
    "move_calendar": WRITE,  # one batch of the keys moved (25 a request)
    "get_order": READ,
    "put_order": WRITE,
    "keep_early": WRITE,
    "early_events": READ,
    "forget_early": WRITE,
    "claim_entry": WRITE,
    "save_entry": WRITE,
    "entries_of": READ,
    "claim_message": Operation(write=True, read_back=True),
    "save_message": WRITE,
    "reclaim_message": WRITE,
    "hand_over": WRITE,
    "confirm_sent": WRITE,
    "release_message": WRITE,
    "drop_deferred": WRITE,
    "get_message": READ,
    "text_by_provider_id": READ,  # the gsi1 query of a sent text's provider id
    "messages_of": READ,
    "orders_of": READ,
    "decisions_of": READ,
    "answers_of": READ,
    "keys_of": READ,
    "delete": WRITE,  # one batch of the keys (25 a request)
    "contact_ledger": READ,
    "save_contact_ledger": WRITE,
    "save_decision": WRITE,
    "claim_decision": Operation(write=True, read_back=True),
    "release_decision": WRITE,
    "decided_winner": READ,
    "record_winner": WRITE,
    "forget_winner": WRITE,
    "save_nps": WRITE,
    "latest_nps": READ,
    "put_wait": WRITE,
    "delete_wait": WRITE,
    "waits_for": READ,
    "note_event": WRITE,
    "seen_since": READ,
    "put_card": WRITE,
    "cards_of": READ,
    "mark_read": WRITE,
    "count_open_hour": WRITE,
    "shop_open_hours": READ,
}
# The occasions schedule's calendar queries: every backtest partition makes the deployed
# schedule's own (for its share of the items), so they count once whatever the split, at half a
# unit each (eventually consistent; a calendar key's items are a few dozen bytes each).
SHARED: dict[str, float] = {"calendar": 0.5}
# Powertools Idempotency around each order event and each step: the in-progress put, then the
# completed update; small records.
IDEMPOTENCY = Operation(write=True, requests=2)
# adapters/rate.py: acquire, one conditional update; a reservation in a backlog, the refused
# reset and the ADD, then for a transactional one the second's count, for a marketing one (first)
# the read of the transactional queue.
ACQUIRE = WRITE
RESERVE = Operation(write=True, requests=2)


class Meter:
    """Requests and capacity units, in total and by operation."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # by operation
        self.units: defaultdict[str, float] = defaultdict(float)  # "read", "write" request units
        self._sizes: dict[type, list[int]] = {}
        self._mean: dict[type, int] = {}

    def count(self, name: str, operation: Operation, written: tuple[Any, ...], read: Any) -> None:
        if name in SHARED:
            self.requests[name] += 1  # its units: Tally.dynamodb_units_in_all
            return
        if operation.write:
            self._write(name, operation, written)
        if not operation.write or (operation.read_back and read is not None):
            requests = _read_requests(name, written, read)
            self.requests[name] += requests
            if isinstance(read, list):  # records of one kind
                size = self._size(read[0]) * len(read) if read and isinstance(read[0], BaseModel) else 0
            else:
                size = self._size(read) if isinstance(read, BaseModel) else 0
            units = max(requests, math.ceil(size / READ_UNIT))  # even an empty read costs one
            self.units["read"] += units

    def _write(self, name: str, operation: Operation, written: tuple[Any, ...]) -> None:
        keys = _batch_keys(name, written)
        if keys is not None:  # small items, 25 a request
            self.requests[name] += math.ceil(keys / 25)
            self.units["write"] += keys
            return
        self.requests[name] += operation.requests
        sizes = [self._size(record) for record in written if isinstance(record, BaseModel)] or [0]
        units = sum(max(1, math.ceil(size / WRITE_UNIT)) for size in sizes)
        self.units["write"] += units * (2 if operation.transactional else 1) * operation.requests

    def count_idempotency(self, invocations: int) -> None:
        self.requests["idempotency"] += IDEMPOTENCY.requests * invocations
        self.units["write"] += IDEMPOTENCY.requests * invocations

    def _size(self, record: BaseModel) -> int:
        """The record's item size: measured for the first records of its kind, then their mean."""
        kind = type(record)
        if kind in self._mean:
            return self._mean[kind]
        sizes = self._sizes.setdefault(kind, [])
        sizes.append(len(record.model_dump_json()) + KEY_BYTES)
        if len(sizes) == SAMPLES:
            self._mean[kind] = sum(sizes) // SAMPLES
        return sizes[-1]


def _read_requests(name: str, arguments: tuple[Any, ...], read: Any) -> int:
    """Reads of more than one query: a wait for an order's event is looked up under the order and
    under any order; an erasure's keys under the customer, their orders, and each order."""
    if name == "waits_for":
        return 1 if arguments[1] is None else 2
    if name == "keys_of":
        return 2 + len({key["pk"] for key in read if key["pk"].startswith("ORDER#")})
    return 1


def _batch_keys(name: str, written: tuple[Any, ...]) -> int | None:
    """How many keys a batch write moves (move_calendar's sets, delete's list); None: no batch."""
    if name == "move_calendar":
        return len(written[2]) + len(written[3])
    if name == "delete":
        return len(written[0])
    return None


class MeteredStore:
    """The store, each call counted (see Meter); everything else passes through."""

    def __init__(self, store: Any, meter: Meter):
        self._store, self._meter = store, meter

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        operation = STORE.get(name)
        if operation is None:
            return method
        meter = self._meter

        def metered(*args: Any) -> Any:
            result = method(*args)
            meter.count(name, operation, args, result)
            return result

        setattr(self, name, metered)  # looked up once
        return metered


class MeteredRateLimiter:
    def __init__(self, limiter: Any, meter: Meter):
        self._limiter, self._meter = limiter, meter

    def acquire(self, channel: Channel) -> bool:
        self._meter.count("rate.acquire", ACQUIRE, (), None)
        return bool(self._limiter.acquire(channel))

    def reserve(self, channel: Channel, *, transactional: bool = True) -> datetime:
        self._meter.count("rate.reserve", RESERVE, (), None)
        self._meter.count("rate.reserve", ACQUIRE if transactional else READ, (), None)
        return self._limiter.reserve(channel, transactional=transactional)  # type: ignore[no-any-return]
