"""Domain errors of the users service (statuses from cloudmart_common.errors)."""

from cloudmart_common.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    UnprocessableError,
)


class UserNotFound(NotFoundError):
    title, slug = "User not found", "user-not-found"


class AlreadyRegistered(ConflictError):
    title, slug = "Already registered", "already-registered"


class InvalidCredentials(UnauthorizedError):
    title, slug = "Invalid credentials", "invalid-credentials"


class WeakPassword(UnprocessableError):
    title, slug = "Password too weak", "weak-password"


class WrongCurrentPassword(ForbiddenError):
    title, slug = "Current password does not match", "wrong-current-password"


class InvalidResetToken(UnprocessableError):
    title, slug = "Invalid or expired reset token", "invalid-reset-token"


class RefreshRejected(UnauthorizedError):
    title, slug = "Refresh token rejected", "refresh-rejected"


class LastAdmin(ConflictError):
    title, slug = "The last administrator", "last-admin"
