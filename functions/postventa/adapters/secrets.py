"""Secrets through Powertools Parameters: fetched once, cached across warm invocations."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

SECRET_CACHE_SECONDS = 3600


def read_secret(secret_id: str) -> str:
    return str(parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS))
