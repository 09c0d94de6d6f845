"""Domain errors the adapters raise instead of botocore's, and the one place that says which
failures are transient (retry with backoff) and which are permanent.

The class names are the error names Step Functions sees: the journey's Retry and Catch match them.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "LimitExceededException",
        "TransactionConflictException",
    }
)
# A provider that paused sending (SES pauses an account or configuration set for review) will
# send again later: the message waits, like a throttled one.
PAUSED_CODES = frozenset({"SendingPausedException"})


class SendThrottled(RuntimeError):
    """The provider is throttling or paused: retry later with backoff; nothing was sent."""


class SendRejected(RuntimeError):
    """The provider refused this message for good (bad address, unverified sender...)."""


class RecipientOptedOut(SendRejected):
    """The recipient told the provider to stop (an SMS STOP reply, an uninstalled app)."""


class SendUnknown(RuntimeError):
    """The provider's answer was lost (read timeout, connection closed): it may have accepted the
    message. The claim stays in place, so the message is never handed over again blindly."""


class StepRetryable(RuntimeError):
    """A transient failure (throttling, 5xx, timeout, connection, another attempt in progress).
    Nothing the step decided was kept: the journey retries it with backoff."""


class SendDeferred(RuntimeError):
    """The contact policy holds the message until the time given as the message (ISO 8601 UTC).

    The journey catches it, waits until then and runs the step again (see journeys/compiler.py).
    """

    def __init__(self, until: str, rule: str):
        super().__init__(until)
        self.rule = rule  # the policy rule that held it, for the held-back metric


# Retried by the journey without a word from the handler: Lambda's own and the runtime's.
PLATFORM_TRANSIENT = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
)
_TRANSIENT_POWERTOOLS = {
    "IdempotencyAlreadyInProgressError",  # the loser of two concurrent invocations
    "IdempotencyPersistenceLayerError",  # the idempotency table did not answer
    "IdempotencyPersistenceConnectionError",
}


def is_transient(error: BaseException) -> bool:
    """True when trying the same thing again later may succeed and cannot do harm."""
    if isinstance(error, SendThrottled | StepRetryable | SendUnknown):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in THROTTLING_CODES or code in PAUSED_CODES or status >= 500 or code.endswith("Timeout")
    if isinstance(error, ConnectionError | HTTPClientError):
        return True  # a connection not made, a timeout, a connection closed mid-answer
    if type(error).__name__ in _TRANSIENT_POWERTOOLS:
        return True
    cause = error.__cause__
    return cause is not None and is_transient(cause)


def describe(error: BaseException) -> str:
    """For a dead-letter reason or a message log: the error's type and text, never the event."""
    return f"{type(error).__name__}: {str(error)[:300]}"


def provider_error(
    provider: str,
    error: ClientError | BotoCoreError,
    throttled: frozenset[str] | set[str],
    rejected: frozenset[str] | set[str],
) -> Exception:
    """The domain error for a provider's answer, or the error itself when it is none of them
    (a 5xx: the provider did not take the message; the step is retried)."""
    if isinstance(error, ReadTimeoutError | ConnectionClosedError):
        return SendUnknown(f"{provider} did not answer ({type(error).__name__}): it may have sent")
    if isinstance(error, BotoCoreError):
        return error
    code = error.response["Error"]["Code"]
    if code in throttled or code in PAUSED_CODES:
        return SendThrottled(f"{provider} throttled or paused the send ({code})")
    if code in rejected:
        return SendRejected(f"{provider} rejected the message ({code})")
    return error
