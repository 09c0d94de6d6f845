"""The backtest's sending rate keeps the same count as the deployed one (tests/integration/test_channels.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from postventa.adapters.memory import MemoryRateLimiter
from postventa.models.events import Channel

NINE = datetime(2026, 3, 2, 9, 0, 0, 500_000, tzinfo=UTC)


def test_a_backlog_is_handed_the_seconds_to_come_at_the_rate_and_no_faster():
    clock = [NINE]
    limiter = MemoryRateLimiter({Channel.EMAIL: 3}, lambda: clock[0])
    assert [limiter.acquire(Channel.EMAIL) for _ in range(4)] == [True, True, True, False]
    slots = Counter(limiter.reserve(Channel.EMAIL) for _ in range(100))
    second = NINE.replace(microsecond=0)
    assert set(slots.values()) == {3, 1} and slots[second + timedelta(seconds=34)] == 1
    assert min(slots) == second + timedelta(seconds=1)
    clock[0] = NINE + timedelta(seconds=1)
    assert not limiter.acquire(Channel.EMAIL)  # its shares went to the backlog
    clock[0] = NINE + timedelta(seconds=60)
    assert limiter.acquire(Channel.EMAIL) and limiter.reserve(Channel.EMAIL) == second + timedelta(seconds=61)
    assert limiter.refused == 2


def test_marketing_queues_behind_every_confirmation_even_those_that_come_later():
    """Refused promotions are placed after the transactional backlog, without taking its shares:
    a confirmation refused later is still given an earlier second than them, and at their time
    they try for what the confirmations left."""
    clock = [NINE]
    limiter = MemoryRateLimiter({Channel.EMAIL: 2}, lambda: clock[0])
    second = lambda n: NINE.replace(microsecond=0) + timedelta(seconds=n)  # noqa: E731
    assert [limiter.reserve(Channel.EMAIL) for _ in range(3)] == [second(1), second(1), second(2)]
    promotions = [limiter.reserve(Channel.EMAIL, transactional=False) for _ in range(3)]
    assert promotions == [second(2), second(3), second(3)]  # after the third confirmation
    assert limiter.reserve(Channel.EMAIL) == second(2)  # a later confirmation still goes first
    clock[0] = second(2)
    assert not limiter.acquire(Channel.EMAIL)  # the confirmations have 09:00:02: behind the others
    assert limiter.reserve(Channel.EMAIL, transactional=False) == second(4)
    clock[0] = second(3)
    assert [limiter.acquire(Channel.EMAIL) for _ in range(3)] == [True, True, False]


def test_a_partitions_share_of_the_rate_may_be_a_fraction_and_adds_up_to_the_accounts():
    """50 backtest partitions share 14 emails a second: each may send 14 in each 50 seconds, not
    one a second each (50 a second in all, as rounding the share up would allow)."""
    from fractions import Fraction

    start = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
    clock = [start]
    limiter = MemoryRateLimiter({Channel.EMAIL: Fraction(14, 50)}, lambda: clock[0])
    sent, windows = 0, set()
    for second in range(200):
        clock[0] = start + timedelta(seconds=second)
        windows.add(int(clock[0].timestamp()) // 50)
        sent += sum(limiter.acquire(Channel.EMAIL) for _ in range(20))
    assert len(windows) in (4, 5) and sent == 14 * len(windows)  # 14 in each 50 s: 0.28 a second
    window_end = datetime.fromtimestamp((int(clock[0].timestamp()) // 50 + 1) * 50, UTC)
    assert limiter.reserve(Channel.EMAIL) == window_end  # a refused send's turn: the next window
