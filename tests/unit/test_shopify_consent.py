"""A Consent Changed event as Shopify's Admin GraphQL API takes it (customerEmailMarketingConsentUpdate,
customerSmsMarketingConsentUpdate: shopify.dev, 2026-10), and what Shopify's answers say."""

from __future__ import annotations

from datetime import UTC, datetime

from postventa.logic.shopify_consent import shopify_consent_request, throttled, user_errors
from postventa.models.consent import ConsentChangedV1
from postventa.models.events import ConsentState

STATED = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)
EARLIER = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
S, N, U = ConsentState.SUBSCRIBED, ConsentState.NOT_SUBSCRIBED, ConsentState.UNSUBSCRIBED


def consent(customer_id="207119551", **changes) -> ConsentChangedV1:
    fields = {
        "customer_id": customer_id,
        "stated_by": "unsubscribe_link",
        "stated_at": STATED,
        "email_marketing": U,
        "sms_marketing": S,
        "sms_transactional": S,
        "push_marketing": N,
        "sms_opted_out": False,
        "channels": None,
        "topics_unsubscribed": [],
        "consent_at": {"email_marketing": STATED, "sms_marketing": EARLIER},
    }
    return ConsentChangedV1(**{**fields, **changes})


def test_each_channel_is_one_mutation_stating_when_the_choice_was_made():
    request = shopify_consent_request(consent(stated_by="preference_centre"))
    assert request["variables"] == {
        "email": {
            "customerId": "gid://shopify/Customer/207119551",
            "emailMarketingConsent": {
                "marketingState": "UNSUBSCRIBED",
                "consentUpdatedAt": "2026-03-05T10:30:00Z",
            },
        },
        "sms": {
            "customerId": "gid://shopify/Customer/207119551",
            "smsMarketingConsent": {
                "marketingState": "SUBSCRIBED",
                "consentUpdatedAt": "2026-03-02T09:15:00Z",  # when that choice was stated, not now
                "marketingOptInLevel": "SINGLE_OPT_IN",
            },
        },
    }
    assert request["query"] == (
        "mutation postventaConsent($email: CustomerEmailMarketingConsentUpdateInput!, "
        "$sms: CustomerSmsMarketingConsentUpdateInput!) { "
        "email: customerEmailMarketingConsentUpdate(input: $email) { userErrors { field message } } "
        "sms: customerSmsMarketingConsentUpdate(input: $sms) { userErrors { field message } } }"
    )


def test_a_stop_reply_unsubscribes_the_number_from_marketing_texts_as_of_the_reply():
    request = shopify_consent_request(consent(email_marketing=N, sms_opted_out=True, stated_by="sms_reply"))
    assert list(request["variables"]) == ["sms"]  # never-given email consent cannot be set
    assert request["variables"]["sms"]["smsMarketingConsent"] == {
        "marketingState": "UNSUBSCRIBED",
        "consentUpdatedAt": "2026-03-05T10:30:00Z",
    }


def test_an_unsubscribe_link_writes_email_only():
    assert list(shopify_consent_request(consent())["variables"]) == ["email"]


def test_guests_and_consent_never_given_send_nothing():
    assert shopify_consent_request(consent(customer_id="guest-3f2a")) is None
    assert shopify_consent_request(consent(customer_id="cus-ana")) is None
    assert (
        shopify_consent_request(consent(email_marketing=N, sms_marketing=N, stated_by="preference_centre"))
        is None
    )


def test_shopifys_answers_name_what_was_refused_and_when_it_is_throttled():
    refused = {
        "data": {
            "email": {
                "userErrors": [{"field": ["input", "customerId"], "message": "Customer does not exist"}]
            },
            "sms": {"userErrors": []},
        }
    }
    assert user_errors(refused) == ["input.customerId: Customer does not exist"]
    busy = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    assert throttled(busy) and not throttled(refused)
    assert user_errors({"data": {"email": {"userErrors": []}}}) == []
