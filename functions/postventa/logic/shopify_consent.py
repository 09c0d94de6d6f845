"""A Consent Changed event, as the Shopify Admin GraphQL API takes it: customerEmailMarketingConsentUpdate
and customerSmsMarketingConsentUpdate, in one request. Each states when the choice was made
(consentUpdatedAt), and Shopify keeps the most recent statement, so requests may arrive in any
order, or twice, and the customer's latest choice stands."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from postventa.models.consent import ConsentChangedV1
from postventa.models.events import ConsentState

# The only states the mutations accept besides PENDING: NOT_SUBSCRIBED cannot be set, so a
# consent never given is left as the storefront holds it.
_STATES = {ConsentState.SUBSCRIBED: "SUBSCRIBED", ConsentState.UNSUBSCRIBED: "UNSUBSCRIBED"}
_SHOPIFY_ID = re.compile(r"^[1-9]\d{0,19}$")  # Shopify's customer ids; guests are guest-<hash>
_MUTATIONS = {
    "email": (
        "customerEmailMarketingConsentUpdate",
        "CustomerEmailMarketingConsentUpdateInput",
        "emailMarketingConsent",
    ),
    "sms": (
        "customerSmsMarketingConsentUpdate",
        "CustomerSmsMarketingConsentUpdateInput",
        "smsMarketingConsent",
    ),
}
# What each way of stating a choice is about: an unsubscribe link withdraws email, a reply speaks
# for the number. Only those are written, so a store missing the customer's phone does not refuse
# an email unsubscribe.
_ABOUT = {"unsubscribe_link": {"email"}, "sms_reply": {"sms"}, "preference_centre": {"email", "sms"}}


def shopify_consent_request(consent: ConsentChangedV1) -> dict[str, Any] | None:
    """The GraphQL request ({query, variables}), or None: not a Shopify customer, or nothing
    Shopify can be told (no consent given or withdrawn on the channels the choice is about)."""
    if not _SHOPIFY_ID.match(consent.customer_id):
        return None
    states = {
        "email": (consent.email_marketing, consent.consent_at.get("email_marketing")),
        # STOP opts the number out of every text: no marketing SMS either.
        "sms": (
            (ConsentState.UNSUBSCRIBED, consent.stated_at)
            if consent.sms_opted_out
            else (consent.sms_marketing, consent.consent_at.get("sms_marketing"))
        ),
    }
    variables = {
        channel: _input(consent.customer_id, _MUTATIONS[channel][2], state, at or consent.stated_at)
        for channel, (state, at) in states.items()
        if state in _STATES and channel in _ABOUT[consent.stated_by]
    }
    if not variables:
        return None
    arguments = ", ".join(f"${channel}: {_MUTATIONS[channel][1]}!" for channel in variables)
    fields = " ".join(
        f"{channel}: {_MUTATIONS[channel][0]}(input: ${channel}) {{ userErrors {{ field message }} }}"
        for channel in variables
    )
    return {"query": f"mutation postventaConsent({arguments}) {{ {fields} }}", "variables": variables}


def _input(customer_id: str, field: str, state: ConsentState, at: datetime) -> dict[str, Any]:
    given = {"marketingState": _STATES[state], "consentUpdatedAt": at.isoformat().replace("+00:00", "Z")}
    if state is ConsentState.SUBSCRIBED:
        given["marketingOptInLevel"] = "SINGLE_OPT_IN"  # the preference centre asks once
    return {"customerId": f"gid://shopify/Customer/{customer_id}", field: given}


def throttled(answer: dict[str, Any]) -> bool:
    """Shopify's GraphQL rate limit: an answer of 200 whose errors say THROTTLED (try later)."""
    return any(
        (error.get("extensions") or {}).get("code") == "THROTTLED" for error in answer.get("errors") or []
    )


def user_errors(answer: dict[str, Any]) -> list[str]:
    """What Shopify refused in an answer: top-level errors and each mutation's userErrors, as
    "field: message"."""
    found = [str(error.get("message")) for error in answer.get("errors") or []]
    for result in (answer.get("data") or {}).values():
        found += [
            f"{'.'.join(error.get('field') or []) or 'input'}: {error.get('message')}"
            for error in (result or {}).get("userErrors") or []
        ]
    return found
