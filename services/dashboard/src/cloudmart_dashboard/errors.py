"""Domain errors of the dashboard service (statuses from cloudmart_common.errors)."""

from cloudmart_common.errors import BadRequestError


class InvalidCursor(BadRequestError):
    """A cursor that is not a window start (the problem type stays `bad-request`)."""
