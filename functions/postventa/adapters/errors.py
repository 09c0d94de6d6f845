"""The one place that says which failures are transient (retry with backoff) and which are
permanent, and which of the services' errors (services/errors.py) a provider's answer means."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

from postventa.services.errors import SendRejected, SendThrottled, SendUnknown, StepRetryable

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
