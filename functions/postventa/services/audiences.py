"""The audiences' daily run: each audience's consented members as Meta's and Google's hashed lists,
and what to take out of the lists uploaded before.

Each day's lists are whole (upload them with the platform's "replace"), and beside each is its
removals list: the identifiers in the latest earlier day's list that are not in today's, for an
upload that only adds and removes. A run repeated on the same day writes the same files again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from postventa.journeys.model import Audience
from postventa.logic.audiences import (
    HEADERS,
    Identifiers,
    Platform,
    audiences_of,
    consented_identifiers,
    removed,
)
from postventa.services.ports import AudienceLists, AudienceSource


class AudienceExported(BaseModel):
    audience: str
    day: str
    members: int
    emails: int
    phones: int
    removed: dict[Platform, int] | None  # None: no earlier list to compare with
    keys: list[str]


class AudienceExport:
    def __init__(self, *, source: AudienceSource, lists: AudienceLists, audiences: Sequence[Audience]):
        self._source = source
        self._lists = lists
        self._audiences = audiences

    def run(self, now: datetime) -> list[AudienceExported]:
        if not self._audiences:
            return []
        named = {condition.field for a in self._audiences for condition in a.conditions}
        answers = self._source.latest_answers() if any(f.startswith("nps.") for f in named) else {}
        members: dict[str, list[Identifiers]] = {audience.name: [] for audience in self._audiences}
        for profile in self._source.profiles():
            # Most customers are in no audience: their number is never parsed.
            names = audiences_of(profile, answers.get(profile.customer_id), self._audiences, now)
            identifiers = consented_identifiers(profile) if names else None
            if identifiers is not None:
                for name in names:
                    members[name].append(identifiers)
        day = now.date().isoformat()
        return [self._write(name, day, found) for name, found in members.items()]

    def _write(self, audience: str, day: str, members: list[Identifiers]) -> AudienceExported:
        earlier = [d for d in self._lists.days(audience) if d < day]
        keys: list[str] = []
        removals: dict[Platform, int] = {}
        for platform in Platform:
            # Sorted by hash: the list says nothing of who joined when, or of customer ids.
            rows = sorted({identifiers.hashed(platform) for identifiers in members})
            keys.append(self._lists.write(audience, day, platform.value, HEADERS[platform], rows))
            if earlier:
                gone = removed(self._lists.read(audience, earlier[-1], platform.value), rows)
                keys.append(
                    self._lists.write(audience, day, f"{platform.value}-removals", HEADERS[platform], gone)
                )
                removals[platform] = len(gone)
        return AudienceExported(
            audience=audience,
            day=day,
            members=len(members),
            emails=sum(identifiers.email is not None for identifiers in members),
            phones=sum(identifiers.phone is not None for identifiers in members),
            removed=removals if earlier else None,
            keys=keys,
        )
