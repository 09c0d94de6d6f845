"""SES message tags carry the ids that tie engagement back to the message log, and SES allows only
[A-Za-z0-9_-] in a tag value: other ids travel base32-encoded under a prefix, so they come back
exactly as they were sent (an email-like or gid:// customer id included)."""

from __future__ import annotations

import base64
import re

_SAFE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_ENCODED = "b32-"  # a safe value starting with this is encoded too, so decoding is never ambiguous


def encode_tag_value(value: str) -> str | None:
    """None when even the encoding cannot fit SES's 256 characters: the tag is better left off
    (that message's engagement goes unrecorded) than cut into another id or the send refused."""
    if _SAFE.fullmatch(value) and not value.startswith(_ENCODED):
        return value
    encoded = _ENCODED + base64.b32encode(value.encode()).decode().rstrip("=")
    return encoded if len(encoded) <= 256 else None


def decode_tag_value(value: str) -> str:
    if not value.startswith(_ENCODED):
        return value
    body = value[len(_ENCODED) :]
    return base64.b32decode(body + "=" * (-len(body) % 8)).decode()
