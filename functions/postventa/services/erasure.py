"""Forgetting a customer, and showing them what is kept: the customer's own requests.

Erasure deletes every item Postventa keeps under the customer (profile, contact ledger, journey
entries, messages, pending waits, decisions, survey answers, app inbox cards), their orders and the events kept for
those orders, their calendar entries and phone link, and their rows in the analytics archive, and
stops their running journeys first so no step writes after the deletion. What stays, and why, is
in docs/architecture.md ("Erasure and export").
"""

from __future__ import annotations

from typing import Any

from postventa.logic.occasions import calendar_keys
from postventa.logic.sms import e164
from postventa.services.ports import ArchiveEraser, CustomerStore, Workflows

ERASED = "customer erased"


class CustomerErasure:
    def __init__(
        self,
        *,
        store: CustomerStore,
        workflows: Workflows,
        archive: ArchiveEraser | None = None,
        default_timezone: str = "UTC",
    ):
        """archive: the analytics archive, where one is kept (its rows of the customer go too)."""
        self._store = store
        self._workflows = workflows
        self._archive = archive
        self._default_timezone = default_timezone

    def export(self, customer_id: str) -> dict[str, Any]:
        """Everything kept about the customer, as JSON-ready data (a data subject access request)."""
        store = self._store
        profile = store.get_profile(customer_id)

        def dumped(records: Any) -> list[dict[str, Any]]:
            return [record.model_dump(mode="json", exclude_none=True) for record in records]

        return {
            "customer_id": customer_id,
            "profile": profile.model_dump(mode="json", exclude_none=True) if profile else None,
            "orders": dumped(store.orders_of(customer_id)),
            "journeys": dumped(store.entries_of(customer_id)),
            "messages": dumped(store.messages_of(customer_id)),
            "decisions": dumped(store.decisions_of(customer_id)),
            "survey_answers": dumped(store.answers_of(customer_id)),
            "inbox_cards": dumped(store.cards_of(customer_id)),
        }

    def erase(self, customer_id: str) -> dict[str, int]:
        """Idempotent: erasing again finds nothing more to delete."""
        store = self._store
        running = [
            arn
            for entry in store.entries_of(customer_id)
            if (arn := entry.execution_arn) and not entry.ended_reason
        ]
        for arn in running:
            self._workflows.stop(arn, ERASED)  # one that has finished stays as it was
        profile = store.get_profile(customer_id)
        if profile is not None:
            zone = profile.timezone or self._default_timezone
            store.move_calendar(customer_id, zone, calendar_keys(profile, self._default_timezone), set())
            number = e164(profile.phone, profile.country)
            if number:
                store.unlink_phone(number, customer_id)
        keys = store.keys_of(customer_id)
        store.delete(keys)
        archived = self._archive.erase(customer_id) if self._archive else 0
        return {
            "items_deleted": len(keys),
            "journeys_stopped": len(running),
            "archive_rows_deleted": archived,
        }
