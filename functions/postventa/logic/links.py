"""Signed, expiring links (survey answers, unsubscribe): HMAC through itsdangerous, with keys that
rotate (a link stays valid for its whole life across rotations)."""

from __future__ import annotations

import json
import math
import time
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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
