"""Logical ids kept from before a resource moved into a construct of its own: a new id would make
CloudFormation replace the resource, and these must not be replaced (tests/infra checks them)."""

from __future__ import annotations

from constructs import IConstruct

KEPT = {
    # the API's address is in every link of every message already sent
    "PreferenceApi/Api": "ChannelsPreferenceCentre98BD4D40",
    # the identity's DKIM records are in the shop's DNS
    "Email/SenderIdentity": "SenderIdentity5AECAF6F",
    "Email/ConfigurationSet": "ConfigurationSet3DD38186",
    "Email/ConfigurationSet/Engagement": "ConfigurationSetEngagement95C57E97",
    # its value is the Shopify app's client secret, set by hand from the Partner Dashboard
    "Handlers/ShopifyWebhookSecret": "ShopifyWebhookSecret9817FB19",
}


def keep_logical_id(construct: IConstruct) -> None:
    path = construct.node.path.split("/", 1)[1]  # below the stack
    resource = construct.node.default_child
    assert resource is not None, path
    resource.override_logical_id(KEPT[path])  # type: ignore[attr-defined]  # a CfnResource
