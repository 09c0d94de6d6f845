"""Email through Amazon SES v2, always with the configuration set (engagement events) and tags."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from postventa.adapters.errors import SendRejected, SendThrottled
from postventa.logic.render import RenderedEmail
from postventa.logic.tags import encode_tag_value

_THROTTLED = {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
_REJECTED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
}


class SesEmailSender:
    def __init__(self, client: Any, sender: str, configuration_set: str):
        self._client = client
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, *, to: str, email: RenderedEmail, tags: dict[str, str]) -> str:
        try:
            response = self._client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Html": {"Data": email.html, "Charset": "UTF-8"},
                            "Text": {"Data": email.text, "Charset": "UTF-8"},
                        },
                    }
                },
                ConfigurationSetName=self._configuration_set,
                EmailTags=[
                    {"Name": name, "Value": encoded}
                    for name, value in tags.items()
                    if (encoded := encode_tag_value(value)) is not None
                ],
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in _THROTTLED:
                raise SendThrottled(f"SES throttled the send ({code})") from error
            if code in _REJECTED:
                raise SendRejected(f"SES rejected the message ({code})") from error
            raise
        return str(response["MessageId"])
