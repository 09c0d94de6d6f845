"""The backtest's DynamoDB count (backtest/metering.py) is the requests the DynamoDB adapters
really make: every store contract scenario, run on the metered memory store and on the DynamoDB
store against moto, asks the same number of requests of each operation; the rate limiter's too."""

from __future__ import annotations

import inspect
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from postventa.adapters.memory import MemoryRateLimiter, MemoryStore
from postventa.adapters.rate import DynamoRateLimiter
from postventa.adapters.store import Store
from postventa.backtest.metering import SHARED, STORE, Meter, MeteredRateLimiter, MeteredStore
from postventa.local.simulate import LOCAL_SETTINGS, provision_local_resources
from postventa.models.events import Channel
from tests.integration import test_store_contract as contract

SCENARIOS = {name: test for name, test in vars(contract).items() if name.startswith("test_")}


class _CountingStore:
    """The DynamoDB store, the requests each of its calls sends counted by operation."""

    def __init__(self, store: Store, calls: list[str]):
        self._store, self._calls = store, calls
        self.requests: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def counted(*args: Any) -> Any:
            before = len(self._calls)
            try:
                return method(*args)
            finally:
                self.requests[name] += len(self._calls) - before

        return counted


def _table() -> Any:
    provision_local_resources(dict(LOCAL_SETTINGS))
    return boto3.resource("dynamodb", region_name="us-east-1").Table(LOCAL_SETTINGS["table_name"])


def _calls_of(table: Any) -> list[str]:
    calls: list[str] = []
    table.meta.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    return calls


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_store_operation_is_counted_as_the_requests_dynamodb_is_sent(scenario):
    assert "store" in inspect.signature(SCENARIOS[scenario]).parameters
    meter = Meter()
    SCENARIOS[scenario](MeteredStore(MemoryStore(), meter))
    with mock_aws():
        table = _table()
        dynamodb = _CountingStore(Store(table), _calls_of(table))
        SCENARIOS[scenario](dynamodb)
    assert set(dynamodb.requests) <= set(STORE)  # every operation the scenario used is metered
    assert meter.requests == +dynamodb.requests
    unshared = meter.requests.total() - sum(meter.requests[name] for name in SHARED)
    assert meter.units["read"] + meter.units["write"] >= unshared  # at least one unit a request


def test_the_sending_rate_is_counted_as_the_requests_dynamodb_is_sent():
    nine = datetime(2026, 3, 2, 9, 0, 0, 100_000, tzinfo=UTC)
    clock = [nine]

    def use(limiter: Any) -> None:
        limiter.acquire(Channel.EMAIL)
        limiter.acquire(Channel.EMAIL)  # refused: the second is full
        limiter.reserve(Channel.EMAIL)  # the queue starts again: one request fewer than counted
        limiter.reserve(Channel.EMAIL)
        limiter.reserve(Channel.EMAIL, transactional=False)
        limiter.reserve(Channel.EMAIL, transactional=False)
        clock[0] += timedelta(seconds=1)

    meter = Meter()
    use(MeteredRateLimiter(MemoryRateLimiter({Channel.EMAIL: 1}, lambda: clock[0]), meter))
    clock[0] = nine
    with mock_aws():
        table = _table()
        calls = _calls_of(table)
        use(DynamoRateLimiter(table, {Channel.EMAIL: 1}, lambda: clock[0]))
    # A queue's first reservation after a pause takes one update, not two: the meter assumes a
    # backlog (where reservations happen), so it counts at most one request more per queue.
    assert len(calls) <= meter.requests.total() <= len(calls) + 2
