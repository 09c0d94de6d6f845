"""The analytics archive: one JSON-lines table per kind of domain record, partitioned by day
(`<table>/dt=YYYY-MM-DD/`). simulate and backtest write it locally; in the cloud the same rows
land in S3 through Firehose, read by Glue tables of the same columns. One column list serves both.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postventa.models.records import MessageRecord, NpsAnswer, OrderRecord, StepDecision

# table -> (column, DuckDB type, Glue/Athena type); timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC,
# the form both DuckDB and Hive's JSON SerDe read as a timestamp.
TABLES: dict[str, list[tuple[str, str, str]]] = {
    "orders": [
        ("customer_id", "VARCHAR", "string"),
        ("order_id", "VARCHAR", "string"),
        ("placed_at", "TIMESTAMP", "timestamp"),
        ("total", "DOUBLE", "double"),
        ("currency", "VARCHAR", "string"),
        ("categories", "VARCHAR[]", "array<string>"),
        ("products", "VARCHAR[]", "array<string>"),
    ],
    "messages": [
        ("message_id", "VARCHAR", "string"),
        ("customer_id", "VARCHAR", "string"),
        ("journey", "VARCHAR", "string"),
        ("step", "VARCHAR", "string"),
        ("channel", "VARCHAR", "string"),
        ("purpose", "VARCHAR", "string"),
        ("experiment", "VARCHAR", "string"),
        ("variant", "VARCHAR", "string"),
        ("status", "VARCHAR", "string"),
        ("reason", "VARCHAR", "string"),
        ("sent_at", "TIMESTAMP", "timestamp"),
        ("delivered_at", "TIMESTAMP", "timestamp"),
        ("opened_at", "TIMESTAMP", "timestamp"),
        ("clicked_at", "TIMESTAMP", "timestamp"),
        ("unsubscribed_at", "TIMESTAMP", "timestamp"),
        ("recorded_at", "TIMESTAMP", "timestamp"),  # a message is archived again on each change
    ],
    "assignments": [
        ("customer_id", "VARCHAR", "string"),
        ("journey", "VARCHAR", "string"),
        ("experiment", "VARCHAR", "string"),
        ("variant", "VARCHAR", "string"),
        ("assigned_at", "TIMESTAMP", "timestamp"),
    ],
    "surveys": [
        ("customer_id", "VARCHAR", "string"),
        ("score", "INTEGER", "int"),
        ("answered_at", "TIMESTAMP", "timestamp"),
    ],
}
PARTITION_BY = {
    "orders": "placed_at",
    "messages": "sent_at",
    "assignments": "assigned_at",
    "surveys": "answered_at",
}


def fresh_archive(root: Path) -> Path:
    """A directory for a new archive: an earlier run's tables there are removed (its days the new
    run does not reach would stay and mix into the report); one holding anything else is refused."""
    if root.is_file():
        raise ValueError(f"{root} is a file: an archive is a directory")
    if root.is_dir():
        foreign = sorted(entry.name for entry in root.iterdir() if entry.name not in TABLES)
        if foreign:
            raise ValueError(
                f"{root} holds {', '.join(foreign[:3])}, not an archive: give a new or empty directory"
            )
        for table in TABLES:
            shutil.rmtree(root / table, ignore_errors=True)
    return root


def sql_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def archive_row(table: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the table's columns, timestamps in the shared form."""
    row: dict[str, Any] = {}
    for column, duck_type, _ in TABLES[table]:
        value = values.get(column)
        if isinstance(value, datetime):
            value = sql_timestamp(value)
        elif value is not None and duck_type == "DOUBLE":
            value = float(value)
        elif value is not None and duck_type == "VARCHAR":
            value = str(value)
        row[column] = value
    return row


