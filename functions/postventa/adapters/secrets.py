"""Secrets through Powertools Parameters (fetched once, cached across warm invocations), and the
rotation of the link-signing key in Secrets Manager's four steps."""

from __future__ import annotations

import secrets
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from postventa.logic.links import rotated, signing_keys

SECRET_CACHE_SECONDS = 3600  # far shorter than a rotation: a warm function's value is at most one behind


def read_secret(secret_id: str) -> str:
    return str(parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS))


class KeyRotation:
    """createSecret stages the rotated value as AWSPENDING under the request's token; setSecret has
    nothing to set (the key is ours alone); testSecret checks the staged value's keys; finishSecret
    makes it AWSCURRENT. Every step may run again: each checks what is already done."""

    def __init__(self, client: Any):
        """client: a boto3 Secrets Manager client."""
        self._client = client

    def run(self, step: str, secret_id: str, token: str) -> None:
        steps = {
            "createSecret": self._create,
            "setSecret": lambda secret_id, token: None,
            "testSecret": self._test,
            "finishSecret": self._finish,
        }
        steps[step](secret_id, token)

    def _create(self, secret_id: str, token: str) -> None:
        try:
            self._client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
            return  # staged already by an earlier attempt of this rotation
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        current = self._client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"]
        self._client.put_secret_value(
            SecretId=secret_id,
            ClientRequestToken=token,
            SecretString=rotated(current, secrets.token_urlsafe(48)),
            VersionStages=["AWSPENDING"],
        )

    def _test(self, secret_id: str, token: str) -> None:
        staged = self._client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
        if len(set(signing_keys(staged["SecretString"]))) < 2:
            raise ValueError("the staged link-signing secret holds fewer than two keys")

    def _finish(self, secret_id: str, token: str) -> None:
        versions = self._client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
        current = next(version for version, stages in versions.items() if "AWSCURRENT" in stages)
        if current == token:
            return
        self._client.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
        )
