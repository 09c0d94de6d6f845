"""The link-signing key rotates through Secrets Manager's four steps (the rotation function against
moto); a link stays valid for its whole life across rotations, whichever function verifies it."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from postventa.local.simulate import LocalPostventa, _FakeLambdaContext
from postventa.logic.links import KEYS_KEPT, InvalidLink, LinkSigner, signing_keys

BASE = "https://prefs.example/postventa"


@pytest.fixture
def secret():
    with LocalPostventa(journeys={}) as local:  # moto, and the handlers bound to its services
        client = boto3.client("secretsmanager")
        arn = local.settings.link_signing_secret_id
        client.put_secret_value(SecretId=arn, SecretString=json.dumps({"current": "k0"}))
        yield client, arn, local.lambdas["rotate_link_key"]


def rotate(client, arn: str, rotate_link_key) -> str:
    """One rotation as Secrets Manager runs it: the four steps, each once, then the value."""
    token = str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        event = {"SecretId": arn, "ClientRequestToken": token, "Step": step}
        rotate_link_key(event, _FakeLambdaContext("rotate-link-key"))
    return client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]


def test_a_link_signed_before_rotations_stays_valid_for_its_life_and_new_links_verify_everywhere(secret):
    client, arn, rotate_link_key = secret
    first = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    old_link = LinkSigner(first, BASE).token("nps", c="c1", s=9)

    announced = rotate(client, arn, rotate_link_key)  # the first rotation only announces the next key
    assert json.loads(announced)["current"] == "k0" and json.loads(announced)["next"]
    promoted = rotate(client, arn, rotate_link_key)  # the next key signs now
    assert json.loads(promoted)["current"] == json.loads(announced)["next"]

    new_link = LinkSigner(promoted, BASE).token("nps", c="c2", s=3)
    # A warm function still holding the value before this rotation accepts the newer link...
    assert LinkSigner(announced, BASE).verify(new_link, "nps")["c"] == "c2"
    # ...and the newest value still accepts the link signed with the very first key.
    assert LinkSigner(promoted, BASE).verify(old_link, "nps")["c"] == "c1"


def test_a_key_is_dropped_only_after_every_link_it_signed_has_expired(secret):
    client, arn, rotate_link_key = secret
    value = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    old_link = LinkSigner(value, BASE).token("nps", c="c1", s=9)
    for _ in range(KEYS_KEPT + 1):  # each rotation is 30 days; the link lives 90
        value = rotate(client, arn, rotate_link_key)
    assert len(signing_keys(value)) == KEYS_KEPT + 2  # kept, next and current
    assert "k0" in signing_keys(value)
    value = rotate(client, arn, rotate_link_key)
    assert "k0" not in signing_keys(value)
    with pytest.raises(InvalidLink):
        LinkSigner(value, BASE).verify(old_link, "nps")


def test_a_step_run_again_changes_nothing(secret):
    client, arn, rotate_link_key = secret
    token = str(uuid.uuid4())
    for step in ("createSecret", "createSecret", "setSecret", "testSecret", "finishSecret", "finishSecret"):
        event = {"SecretId": arn, "ClientRequestToken": token, "Step": step}
        rotate_link_key(event, _FakeLambdaContext("rotate-link-key"))
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    # Secrets Manager itself takes AWSPENDING off once the rotation completes; moto leaves it.
    assert "AWSCURRENT" in versions[token]
    assert sorted(s for stages in versions.values() for s in stages if s != "AWSPENDING") == [
        "AWSCURRENT",
        "AWSPREVIOUS",
    ]