class ArchiveWriter:
    """Rows added in any number of batches (a backtest adds what it retires as it goes), written
    to their tables' day folders as one file per writer in each (`part`: backtest workers write
    side by side); a writer replaces what an earlier run left under its part."""

    FLUSH_EVERY = 50_000  # rows held before they are appended to their files

    def __init__(self, root: Path, part: str = "part-0"):
        self._root, self._part = root, part
        self._pending: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        self._begun: set[Path] = set()
        self._held = 0
        self.written = 0

    def add(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        for values in rows:
            row = archive_row(table, values)
            self._pending[(table, row[PARTITION_BY[table]][:10])].append(json.dumps(row))
            self._held += 1
        if self._held >= self.FLUSH_EVERY:
            self.flush()

    def add_records(
        self,
        *,
        orders: Iterable[OrderRecord] = (),
        messages: Iterable[MessageRecord] = (),
        decisions: Iterable[StepDecision] = (),
        answers: Iterable[NpsAnswer] = (),
    ) -> None:
        """Domain records as the table's stream archives them in the cloud."""
        self.add("orders", map(order_row, orders))
        self.add("messages", map(message_row, messages))
        self.add("assignments", (assignment_row(d) for d in decisions if d.experiment))
        self.add("surveys", map(survey_row, answers))

    def flush(self) -> None:
        for (table, day), lines in self._pending.items():
            folder = self._root / table / f"dt={day}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self._part}.jsonl"
            with path.open("a" if path in self._begun else "w", encoding="utf-8") as file:
                file.write("\n".join(lines) + "\n")
            self._begun.add(path)
        self._pending.clear()
        self.written += self._held
        self._held = 0


def write_archive(root: Path, table: str, rows: Iterable[Mapping[str, Any]], part: str = "part-0") -> int:
    writer = ArchiveWriter(root, part)
    writer.add(table, rows)
    writer.flush()
    return writer.written


def rows_without(customer_id: str, lines: str) -> tuple[str, int]:
    """An archive object's JSON lines less the customer's rows, and how many were removed."""
    kept, removed = [], 0
    for line in lines.splitlines():
        if line.strip() and json.loads(line).get("customer_id") == customer_id:
            removed += 1
        elif line.strip():
            kept.append(line)
    return "".join(f"{line}\n" for line in kept), removed


def order_row(order: OrderRecord) -> dict[str, Any]:
    return {
        "customer_id": order.customer_id,
        "order_id": order.order_id,
        "placed_at": order.placed_at,
        "total": order.total.amount,
        "currency": order.total.currency,
        "categories": sorted({c for item in order.items for c in item.categories}),
        "products": sorted({item.name for item in order.items}),
    }


def message_row(message: MessageRecord, recorded_at: datetime | None = None) -> dict[str, Any]:
    return {
        **message.model_dump(),
        "status": message.status.value,
        "sent_at": message.at,
        "recorded_at": recorded_at or message.at,
    }


def assignment_row(decision: StepDecision) -> dict[str, Any]:
    """A split's assignment: the variant, or the holdout."""
    return {**decision.model_dump(), "variant": decision.outcome, "assigned_at": decision.at}


def survey_row(answer: NpsAnswer) -> dict[str, Any]:
    return {"customer_id": answer.customer_id, "score": answer.score, "answered_at": answer.at}


def write_records(
    root: Path,
    *,
    orders: Iterable[OrderRecord],
    messages: Iterable[MessageRecord],
    decisions: Iterable[StepDecision],
    answers: Iterable[NpsAnswer],
    part: str = "part-0",
) -> None:
    """What a local run stored, as the table's stream archives it in the cloud."""
    writer = ArchiveWriter(root, part)
    writer.add_records(orders=orders, messages=messages, decisions=decisions, answers=answers)
    writer.flush()


def item_row(item: Mapping[str, Any], recorded_at: datetime) -> tuple[str, dict[str, Any]] | None:
    """A table item as the stream shows it (plain values) -> its archive table and row, if archived:
    orders, messages (every version), split assignments, survey answers."""
    kind = str(item.get("sk", ""))
    if kind == "ORDER":
        return "orders", archive_row("orders", order_row(OrderRecord.model_validate(item)))
    if kind.startswith("MESSAGE#"):
        return "messages", archive_row(
            "messages", message_row(MessageRecord.model_validate(item), recorded_at)
        )
    if kind.startswith("DECISION#"):
        decision = StepDecision.model_validate(item)
        return (
            ("assignments", archive_row("assignments", assignment_row(decision)))
            if decision.experiment
            else None
        )
    if kind.startswith("NPS#"):
        return "surveys", archive_row("surveys", survey_row(NpsAnswer.model_validate(item)))
    return None
