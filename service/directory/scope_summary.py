"""What a clearance lets its holder see: counts and names, as ``reportd scope`` prints them.

The console's "what this contact sees" and the demo's lines read the same summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.directory.clearance import scope_for
from storage.records import load_role
from storage.rows import ComputerRow, PolicyRow
from storage.scoped import ScopeCounts, count_scope, permitted_computers, viewable_policies


@dataclass(frozen=True)
class ScopeSummary:
    """A clearance's reach over ``start``..``end``: counts, and the names when asked for."""

    role_name: str | None
    counts: ScopeCounts
    not_related_to_computers: bool
    computers: list[ComputerRow]
    policies: list[PolicyRow]


def summarize_scope(
    session: Session,
    *,
    account_id: int,
    role_id: int | None,
    start: datetime,
    end: datetime,
    names: bool = True,
) -> ScopeSummary:
    """The scope of role ``role_id`` (none, or another account's: nothing at all)."""
    role = load_role(session, account_id, role_id)
    scope = scope_for(role, account_id)
    return ScopeSummary(
        role_name=role.name if role else None,
        counts=count_scope(session, scope, start, end),
        not_related_to_computers=scope.not_related_to_computers,
        computers=permitted_computers(session, scope) if names else [],
        policies=viewable_policies(session, scope) if names else [],
    )
