"""The console's navigation: one entry per page, shown only when the viewer's role allows it.

An entry hidden here is also refused by its page (the page's service functions check the same
right): the menu only saves a click, it never grants anything. Add a page's entry here (the
order is the menu's) with the rule that shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.console.i18n import N_
from service.directory.principal import VIEW, Principal


@dataclass(frozen=True)
class NavEntry:
    """A menu entry: ``key`` marks the current page, ``label`` is a message id."""

    key: str
    label: str
    href: str
    shown: Callable[[Principal], bool]


def _always(_: Principal) -> bool:
    return True


def _contacts(principal: Principal) -> bool:
    return principal.level("contactRights") >= VIEW


def _tasks(principal: Principal) -> bool:
    return principal.level("scheduledTaskRights") >= VIEW


def _administrators(principal: Principal) -> bool:
    return principal.rights.can_view_users


def _roles(principal: Principal) -> bool:
    return principal.rights.can_view_roles


NAV: tuple[NavEntry, ...] = (
    NavEntry("overview", N_("Overview"), "/", _always),
    NavEntry("contacts", N_("Contacts"), "/contacts", _contacts),
    NavEntry("administrators", N_("Administrators"), "/administrators", _administrators),
    NavEntry("roles", N_("Roles"), "/roles", _roles),
)

#: Rules the pages of other modules may reuse, by name.
SHOWN_IF = {
    "always": _always,
    "contacts": _contacts,
    "tasks": _tasks,
    "administrators": _administrators,
    "roles": _roles,
}


def nav_for(principal: Principal) -> list[NavEntry]:
    return [entry for entry in NAV if entry.shown(principal)]
