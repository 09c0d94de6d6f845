"""Push through AWS End User Messaging push (Amazon Pinpoint's SendMessages API): APNs and FCM
tokens of the customer's app installations, one request for all of them."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from postventa.adapters.errors import THROTTLING_CODES, provider_error
from postventa.logic.render import RenderedMessage
from postventa.models.events import PushPlatform, PushTokenV1
from postventa.services.errors import RecipientOptedOut, SendRejected, SendThrottled

_CHANNEL_TYPES = {PushPlatform.APNS: "APNS", PushPlatform.FCM: "GCM"}  # Pinpoint still calls FCM "GCM"
_REJECTED = {"BadRequestException", "NotFoundException", "ForbiddenException"}
_RETRY_LATER = {"THROTTLED", "TEMPORARY_FAILURE", "TIMEOUT", "UNKNOWN_FAILURE"}


class PinpointPushSender:
    def __init__(self, client: Any, application_id: str):
        self._client = client
        self._application_id = application_id

    def send(self, *, to: tuple[PushTokenV1, ...], message: RenderedMessage, tags: dict[str, str]) -> str:
        """Delivered when any installation accepts it; throttled only when none did and some may later."""
        request = message_request(to=to, message=message, tags=tags)
        try:
            response = self._client.send_messages(ApplicationId=self._application_id, MessageRequest=request)
        except (ClientError, BotoCoreError) as error:
            raise provider_error("Pinpoint", error, THROTTLING_CODES, _REJECTED) from error
        results = response["MessageResponse"].get("Result", {})
        statuses = {result["DeliveryStatus"] for result in results.values()}
        delivered = [
            result["MessageId"] for result in results.values() if result["DeliveryStatus"] == "SUCCESSFUL"
        ]
        if delivered:
            return str(delivered[0])
        if statuses & _RETRY_LATER:
            raise SendThrottled(f"push not accepted yet ({', '.join(sorted(statuses))})")
        if statuses == {"OPT_OUT"}:
            raise RecipientOptedOut("every app installation opted out of push")
        raise SendRejected(f"push refused ({', '.join(sorted(statuses)) or 'no result'})")


def message_request(
    *, to: tuple[PushTokenV1, ...], message: RenderedMessage, tags: dict[str, str]
) -> dict[str, Any]:
    """Pinpoint SendMessages' MessageRequest for one notification to a customer's installations."""
    notification = {"Title": message.title, "Body": message.text, "Action": "OPEN_APP"}
    priority = "normal" if message.marketing else "high"
    return {
        "Addresses": {token.token: {"ChannelType": _CHANNEL_TYPES[token.platform]} for token in to},
        "Context": tags,
        "MessageConfiguration": {
            "APNSMessage": {**notification, "Priority": priority},
            "GCMMessage": {**notification, "Priority": priority},
        },
    }
