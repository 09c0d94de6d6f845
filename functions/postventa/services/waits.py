"""register_wait's work: park a journey on its task token until the customer's event arrives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from postventa.journeys.tasks import WaitRequest, WaitResult
from postventa.logic.entry import same_values
from postventa.logic.waits import already_happened
from postventa.models.events import DetailType
from postventa.models.records import MessageRecord, MessageStatus, PendingWait
from postventa.services.ports import CustomerStore, Workflows

ENGAGEMENT: dict[str, Callable[[MessageRecord], bool]] = {
    DetailType.MESSAGE_OPENED: lambda message: message.opened_at is not None,
    DetailType.MESSAGE_CLICKED: lambda message: message.clicked_at is not None,
    # Failed after a provider took it (the carrier or the mailbox refused it), or after it was
    # handed over with no answer (an outcome unknown, never sent again): a receipt that may come
    # twice, by two channels, rather than none.
    DetailType.MESSAGE_UNDELIVERED: lambda message: (
        message.status is MessageStatus.FAILED
        and (message.sent_at is not None or message.handed_over_at is not None)
    ),
}


class WaitRegistrar:
    def __init__(self, *, store: CustomerStore, workflows: Workflows):
        self._store = store
        self._workflows = workflows

    def register(self, request: WaitRequest) -> WaitResult:
        wait = PendingWait(
            customer_id=request.customer_id,
            order_id=request.order_id if request.same_order else None,
            event=str(request.event),
            execution_id=request.execution_id,
            step=request.step,
            task_token=request.task_token,
            registered_at=request.now,
            matched=same_values(request.same or [], request.trigger or {}),
        )
        # Write first, then look: on_order writes the order first, then looks for waits, so an
        # event racing this registration is seen by at least one side; a second resume is refused.
        self._store.put_wait(wait)
        order = self._store.get_order(request.order_id) if request.order_id else None
        if already_happened(request.event, order) or self._engaged(request) or self._seen(request, wait):
            self._workflows.resume(request.task_token, {"already": True})
            self._store.delete_wait(wait)
            return WaitResult(waiting=False)
        return WaitResult(waiting=True)

    def _seen(self, request: WaitRequest, wait: PendingWait) -> bool:
        """A shop's event awaited here that arrived since the journey's own event (on_order notes
        each): the wait registered after it, a send before it held or retried."""
        if isinstance(request.event, DetailType):
            return False
        trigger = request.trigger or {}
        since = (
            datetime.fromisoformat(trigger["occurred_at"]) if "occurred_at" in trigger else request.started_at
        )
        if since is None:
            return False
        return any(
            all(seen.matched.get(name) == value for name, value in wait.matched.items())
            for seen in self._store.seen_since(request.customer_id, str(request.event), since)
        )

    def _engaged(self, request: WaitRequest) -> bool:
        """An open, a click or a refusal of this execution's message that came before the wait
        was registered."""
        happened = ENGAGEMENT.get(request.event)
        return happened is not None and any(
            happened(message)
            for message in self._store.messages_of(request.customer_id)
            if message.execution_id == request.execution_id
        )
