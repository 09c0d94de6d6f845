"""A backtest over worker processes: customers never affect each other's journeys, so the history
is split by customer and the partitions' tallies add up; any number of workers gives the same."""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from postventa.backtest.assumptions import Assumptions
from postventa.backtest.history import BacktestInputError
from postventa.backtest.partitions import partition_of
from postventa.backtest.replay import Tally, paused_garbage_collector, replay
from postventa.backtest.report import BacktestReport, build_report
from postventa.journeys.model import Journey
from postventa.models.events import OrderPlacedV1

_FORKED: dict[str, Any] = {}  # what forked workers inherit instead of unpickling


def _replay_forked(partition: int) -> Tally:
    """A worker lives for one partition: its collector stays off (the replay makes few reference
    cycles, and the collector's passes over the records in flight would free next to nothing)."""
    gc.disable()
    inherited = _FORKED
    return replay(
        inherited["partitions"][partition],
        inherited["journeys"],
        inherited["assumptions"],
        inherited["progress"].put,
        archive=inherited["archive"],
        part=f"part-{partition}",
        partitions=len(inherited["partitions"]),
        period=inherited["period"],
    )


def run_backtest(
    orders: list[OrderPlacedV1],
    journeys: dict[str, Journey],
    assumptions: Assumptions | None = None,
    *,
    workers: int = 1,
    progress: Callable[[int], None] = lambda done: None,
    archive: Path | None = None,
) -> BacktestReport:
    """archive: also write the analytics archive there (the input of `postventa report`)."""
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
        context = multiprocessing.get_context("fork")
        queue = context.SimpleQueue()
        period = (min(o.placed_at for o in orders), max(o.placed_at for o in orders))
        _FORKED.update(
            partitions=partitions,
            journeys=journeys,
            assumptions=assumptions,
            progress=queue,
            archive=archive,
            period=period,
        )
        try:
            with context.Pool(workers) as pool:
                pending = pool.map_async(_replay_forked, [i for i, p in enumerate(partitions) if p])
                while not pending.ready() or not queue.empty():
                    while not queue.empty():
                        progress(queue.get())
                    pending.wait(0.1)
                tally = sum(pending.get(), Tally())
        finally:
            _FORKED.clear()
    wall = time.perf_counter() - started
    report = build_report(tally, journeys, assumptions)
    report.wall_seconds = round(wall, 2)
    report.orders_per_second = round(len(orders) / wall, 1)
    return report
