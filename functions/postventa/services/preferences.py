"""The preference centre's work: every change is reached by a signed, expiring link for one
customer; a forged, altered or expired link changes nothing (InvalidLink)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from postventa.logic.channels import reachable_channels
from postventa.logic.links import InvalidLink, LinkSigner
from postventa.models.consent import ConsentChangedV1, StatedBy
from postventa.models.events import Channel, ConsentState, SurveyAnsweredV1
from postventa.models.records import CustomerProfile
from postventa.services.ports import CustomerStore, change_profile

# The channels a customer chooses here (the app's inbox is not one: every app user has it).
_MARKETING_CONSENT = {
    Channel.EMAIL: "email_marketing",
    Channel.SMS: "sms_marketing",
    Channel.PUSH: "push_marketing",
}


class PreferenceForm(BaseModel):
    """What the page posts: the channels ticked (first = preferred) and the topics kept."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    channels: list[Channel] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    unsubscribe_all: bool = False


class PreferenceCentre:
    def __init__(
        self,
        *,
        store: CustomerStore,
        links: LinkSigner,
        topics: list[str],
        publish_answer: Callable[[SurveyAnsweredV1], None],
        publish_consent: Callable[[ConsentChangedV1], None],
    ):
        self._store = store
        self._links = links
        self.topics = topics
        self._publish_answer = publish_answer
        self._publish_consent = publish_consent

    def customer(self, token: str, action: str) -> tuple[CustomerProfile, dict[str, Any]]:
        claims = self._links.verify(token, action)
        profile = self._store.get_profile(str(claims.get("c")))
        if profile is None:
            raise InvalidLink("this link is not valid")
        return profile, claims

    def view(self, profile: CustomerProfile, opened_with: dict[str, Any]) -> dict[str, Any]:
        """What the page shows: channels (chosen first, in order), topics, and the form's token."""
        reachable = reachable_channels(profile)
        chosen = profile.channels
        if chosen is None:  # never chosen here: what the customer consented to elsewhere
            chosen = [
                c
                for c, field in _MARKETING_CONSENT.items()
                if getattr(profile, field) is ConsentState.SUBSCRIBED
            ]
        return {
            "token": self.page_link(profile, opened_with),
            "channels": [
                {"name": c.value, "chosen": c in chosen and c in reachable, "reachable": c in reachable}
                for c in [*chosen, *(c for c in _MARKETING_CONSENT if c not in chosen)]
            ],
            "topics": [{"name": t, "kept": t not in profile.topics_unsubscribed} for t in self.topics],
        }

    def page_link(self, profile: CustomerProfile, opened_with: dict[str, Any]) -> str:
        """The preference page's token, for the form it posts and the unsubscribe page's link:
        it ends when the token that opened the page does."""
        return self._links.token("preferences", expires=opened_with["x"], c=profile.customer_id)

    def save(self, token: str, form: PreferenceForm, now: datetime) -> tuple[CustomerProfile, dict[str, Any]]:
        profile, claims = self.customer(token, "preferences")
        reachable = reachable_channels(profile)
        chosen = [] if form.unsubscribe_all else [c for c in form.channels if c in reachable]
        consents = {
            field: ConsentState.SUBSCRIBED if channel in chosen else ConsentState.UNSUBSCRIBED
            for channel, field in _MARKETING_CONSENT.items()
            # a channel the customer cannot be reached on was not offered: leave its consent alone
            if channel in reachable
        }
        kept = set(form.topics) & set(self.topics)
        choices: dict[str, Any] = {**consents, "channels": chosen}
        if Channel.SMS in chosen:
            choices["sms_transactional"] = ConsentState.SUBSCRIBED
        updated = self._choose(
            profile.customer_id,
            choices,
            now,
            "preference_centre",
            topics_unsubscribed=sorted(set(self.topics) - kept),
        )
        return updated, claims

    def _choose(
        self, customer_id: str, choices: dict[str, Any], now: datetime, stated_by: StatedBy, **fields: Any
    ) -> CustomerProfile:
        """The customer's own choices, stated now: later than anything an event could bring.
        Said on the bus after they are stored, every time (a retried request says it again)."""
        _, updated = change_profile(
            self._store,
            customer_id,
            lambda stored: (
                stored and stored.with_consents(choices, now).model_copy(update={**fields, "updated_at": now})
            ),
        )
        if updated is None:
            raise InvalidLink("this link is not valid")
        self._publish_consent(ConsentChangedV1.of(updated, stated_by, now))
        return updated

    def unsubscribe(self, token: str, now: datetime) -> tuple[CustomerProfile, dict[str, Any]]:
        """From a marketing email (its link or RFC 8058 one-click): no more marketing email."""
        profile, claims = self.customer(token, "unsubscribe")
        updated = self._choose(
            profile.customer_id, {"email_marketing": ConsentState.UNSUBSCRIBED}, now, "unsubscribe_link"
        )
        message = self._store.get_message(profile.customer_id, str(claims.get("m")))
        if message is not None and message.unsubscribed_at is None:  # the unsubscribe rate's numerator
            self._store.save_message(message.model_copy(update={"unsubscribed_at": now}))
        return updated, claims

    def survey(self, token: str) -> tuple[CustomerProfile, int, dict[str, Any]]:
        """A score link from the survey email, opened: what it would answer (opening changes nothing)."""
        profile, claims = self.customer(token, "nps")
        score = claims.get("s")
        if not isinstance(score, int) or not 0 <= score <= 10:
            raise InvalidLink("this link is not valid")
        return profile, score, claims

    def answer(self, token: str, now: datetime) -> tuple[CustomerProfile, int]:
        """The survey page's button: published as Survey Answered, which on_order records."""
        profile, score, claims = self.survey(token)
        self._publish_answer(
            SurveyAnsweredV1(
                customer_id=profile.customer_id, score=score, answered_at=now, message_id=claims.get("m")
            )
        )
        return profile, score
