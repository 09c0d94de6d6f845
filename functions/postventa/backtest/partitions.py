"""A history split by customer, for replays that run apart (processes here, Lambdas on AWS): every
customer's orders in one partition, the whole history's period beside them, and the partitions'
tallies as files that add up to the one report."""

from __future__ import annotations

import csv
import math
from contextlib import ExitStack
from datetime import datetime
from decimal import InvalidOperation
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter

from postventa.backtest.assumptions import Assumptions
from postventa.backtest.history import BacktestInputError, check_header, parse_order
from postventa.backtest.replay import Tally
from postventa.logic.spread import fraction

# A partition's replay must end well inside a Lambda's 15 minutes: about 2 minutes at the ~200
# orders per CPU-second make bench measures.
ORDERS_PER_PARTITION = 20_000

_TALLY = TypeAdapter(Tally)


def partition_of(customer_id: str, partitions: int) -> int:
    """The partition a customer's orders go to: a stable hash, so customers spread evenly."""
    return int(fraction("partition", customer_id) * partitions)


class SplitHistory(BaseModel):
    """What a split found in the history: the replays' shared period, and the rows it refused."""

    partitions: int = Field(ge=1)
    orders: int
    first: datetime
    last: datetime
    refused: list[str] = Field(default_factory=list)


class BacktestRun(SplitHistory):
    """runs/<id>/run.json: what every partition's replay and the merge read beside the history."""

    run_id: str
    assumptions: Assumptions
    submitted_at: datetime


def count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)


def partitions_for(orders: int, per_partition: int = ORDERS_PER_PARTITION) -> int:
    return max(1, math.ceil(orders / per_partition))


def split_history(path: Path, partitions: int, directory: Path) -> SplitHistory:
    """The history's rows, as they are, into directory/part-NNNNN.csv by customer, streamed: the
    history is never held. Rows that cannot be read are left out and named, as read_orders does."""
    writers: dict[int, csv.DictWriter[str]] = {}
    orders, refused = 0, []
    first: datetime | None = None
    last: datetime | None = None
    with ExitStack() as files:
        reader = csv.DictReader(files.enter_context(path.open(newline="", encoding="utf-8")))
        header = list(reader.fieldnames or [])
        columns = header if "order_id" in header else [*header, "order_id"]
        check_header(path, header)
        for line, row in enumerate(reader, start=2):
            try:
                order = parse_order(row, line)
            except (ValueError, InvalidOperation) as error:
                refused.append(f"{path}:{line}: {error}")
                continue
            row["order_id"] = order.order_id  # as read_orders names it, so partitions name orders alike
            index = partition_of(order.customer.id, partitions)
            if index not in writers:
                output = files.enter_context(
                    (directory / partition_name(index)).open("w", newline="", encoding="utf-8")
                )
                writers[index] = csv.DictWriter(output, fieldnames=columns, extrasaction="ignore")
                writers[index].writeheader()
            writers[index].writerow(row)
            orders += 1
            first = min(first or order.placed_at, order.placed_at)
            last = max(last or order.placed_at, order.placed_at)
    if first is None or last is None:
        raise BacktestInputError(f"{path}: the history has no orders")
    return SplitHistory(partitions=partitions, orders=orders, first=first, last=last, refused=refused)


def partition_name(index: int) -> str:
    return f"part-{index:05d}.csv"


def tally_json(tally: Tally) -> bytes:
    return _TALLY.dump_json(tally)


def read_tally(text: bytes | str) -> Tally:
    return _TALLY.validate_json(text)
