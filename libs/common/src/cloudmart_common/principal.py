"""Who is calling: the verified claims of an access or service token."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["customer", "admin", "service"]
SERVICE_PREFIX = "service:"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    token_id: str
    claims: Mapping[str, Any]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_service(self) -> bool:
        return self.role == "service"

    @property
    def user_id(self) -> int | None:
        """The end user's id (`sub` is the users table's id); None for a service."""
        if self.is_service or not self.subject.isdigit():
            return None
        return int(self.subject)

    @property
    def service_name(self) -> str | None:
        if self.is_service and self.subject.startswith(SERVICE_PREFIX):
            return self.subject.removeprefix(SERVICE_PREFIX)
        return None
