"""A backtest over worker processes: customers never affect each other's journeys, so the history
is split by customer and the partitions' tallies add up; any number of workers gives the same."""

from __future__ import annotations

import gc
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from postventa.backtest.assumptions import Assumptions
from postventa.backtest.history import BacktestInputError, read_orders
from postventa.backtest.partitions import (
    ORDERS_PER_PARTITION,
    count_rows,
    partition_name,
    partition_of,
    partitions_for,
    split_history,
)
from postventa.backtest.replay import Tally, paused_garbage_collector, replay
from postventa.backtest.report import BacktestReport, build_report
from postventa.journeys.model import Journey
from postventa.models.events import OrderPlacedV1

_FORKED: dict[str, Any] = {}  # what forked workers inherit instead of unpickling


def _replay_forked(partition: int) -> Tally:
    """A worker lives for one partition: its collector stays off (the replay makes few reference
    cycles, and the collector's passes over the records in flight would free next to nothing). A
    partition on disk is read by its worker alone."""
    gc.disable()
    inherited = _FORKED
    orders = inherited["partitions"][partition]
    return replay(
        read_orders(orders)[0] if isinstance(orders, Path) else orders,
        inherited["journeys"],
        inherited["assumptions"],
        inherited["progress"].put,
        archive=inherited["archive"],
        part=f"part-{partition}",
        partitions=len(inherited["partitions"]),
        period=inherited["period"],
    )


def _replay_partitions(
    partitions: Sequence[list[OrderPlacedV1] | Path],
    period: tuple[datetime, datetime],
    journeys: dict[str, Journey],
    assumptions: Assumptions,
    *,
    workers: int,
    progress: Callable[[int], None],
    archive: Path | None,
) -> Tally:
    """The partitions replayed over forked worker processes, one process per partition (so what a
    partition held is given back when it ends), their tallies added."""
    context = multiprocessing.get_context("fork")
    queue = context.SimpleQueue()
    _FORKED.update(
        partitions=partitions,
        journeys=journeys,
        assumptions=assumptions,
        progress=queue,
        archive=archive,
        period=period,
    )
    try:
        with context.Pool(workers, maxtasksperchild=1) as pool:
            pending = pool.map_async(
                _replay_forked,
                [i for i, p in enumerate(partitions) if (p.exists() if isinstance(p, Path) else p)],
                chunksize=1,
            )
            while not pending.ready() or not queue.empty():
                while not queue.empty():
                    progress(queue.get())
                pending.wait(0.1)
            return sum(pending.get(), Tally())
    finally:
        _FORKED.clear()


def run_backtest(
    orders: list[OrderPlacedV1],
    journeys: dict[str, Journey],
    assumptions: Assumptions | None = None,
    *,
    workers: int = 1,
    progress: Callable[[int], None] = lambda done: None,
    archive: Path | None = None,
) -> BacktestReport:
    """A history in memory, split over `workers` partitions. archive: also write the analytics
    archive there (the input of `postventa report`)."""
    if not orders:
        raise BacktestInputError("the history has no orders")
    assumptions = assumptions or Assumptions()
    started = time.perf_counter()
    if workers <= 1:
        with paused_garbage_collector():
            tally = replay(orders, journeys, assumptions, progress, archive=archive)
    else:
        partitions: list[list[OrderPlacedV1]] = [[] for _ in range(workers)]
        for order in orders:
            partitions[partition_of(order.customer.id, workers)].append(order)
        period = (min(o.placed_at for o in orders), max(o.placed_at for o in orders))
        tally = _replay_partitions(
            partitions, period, journeys, assumptions, workers=workers, progress=progress, archive=archive
        )
    return _report(tally, journeys, assumptions, len(orders), time.perf_counter() - started)


def run_backtest_file(
    history: Path,
    journeys: dict[str, Journey],
    assumptions: Assumptions | None = None,
    *,
    workers: int = 1,
    progress: Callable[[int], None] = lambda done: None,
    archive: Path | None = None,
    per_partition: int = ORDERS_PER_PARTITION,
) -> BacktestReport:
    """A history CSV streamed into partitions on disk by customer, as a run on AWS splits it (at
    least one per worker, at most `per_partition` orders each), each read and replayed by a
    worker of its own: neither this process nor a worker ever holds the whole history, so memory
    follows a partition and its customers in flight, whatever the history's length."""
    assumptions = assumptions or Assumptions()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        count = max(workers, partitions_for(count_rows(history), per_partition))
        split = split_history(history, count, Path(scratch))
        tally = _replay_partitions(
            [Path(scratch) / partition_name(index) for index in range(count)],
            (split.first, split.last),
            journeys,
            assumptions,
            workers=max(1, workers),
            progress=progress,
            archive=archive,
        )
    report = _report(tally, journeys, assumptions, split.orders, time.perf_counter() - started)
    report.refused_rows = split.refused
    return report


def _report(
    tally: Tally, journeys: dict[str, Journey], assumptions: Assumptions, orders: int, wall: float
) -> BacktestReport:
    report = build_report(tally, journeys, assumptions)
    report.wall_seconds = round(wall, 2)
    report.orders_per_second = round(orders / wall, 1)
    return report
