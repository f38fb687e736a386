"""Who is calling: the verified claims of an access or service token."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["customer", "admin", "service"]
SERVICE_PREFIX = "service:"  # service tokens carry `sub: "service:<name>"` (architecture.md §9)


@dataclass(frozen=True)
class Principal:
    """A caller whose token verified: an end user (customer, admin) or another service."""

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
    def scopes(self) -> frozenset[str]:
        """A service token's grants (`scope`, space-separated); none for a user's token."""
        scope = self.claims.get("scope")
        return (
            frozenset(scope.split()) if self.is_service and isinstance(scope, str) else frozenset()
        )

    def may_see(self, owner_id: int, service_scope: str) -> bool:
        """What a user owns is theirs to read; admins read everything, and services holding
        `service_scope` (cloudmart_common.scopes)."""
        if self.is_service:
            return service_scope in self.scopes
        return self.is_admin or self.user_id == owner_id

    @property
    def user_id(self) -> int | None:
        """The end user's id (`sub` is the users table's id); None for a service."""
        # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
        if self.is_service or not (self.subject.isascii() and self.subject.isdigit()):
            return None
        return int(self.subject)

    @property
    def service_name(self) -> str | None:
        """The calling service's name (`orders` for `sub: "service:orders"`); None for users."""
        if self.is_service and self.subject.startswith(SERVICE_PREFIX):
            return self.subject.removeprefix(SERVICE_PREFIX) or None
        return None
