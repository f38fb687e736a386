"""The users service's public contract: request and response bodies."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from cloudmart_users.passwords import MAX_LENGTH, MIN_LENGTH

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,80}$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LENGTH)]
# A password being set: the length rule is in the schema; the mix of characters is checked on
# top (passwords.strength_problem), which no schema states.
NewPassword = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
# At most 30 characters in all, the column's size (the pattern alone let a `+` make it 31).
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{5,30}$", max_length=30)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Strict(BaseModel):
    # Unknown fields are an error, not ignored: `role` in a profile update is a 422.
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Strict):
    username: Username
    email: EmailStr
    password: NewPassword
    full_name: FullName | None = None
    phone: Phone | None = None
    address: Address | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    full_name: str | None
    phone: str | None
    address: str | None
    role: Literal["customer", "admin"]
    created_at: datetime
    updated_at: datetime


class LoginIn(Strict):
    username: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    password: Password


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, no secret
    expires_in: int
    refresh_token: str
    user: UserOut


class RefreshIn(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ProfileUpdate(Strict):
    """Only profile fields: id, role and the password hash cannot be changed here."""

    email: EmailStr | None = None
    full_name: FullName | None = None
    phone: Phone | None = None
    address: Address | None = None


class PasswordChangeIn(Strict):
    current_password: Password
    new_password: NewPassword


class PasswordResetIn(Strict):
    email: EmailStr


class PasswordResetConfirmIn(Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    new_password: NewPassword


class AcceptedOut(BaseModel):
    status: Literal["accepted"] = "accepted"


class ServiceTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, no secret
    expires_in: int


class UserStatusOut(BaseModel):
    """What other services may know: whether the user can buy, and how to reach them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    full_name: str | None
    phone: str | None
    is_active: bool
    role: Literal["customer", "admin"]


class Jwk(BaseModel):
    """An RSA public key (RFC 7517): the public parts only."""

    kty: Literal["RSA"]
    kid: str
    use: Literal["sig"]
    alg: Literal["RS256"]
    n: str
    e: str


class JwksOut(BaseModel):
    keys: list[Jwk] = Field(description="every key a valid token may be signed with")
