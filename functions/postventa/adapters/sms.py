"""SMS through Amazon SNS: transactional or promotional type, an optional sender id, and the
account's opt-out list (STOP replies land there) checked before each send."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from postventa.adapters.errors import THROTTLING_CODES, provider_error
from postventa.logic.render import RenderedMessage
from postventa.services.errors import RecipientOptedOut

_REJECTED = {
    "InvalidParameter",
    "InvalidParameterValue",
    "OptedOut",
    "EndpointDisabled",
    "AuthorizationError",
}


class SnsSmsSender:
    def __init__(self, client: Any, *, sender_id: str | None = None):
        self._client = client
        self._sender_id = sender_id

    def send(self, *, to: str, message: RenderedMessage, tags: dict[str, str]) -> str:
        """Marketing goes Promotional (cheaper, may queue), the rest Transactional (delivered first)."""
        try:
            if self._client.check_if_phone_number_is_opted_out(phoneNumber=to)["isOptedOut"]:
                raise RecipientOptedOut("number opted out (replied STOP)")
            response = self._client.publish(
                **publish_request(to=to, message=message, sender_id=self._sender_id)
            )
        except (ClientError, BotoCoreError) as error:
            raise provider_error("SNS", error, THROTTLING_CODES, _REJECTED) from error
        return str(response["MessageId"])


def publish_request(*, to: str, message: RenderedMessage, sender_id: str | None) -> dict[str, Any]:
    """SNS Publish's parameters for one text."""
    kind = "Promotional" if message.marketing else "Transactional"
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind}}
    if sender_id:
        attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}
    return {"PhoneNumber": to, "Message": message.text, "MessageAttributes": attributes}
