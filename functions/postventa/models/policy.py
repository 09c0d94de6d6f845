"""The contact policy's settings: what logic/policy.py judges every message by."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field

from postventa.models.common import Duration


class ContactPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    messages_per_day: int = Field(
        default=8,
        ge=1,
        description="A ceiling on all messages per rolling 24 h, receipts included: past it a journey "
        "is likely looping, so the message is suppressed and an alarm raised instead",
    )
    marketing_per_day: int = Field(default=1, ge=0, description="Marketing messages per rolling 24 h")
    marketing_per_week: int = Field(default=3, ge=0, description="Marketing messages per rolling 7 days")
    quiet_from: time = Field(default=time(21, 0), description="Local time quiet hours start")
    quiet_until: time = Field(default=time(9, 0), description="Local time quiet hours end")
    release_spread: Duration = Field(
        default=timedelta(minutes=30),
        description="Held messages leave quiet hours spread over this, each customer at their own "
        "moment, so a night's backlog does not meet the sending rate in one second",
    )
    quiet_hours_for_transactional: bool = Field(
        default=False, description="Receipts and delivery news are awaited: by default they go at once"
    )
    min_gap: Duration = Field(
        default=timedelta(hours=4), description="No marketing message within this of any other message"
    )
    turn: Duration = Field(
        default=timedelta(minutes=15),
        description="How long a held message keeps its turn over lower-priority ones once due",
    )

    def describe_quiet_hours(self) -> str:
        return f"{self.quiet_from:%H:%M}-{self.quiet_until:%H:%M} local"

    def is_quiet(self, local: datetime) -> bool:
        moment = local.time()
        if self.quiet_from <= self.quiet_until:
            return self.quiet_from <= moment < self.quiet_until
        return moment >= self.quiet_from or moment < self.quiet_until

    def quiet_ends(self, local: datetime) -> datetime:
        """The next end of quiet hours after `local` (an aware local time)."""
        end = datetime.combine(local.date(), self.quiet_until, tzinfo=local.tzinfo)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.quiet_until, tzinfo=local.tzinfo)
        return end
