"""Email through Amazon SES v2, always with the configuration set (engagement events) and tags."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from postventa.adapters.errors import THROTTLING_CODES, provider_error
from postventa.logic.render import RenderedMessage
from postventa.models.tags import encode_tag_value

_REJECTED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "BadRequestException",
}


class SesEmailSender:
    def __init__(self, client: Any, sender: str, configuration_set: str):
        self._client = client
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, *, to: str, message: RenderedMessage, tags: dict[str, str]) -> str:
        request = send_email_request(
            sender=self._sender, to=to, message=message, tags=tags, configuration_set=self._configuration_set
        )
        try:
            response = self._client.send_email(**request)
        except (ClientError, BotoCoreError) as error:
            raise provider_error("SES", error, THROTTLING_CODES, _REJECTED) from error
        return str(response["MessageId"])


def send_email_request(
    *, sender: str, to: str, message: RenderedMessage, tags: dict[str, str], configuration_set: str
) -> dict[str, Any]:
    """SES v2 SendEmail's parameters for one message (what `postventa templates render --outbox`
    writes too)."""
    simple: dict[str, Any] = {
        "Subject": {"Data": message.subject or "", "Charset": "UTF-8"},
        "Body": {
            "Html": {"Data": message.html or "", "Charset": "UTF-8"},
            "Text": {"Data": message.text, "Charset": "UTF-8"},
        },
    }
    if message.unsubscribe_url:
        # RFC 8058 one-click: the mailbox provider POSTs "List-Unsubscribe=One-Click" to the URL.
        simple["Headers"] = [
            {"Name": "List-Unsubscribe", "Value": f"<{message.unsubscribe_url}>"},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        ]
    return {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": [to]},
        "Content": {"Simple": simple},
        "ConfigurationSetName": configuration_set,
        "EmailTags": [
            {"Name": name, "Value": encoded}
            for name, value in tags.items()
            if (encoded := encode_tag_value(value)) is not None
        ],
    }
