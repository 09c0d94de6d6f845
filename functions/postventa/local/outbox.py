"""Every message as it was handed to the provider, written where a marketer can open it: email as
a .eml file (the MIME message SES builds from SendEmail's simple content, with the request's own
headers: List-Unsubscribe, the configuration set and the tags), SMS and push as JSON (the request,
and for SMS its encoding and the segments a carrier bills), app inbox cards as JSON (the card).

`simulate --outbox` and `journeys preview --outbox` capture the requests of a local run;
`templates render --outbox` writes one from sample data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from postventa.logic.sms import sms_size
from postventa.models.events import Channel
from postventa.models.records import MessageRecord

# Lines up to RFC 5322's limit: a signed List-Unsubscribe URL stays one token, not RFC 2047 words
# a mail client would not read as a link.
_POLICY = SMTP.clone(max_line_length=998)
OPERATIONS = {
    "SendEmail": Channel.EMAIL,
    "Publish": Channel.SMS,
    "SendMessages": Channel.PUSH,
    "PutInboxCard": Channel.INBOX,  # the table's PutItem of an app inbox card (local/faults.py)
}
_WRITTEN = re.compile(r"^\d{8}-\d{4}-.+\.(eml|json)$")  # the files an outbox writes, and only those


class OutboxError(ValueError):
    """The folder cannot be an outbox: it holds files of something else."""


@dataclass(frozen=True)
class Handed:
    """One request a provider took, and the id it answered with."""

    channel: Channel
    request: dict[str, Any]
    provider_id: str
    at: datetime


def email_message(request: dict[str, Any], provider_id: str, at: datetime) -> EmailMessage:
    """The message SES sends for a SendEmail request with simple content: text and HTML as
    multipart/alternative, the request's headers added. The configuration set and tags appear as
    the X-SES-* headers SES reads them from in a raw message (it removes them before delivery)."""
    simple = request["Content"]["Simple"]
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = request["FromEmailAddress"]
    mail["To"] = ", ".join(request["Destination"]["ToAddresses"])
    mail["Subject"] = simple["Subject"]["Data"]
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = f"<{provider_id}@email.amazonses.com>"
    for header in simple.get("Headers", []):
        mail[header["Name"]] = header["Value"]
    mail["X-SES-CONFIGURATION-SET"] = request.get("ConfigurationSetName", "")
    mail["X-SES-MESSAGE-TAGS"] = ", ".join(
        f"{tag['Name']}={tag['Value']}" for tag in request.get("EmailTags", [])
    )
    mail.set_content(simple["Body"]["Text"]["Data"], subtype="plain", charset="utf-8")
    mail.add_alternative(simple["Body"]["Html"]["Data"], subtype="html", charset="utf-8")
    return mail


def sms_document(request: dict[str, Any], provider_id: str, at: datetime) -> dict[str, Any]:
    size = sms_size(request["Message"])
    attributes = request.get("MessageAttributes", {})
    return {
        "channel": Channel.SMS.value,
        "at": at.isoformat(),
        "provider_message_id": provider_id,
        "to": request["PhoneNumber"],
        "sms_type": attributes.get("AWS.SNS.SMS.SMSType", {}).get("StringValue"),
        "sender_id": attributes.get("AWS.SNS.SMS.SenderID", {}).get("StringValue"),
        "text": request["Message"],
        "encoding": size.encoding,
        "units": size.units,
        "segments": size.segments,
        "request": request,
    }


def push_document(request: dict[str, Any], provider_id: str, at: datetime) -> dict[str, Any]:
    apns = request["MessageConfiguration"]["APNSMessage"]
    return {
        "channel": Channel.PUSH.value,
        "at": at.isoformat(),
        "provider_message_id": provider_id,
        "title": apns.get("Title"),
        "body": apns.get("Body"),
        "installations": len(request["Addresses"]),
        "request": request,
    }


def inbox_document(request: dict[str, Any], provider_id: str, at: datetime) -> dict[str, Any]:
    card = {name: _ATTRIBUTE.deserialize(value) for name, value in request["Item"].items()}
    return {
        "channel": Channel.INBOX.value,
        "at": at.isoformat(),
        "provider_message_id": provider_id,
        "title": card["title"],
        "text": card["text"],
        "card": {name: card[name] for name in sorted(card) if name not in ("pk", "sk")},
    }


_ATTRIBUTE = TypeDeserializer()  # PutItem's typed attributes ({"S": ...}) as values
_DOCUMENTS = {Channel.SMS: sms_document, Channel.PUSH: push_document, Channel.INBOX: inbox_document}


def write_handed(folder: Path, name: str, handed: Handed) -> Path:
    """One request as its file: name.eml for email, name.json otherwise."""
    if handed.channel is Channel.EMAIL:
        path = folder / f"{name}.eml"
        path.write_bytes(email_message(handed.request, handed.provider_id, handed.at).as_bytes())
        return path
    document = _DOCUMENTS[handed.channel](handed.request, handed.provider_id, handed.at)
    path = folder / f"{name}.json"
    # default=str: DynamoDB's numbers (a card's expiry) come back as Decimal
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def prepare(folder: Path, *, replace: bool = True) -> None:
    """An outbox folder is new, or an earlier outbox's (a run's files replace the last run's; a
    sample is added beside the others); never another's."""
    if folder.exists():
        foreign = [path.name for path in folder.iterdir() if not _WRITTEN.match(path.name)]
        if foreign:
            listed = ", ".join(sorted(foreign)[:3])
            raise OutboxError(f"{folder} holds files an outbox did not write ({listed}): give a new folder")
        for path in folder.iterdir() if replace else ():
            path.unlink()
    folder.mkdir(parents=True, exist_ok=True)


def file_name(at: datetime, customer: str, journey: str, step: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.@+-]", "_", f"{customer}-{journey}-{step}")
    return f"{at:%Y%m%d-%H%M}-{safe}"


class Outbox:
    """Collects what the providers took during a local run; writes it once the run is over, each
    file named by the message it carried (the records know which provider id is whose)."""

    def __init__(self, clock: Any):
        self._clock = clock
        self.handed: list[Handed] = []

    def taken(self, context: dict[str, Any], parsed: dict[str, Any]) -> None:
        """FaultInjector.on_accepted: SES or SNS took a request."""
        request = context.get("postventa_request")
        channel = OPERATIONS.get(context.get("postventa_operation", ""))
        if request is None or channel is None:
            return
        # a card's id is its message's (adapters/inbox.py), the providers answer with their own
        provider_id = (
            context["postventa_message"] if channel is Channel.INBOX else parsed.get("MessageId", "")
        )
        self.handed.append(Handed(channel, request, str(provider_id), self._clock()))

    def pushed(self, request: dict[str, Any], provider_id: str) -> None:
        """The local push service took a request (moto has no Pinpoint)."""
        self.handed.append(Handed(Channel.PUSH, request, provider_id, self._clock()))

    def write(self, folder: Path, messages: list[MessageRecord]) -> list[Path]:
        prepare(folder)
        owners = {m.provider_message_id: m for m in messages if m.provider_message_id}
        written = []
        for handed in sorted(self.handed, key=lambda h: h.at):
            owner = owners.get(handed.provider_id)
            name = (
                file_name(handed.at, owner.customer_id, owner.journey, owner.step)
                if owner
                else file_name(handed.at, "unrecorded", handed.channel.value, handed.provider_id)
            )
            written.append(write_handed(folder, name, handed))
        return written
