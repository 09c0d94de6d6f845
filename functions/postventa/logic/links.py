"""Signed, expiring links (survey answers, unsubscribe): HMAC through itsdangerous, with keys that
rotate (a link stays valid for its whole life across rotations)."""

from __future__ import annotations

import html
import json
import math
import re
import time
from dataclasses import dataclass, replace
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from postventa.logic.render import RenderedMessage
from postventa.models.records import OrderRecord
from postventa.models.settings import CampaignLinks

LINK_MAX_AGE_SECONDS = 60 * 60 * 24 * 90  # a survey or unsubscribe link still works three months later
ROTATION_DAYS = 30
# Keys kept after they stop signing: enough rotations to outlast the longest-lived link.
KEYS_KEPT = math.ceil(LINK_MAX_AGE_SECONDS / 86400 / ROTATION_DAYS) + 1


def _keys(secret: str) -> dict[str, Any]:
    """The secret's value: {"current", "next", "previous"}, or a plain string as the one key."""
    return dict(json.loads(secret)) if secret.lstrip().startswith("{") else {"current": secret}


def signing_keys(secret: str) -> list[str]:
    """The secret's keys, oldest first and the signing key last, as itsdangerous takes them:
    previous keys (links they signed are still alive), the next key (already accepted, so a
    function still holding the previous secret value accepts what a newer one signs), the current.
    A plain string is a single key."""
    value = _keys(secret)
    upcoming = [value["next"]] if value.get("next") else []
    return [*reversed(value.get("previous", [])), *upcoming, value["current"]]


def rotated(secret: str, new_key: str) -> str:
    """One rotation: the next key starts signing, a new next key is announced, the key that
    signed until now is kept for the links it signed (KEYS_KEPT of them)."""
    value = _keys(secret)
    if not value.get("next"):  # the first rotation only announces a next key
        return json.dumps({**value, "next": new_key})
    previous = [value["current"], *value.get("previous", [])][:KEYS_KEPT]
    return json.dumps({"current": value["next"], "next": new_key, "previous": previous})


class InvalidLink(ValueError):
    pass


class LinkSigner:
    def __init__(self, secret: str, base_url: str):
        """secret: the signing secret's value (see signing_keys)."""
        self._serializer = URLSafeTimedSerializer(signing_keys(secret), salt="postventa-links")
        self._base_url = base_url.rstrip("/")

    def token(self, action: str, *, expires: int | None = None, **claims: Any) -> str:
        """expires (epoch seconds): a token a page mints ends when the token that opened it does,
        so opening pages never stretches a link's life."""
        return str(
            self._serializer.dumps({"action": action, **claims, **({"x": expires} if expires else {})})
        )

    def link(self, action: str, **claims: Any) -> str:
        return f"{self._base_url}/{action}?{urlencode({'t': self.token(action, **claims)})}"

    def verify(self, token: str, action: str, max_age: int = LINK_MAX_AGE_SECONDS) -> dict[str, Any]:
        """The token's claims, with "x": when it expires (its own end, or the end it was given)."""
        try:
            claims, signed_at = self._serializer.loads(token, max_age=max_age, return_timestamp=True)
        except SignatureExpired as error:
            raise InvalidLink("this link has expired") from error
        except BadSignature as error:
            raise InvalidLink("this link is not valid") from error
        if not isinstance(claims, dict) or claims.get("action") != action:
            raise InvalidLink("this link is not valid")
        expires = min(int(claims.get("x") or 2**62), int(signed_at.timestamp()) + max_age)
        if expires < time.time():
            raise InvalidLink("this link has expired")
        return {**claims, "x": expires}


_HREF = re.compile(r'href="(https?://[^"]+)"')
# A URL in text ends before the punctuation that ends its sentence.
_BARE_URL = re.compile(r"https?://[^\s<>\"')]*[^\s<>\"').,;:!?]")


@dataclass(frozen=True)
class Campaign:
    """Which message a link is in: what its UTM parameters say."""

    channel: str
    journey: str
    step: str


@dataclass(frozen=True)
class LinkTagger:
    """Tags the links to the shop with campaign parameters, so the shop's own analytics attribute
    visits and revenue to journeys; the signed preference-centre links are left as signed."""

    hosts: frozenset[str]
    parameters: dict[str, str]
    untagged_prefix: str | None = None  # the preference centre's base URL

    def _is_shop(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        if self.untagged_prefix and url.startswith(self.untagged_prefix):
            return False
        return any(host == shop or host.endswith(f".{shop}") for shop in self.hosts)

    def tag(self, url: str, campaign: Campaign) -> str:
        """The URL with the parameters it lacks (a link's own utm_* is kept)."""
        if not self.parameters or not self._is_shop(url):
            return url
        parts = urlsplit(url)
        present = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        fields = {"channel": campaign.channel, "journey": campaign.journey, "step": campaign.step}
        added = {
            name: value.format(**fields) for name, value in self.parameters.items() if name not in present
        }
        query = "&".join(filter(None, [parts.query, urlencode(added)]))
        return urlunsplit(parts._replace(query=query))

    def tag_html(self, document: str, campaign: Campaign) -> str:
        """Every href to the shop (attribute values are HTML-escaped: unescaped to tag, escaped back)."""
        return _HREF.sub(
            lambda m: f'href="{html.escape(self.tag(html.unescape(m.group(1)), campaign))}"', document
        )

    def tag_text(self, text: str, campaign: Campaign) -> str:
        return _BARE_URL.sub(lambda m: self.tag(m.group(0), campaign), text)


def review_destination(template: str, *, order: OrderRecord) -> str:
    """The review URL template filled from the order and its first item, each value URL-quoted."""
    first = order.items[0] if order.items else None
    values = {
        "order_id": order.order_id,
        "order_number": (order.order_number or "").lstrip("#"),
        "product_id": first and first.product_id,
        "sku": first and first.sku,
        "product": first and first.name,
    }
    return template.format(**{name: quote(str(value or ""), safe="") for name, value in values.items()})


@dataclass(frozen=True)
class ShopLinks:
    """Where a message's links to the shop lead, and the campaign tags they carry."""

    home: str
    review_url: str | None
    tagger: LinkTagger
    tagged_channels: frozenset[str]

    @classmethod
    def configured(
        cls, config: CampaignLinks, *, sender: str | None, links_base_url: str | None
    ) -> ShopLinks:
        """Unset, the shop is the sender address's domain: its home page and its links are tagged."""
        domain = parseaddr(sender or "")[1].rpartition("@")[2].lower()
        hosts = config.shop_domains or ([domain] if domain else [])
        home = config.shop_url or (f"https://{domain}/" if domain else (links_base_url or "/"))
        return cls(
            home=home,
            review_url=config.review_url,
            tagger=LinkTagger(frozenset(h.lower() for h in hosts), dict(config.utm), links_base_url),
            tagged_channels=frozenset(channel.value for channel in config.tagged_channels),
        )

    def review(self, order: OrderRecord | None) -> str:
        """The configured destination, else the order's status page, else the shop's home."""
        if order is not None and self.review_url:
            return review_destination(self.review_url, order=order)
        return (order and order.status_url) or self.home

    def tagged(self, message: RenderedMessage, campaign: Campaign) -> RenderedMessage:
        if campaign.channel not in self.tagged_channels:
            return message
        tagger = self.tagger
        return replace(
            message,
            text=tagger.tag_text(message.text, campaign),
            html=message.html and tagger.tag_html(message.html, campaign),
        )
