from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # before jsii starts node

from postventa_infra.app import build_app
from tests.conftest import SHOP

SHOPIFY_SOURCE = "aws.partner/shopify.com/0000000/postventa"
HTTP_DESTINATIONS = {
    "helpdesk": {
        "endpoint": "https://helpdesk.example/api/v2/tickets",
        "rate_per_second": 2,
        "auth": {"type": "api_key", "header": "Authorization", "secret": "postventa/helpdesk"},
    }
}
SHOPIFY_ADMIN = {"shop": "postventa-demo.myshopify.com", "secret": "postventa/shopify-admin-token"}
CAMPAIGN_LINKS = {
    "review_url": "https://reviews.example/write?product={product_id}",
    "utm": {"utm_source": "mail"},
}


@pytest.fixture(scope="session")
def synthesized():
    """One synth per session (about 15 s); cdk-nag runs as part of it and fails it on any finding."""
    # a Shopify shop with a push app, its own folder of journeys and templates, its review platform
    context = {
        "pushApplicationId": "push-app-1234",
        "shopifyEventSource": SHOPIFY_SOURCE,
        "journeysDir": str(SHOP),
        "campaignLinks": CAMPAIGN_LINKS,
        "httpDestinations": HTTP_DESTINATIONS,
        "shopifyAdmin": SHOPIFY_ADMIN,
    }
    assembly = build_app(context).synth()
    stack = assembly.get_stack_by_name("Postventa")
    return Path(stack.template_full_path), json.loads(Path(stack.template_full_path).read_text())


@pytest.fixture(scope="session")
def template(synthesized) -> Template:
    return Template.from_json(synthesized[1])
