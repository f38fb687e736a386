"""What the redrive refuses, as problem documents."""

import logging

from cloudmart_common.errors import (
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
)

log = logging.getLogger(__name__)


class DeadLetterNotFound(NotFoundError):
    title, slug = "Dead letter not found", "dead-letter-not-found"


class AlreadyHandled(ConflictError):
    title, slug = "Dead letter already handled", "dead-letter-handled"


class ReplayLimitReached(ConflictError):
    title, slug = "Replay limit reached", "replay-limit-reached"


class NotReplayable(ConflictError):
    title, slug = "Not replayable", "not-replayable"


class DlqUnavailable(ServiceUnavailableError):
    title, slug = "Dead-letter topic unavailable", "dlq-unavailable"
