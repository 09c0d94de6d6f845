"""The occasions run (every five minutes): find whose birthday, anniversary or lapse is due now, and say so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from postventa.journeys.model import Journey
from postventa.logic.occasions import in_firing_slot, inactivity_thresholds, keys_to_look_up, occasions_due
from postventa.models.events import OccasionReachedV1
from postventa.services.ports import CustomerStore

Publish = Callable[[list[OccasionReachedV1]], None]


class OccasionScheduler:
    def __init__(
        self, *, store: CustomerStore, publish: Publish, journeys: dict[str, Journey], default_timezone: str
    ):
        self._store = store
        self._publish = publish
        self._thresholds = inactivity_thresholds(journeys.values())
        self._default_timezone = default_timezone

    def run(self, now: datetime) -> list[OccasionReachedV1]:
        """Occasions due now; each run may repeat an earlier one's, the occasion id keeps entry to once."""
        # Only customers in their slot of the 09:00 hour: the calendar carries each one's timezone,
        # so no profile is read for the others.
        customers = {
            customer
            for key in keys_to_look_up(now, self._thresholds)
            for customer, timezone in self._store.calendar(key)
            if in_firing_slot(now, timezone, customer)
        }
        due: list[OccasionReachedV1] = []
        for customer_id in sorted(customers):
            profile = self._store.get_profile(customer_id)
            if profile is not None:
                due += occasions_due(now, profile, self._default_timezone, self._thresholds)
        if due:
            self._publish(due)
        return due
