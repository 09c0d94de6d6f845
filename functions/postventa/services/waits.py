"""register_wait's work: park a journey on its task token until the customer's event arrives."""

from __future__ import annotations

from postventa.journeys.tasks import WaitRequest, WaitResult
from postventa.logic.waits import already_happened
from postventa.models.events import DetailType
from postventa.models.records import PendingWait
from postventa.services.ports import CustomerStore, Workflows

ENGAGEMENT_FIELDS = {DetailType.MESSAGE_OPENED: "opened_at", DetailType.MESSAGE_CLICKED: "clicked_at"}


class WaitRegistrar:
    def __init__(self, *, store: CustomerStore, workflows: Workflows):
        self._store = store
        self._workflows = workflows

    def register(self, request: WaitRequest) -> WaitResult:
        wait = PendingWait(
            customer_id=request.customer_id,
            order_id=request.order_id if request.same_order else None,
            event=request.event.value,
            execution_id=request.execution_id,
            step=request.step,
            task_token=request.task_token,
            registered_at=request.now,
        )
        # Write first, then look: on_order writes the order first, then looks for waits, so an
        # event racing this registration is seen by at least one side; a second resume is refused.
        self._store.put_wait(wait)
        order = self._store.get_order(request.order_id) if request.order_id else None
        if already_happened(request.event, order) or self._engaged(request):
            self._workflows.resume(request.task_token, {"already": True})
            self._store.delete_wait(wait)
            return WaitResult(waiting=False)
        return WaitResult(waiting=True)

    def _engaged(self, request: WaitRequest) -> bool:
        """An open or click of this execution's message that came before the wait was registered."""
        field = ENGAGEMENT_FIELDS.get(request.event)
        return field is not None and any(
            getattr(message, field) is not None
            for message in self._store.messages_of(request.customer_id)
            if message.execution_id == request.execution_id
        )
