"""Signed, expiring links (survey answers, unsubscribe): HMAC through itsdangerous."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

LINK_MAX_AGE_SECONDS = 60 * 60 * 24 * 90  # a survey or unsubscribe link still works three months later


class InvalidLink(ValueError):
    pass


class LinkSigner:
    def __init__(self, secret: str, base_url: str):
        self._serializer = URLSafeTimedSerializer(secret, salt="postventa-links")
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
