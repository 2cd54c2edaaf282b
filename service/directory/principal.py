"""Who is acting: one type for an API key and a signed-in console user, with their role.

The API resolves its ``api-secret-key`` header to a :class:`Principal`; the console resolves
its session cookie to one (``Principal.for_user``). Every rule (``service.directory.authz``)
and every service function that acts for someone takes a ``Principal``, so a right enforced
through one edge is enforced through the other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.directory.clearance import scope_for
from service.directory.rights import AccessLevel, RoleRights, read_only_rights
from service.directory.role_specs import RoleSpec, spec_of
from storage.records import RoleRecord
from storage.scoped import Scope

#: Order of the Other Rights levels for the comparison; custom counts as full.
LEVEL_RANK = {
    AccessLevel.hide.value: 0,
    AccessLevel.view_only.value: 1,
    AccessLevel.full.value: 2,
    AccessLevel.custom.value: 2,
}
#: The ranks of "view" and "change" for :meth:`Principal.level`.
VIEW, CHANGE = 1, 2


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (or a signed-in user), its account and its role there."""

    account_id: int
    key_id: int
    key_name: str
    role: RoleRecord
    origin: str = ""
    #: Set when a signed-in user calls (the console) rather than an API key.
    user_id: int | None = None
    #: The user's membership is read-only: the role's views, none of its changes.
    read_only: bool = False

    @classmethod
    def for_user(
        cls,
        *,
        account_id: int,
        user_id: int,
        email_address: str,
        role: RoleRecord,
        read_only: bool = False,
        origin: str = "",
    ) -> Principal:
        """A signed-in user of ``account_id`` with their role there (for the console)."""
        return cls(
            account_id=account_id,
            key_id=0,
            key_name=email_address,
            role=role,
            origin=origin,
            user_id=user_id,
            read_only=read_only,
        )

    @property
    def actor(self) -> str:
        """How the audit trail names the caller."""
        if self.user_id is not None:
            return f"user:{self.key_name}"
        return f"apikey:{self.key_name}"

    @property
    def spec(self) -> RoleSpec:
        spec = spec_of(self.role)
        if self.read_only:
            return replace(spec, rights=read_only_rights(spec.rights))
        return spec

    @property
    def rights(self) -> RoleRights:
        return self.spec.rights

    @property
    def scope(self) -> Scope:
        """What the caller may view; computers, events and scopes are shown only within it."""
        return scope_for(self.role, self.account_id)

    def level(self, feature: str) -> int:
        """The rank of an Other Rights feature: 0 hide, 1 view-only, 2 full (or custom)."""
        return LEVEL_RANK.get(str(self.rights.other_rights.get(feature, "hide")), 0)
