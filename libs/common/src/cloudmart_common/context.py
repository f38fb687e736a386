"""Per-request context carried across awaits: the request id and user every log line carries."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# The verified caller's subject (a user id, or `service:<name>`), set by the auth dependency.
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_user_id() -> str | None:
    return user_id_var.get()
