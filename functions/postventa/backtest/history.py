"""The backtest's input: an order history (a CSV, or a synthetic one for benchmarks), and the
events it makes, in the order they happen."""

from __future__ import annotations

import csv
import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from postventa.logic.spread import fraction
from postventa.models.common import Money
from postventa.models.events import (
    CustomerV1,
    DetailType,
    InboundEvent,
    LineItemV1,
    OrderFulfilledV1,
    OrderPlacedV1,
)

REQUIRED_COLUMNS = ("customer_id", "placed_at", "total")
OPTIONAL_COLUMNS = ("order_id", "currency", "email", "items", "categories", "birthday")


class BacktestInputError(ValueError):
    pass


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a bare date or time is read as UTC


def read_orders(path: Path, currency: str = "USD") -> tuple[list[OrderPlacedV1], list[str]]:
    """Orders from a CSV with a header; rows that cannot be read are returned with line and reason."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        check_header(path, reader.fieldnames)
        orders, refused = [], []
        for line, row in enumerate(reader, start=2):
            try:
                orders.append(parse_order(row, line, currency))
            except (ValueError, InvalidOperation) as error:
                refused.append(f"{path}:{line}: {error}")
    return orders, refused


def check_header(path: Path, columns: Sequence[str] | None) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in (columns or [])]
    if missing:
        raise BacktestInputError(
            f"{path}: the header lacks {', '.join(missing)} (required: {', '.join(REQUIRED_COLUMNS)})"
        )


def parse_order(row: dict[str, str], line: int, default_currency: str = "USD") -> OrderPlacedV1:
    """One row of the history; line names the order when the row gives no order_id."""
    placed_at = _parse_time(row["placed_at"])
    currency = (row.get("currency") or default_currency).strip().upper()
    total = Money(amount=Decimal(row["total"].strip()), currency=currency)
    categories = [c.strip() for c in (row.get("categories") or "").split(";") if c.strip()]
    names = [n.strip() for n in (row.get("items") or "").split(";") if n.strip()] or ["item"]
    # The history gives the total, not each price: it is spread over the items for the templates' sake.
    share = (total.amount / len(names)).quantize(Decimal("0.01"))
    customer_id = row["customer_id"].strip()
    return OrderPlacedV1(
        order_id=(row.get("order_id") or "").strip() or f"{customer_id}-{line}",
        placed_at=placed_at,
        customer=CustomerV1(
            id=customer_id,
            email=(row.get("email") or "").strip() or None,
            birthday=date.fromisoformat(birthday)
            if (birthday := (row.get("birthday") or "").strip())
            else None,
        ),
        currency=currency,
        total=total,
        items=[
            LineItemV1(
                name=name,
                quantity=1,
                unit_price=Money(amount=share, currency=currency),
                categories=categories,
            )
            for name in names
        ],
    )


def synthetic_history(
    orders: int, customers: int, months: int, seed: str = "postventa"
) -> list[OrderPlacedV1]:
    """A repeatable history for benchmarks: every customer orders once, some order again; half the
    customers gave a birthday, a fifth of the orders hold consumables, so every journey is reached."""
    return list(_synthetic_orders(orders, customers, months, seed))


def write_synthetic_history(
    path: Path, orders: int, customers: int, months: int, seed: str = "postventa"
) -> Path:
    """The same history as a CSV of the backtest's format, written as it is made (never held)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*REQUIRED_COLUMNS, "order_id", "categories", "birthday"])
        for order in _synthetic_orders(orders, customers, months, seed):
            birthday = order.customer.birthday
            writer.writerow(
                [
                    order.customer.id,
                    order.placed_at.isoformat(),
                    order.total.amount,
                    order.order_id,
                    ";".join(order.items[0].categories),
                    birthday.isoformat() if birthday else "",
                ]
            )
    return path


def _synthetic_orders(orders: int, customers: int, months: int, seed: str) -> Iterator[OrderPlacedV1]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    span = timedelta(days=30 * months)
    for index in range(orders):
        customer = index if index < customers else int(fraction(seed, "who", str(index)) * customers)
        placed_at = start + span * fraction(seed, "when", str(index))
        amount = Decimal(20 + int(fraction(seed, "total", str(index)) * 180))
        birthday_draw = fraction(seed, "birthday", str(customer))
        birthday = (
            date(1990, 1, 1) + timedelta(days=int(birthday_draw * 2 * 365)) if birthday_draw < 0.5 else None
        )
        consumable = fraction(seed, "consumable", str(index)) < 0.2
        yield OrderPlacedV1(
            order_id=f"o{index}",
            placed_at=placed_at,
            customer=CustomerV1(id=f"c{customer}", birthday=birthday),
            currency="USD",
            total=Money(amount=amount, currency="USD"),
            items=[
                LineItemV1(
                    name="item",
                    quantity=1,
                    unit_price=Money(amount=amount, currency="USD"),
                    categories=["consumables"] if consumable else [],
                )
            ],
        )


def order_events(
    orders: list[OrderPlacedV1],
    fulfilment_days: float,
    fill_in: Callable[[OrderPlacedV1], OrderPlacedV1] = lambda order: order,
) -> Iterator[InboundEvent]:
    """Orders as they arrive (each through fill_in), and each one's fulfilment after the assumed
    delay, in time order."""
    queue: list[tuple[datetime, int, InboundEvent]] = []
    sequence = itertools.count()
    for order in sorted(orders, key=lambda o: o.placed_at):
        while queue and queue[0][0] <= order.placed_at:
            yield heapq.heappop(queue)[2]
        yield InboundEvent(
            event_id=f"placed-{order.order_id}",
            source="backtest",
            detail_type=DetailType.ORDER_PLACED,
            received_at=order.placed_at,
            detail=fill_in(order),
        )
        fulfilled_at = order.placed_at + timedelta(days=fulfilment_days)
        fulfilled = OrderFulfilledV1(
            order_id=order.order_id, customer_id=order.customer.id, fulfilled_at=fulfilled_at
        )
        event = InboundEvent(
            event_id=f"fulfilled-{order.order_id}",
            source="backtest",
            detail_type=DetailType.ORDER_FULFILLED,
            received_at=fulfilled_at,
            detail=fulfilled,
        )
        heapq.heappush(queue, (fulfilled_at, next(sequence), event))
    while queue:
        yield heapq.heappop(queue)[2]
