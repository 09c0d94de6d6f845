"""Whether the event a journey is about to wait for has already happened."""

from __future__ import annotations

from postventa.models.events import DetailType
from postventa.models.records import OrderRecord, OrderStatus


def already_happened(event: DetailType, order: OrderRecord | None) -> bool:
    if order is None:
        return False
    if event is DetailType.ORDER_FULFILLED:
        return order.fulfilled_at is not None
    if event is DetailType.ORDER_REFUNDED:
        return order.status is OrderStatus.REFUNDED
    if event is DetailType.ORDER_CANCELLED:
        return order.status is OrderStatus.CANCELLED
    return False
