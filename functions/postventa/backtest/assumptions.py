"""What an order history cannot tell; each assumption is stated in the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from postventa.models.events import Channel, ConsentState, OrderPlacedV1
from postventa.models.policy import ContactPolicy
from postventa.models.settings import DEFAULT_SEND_RATE


@dataclass(frozen=True)
class Assumptions:
    fulfilment_days: float = 2.0
    open_rate: float = 0.35
    click_rate: float = 0.08
    # A click on the survey email is an answer (its links are the scores): the bands' shares.
    promoter_share: float = 0.5
    detractor_share: float = 0.2
    consent: ConsentState = ConsentState.SUBSCRIBED
    timezone: str = "UTC"
    # The contact policy the journeys run under: the deployed default unless a backtest compares.
    contact_policy: ContactPolicy = field(default_factory=ContactPolicy)
    # Sends per second per channel, shared by the worker processes: the deployed default.
    send_rate: dict[Channel, int] = field(default_factory=lambda: dict(DEFAULT_SEND_RATE))

    def fill_in(self, order: OrderPlacedV1) -> OrderPlacedV1:
        """The history says nothing of consent, address or timezone: the assumptions fill them in
        (as each order is replayed, so the history is held once)."""
        customer = order.customer
        return order.model_copy(
            update={
                "customer": customer.model_copy(
                    update={
                        "email": customer.email or f"{customer.id}@backtest.invalid",
                        "email_marketing": self.consent,
                        "timezone": self.timezone,
                    }
                )
            }
        )
