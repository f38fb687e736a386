"""The users service's events: a password reset to be mailed, on `notifications`, keyed by the
user id (architecture.md §5)."""

from datetime import datetime

from cloudmart_common import topology
from cloudmart_common.events import new_event
from cloudmart_common.outbox import OutboxMessage
from cloudmart_users.models import User


def password_reset_requested(user: User, sealed_token: str, expires_at: datetime) -> OutboxMessage:
    """The reset link's token travels sealed for the notifications service (ADR 0006)."""
    event = new_event(
        "password_reset_requested",
        {
            "user_id": user.id,
            "username": user.username,
            "email": user.email,
            "full_name": user.full_name,
            "reset_token": sealed_token,
            "expires_at": expires_at,
        },
    )
    return OutboxMessage(topology.NOTIFICATIONS.name, str(user.id), event)
