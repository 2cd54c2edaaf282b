"""The rights gates as the API names them: ``Caller`` is the one ``Principal`` type.

The rules themselves live in ``service.directory.authz`` (and the principal in
``service.directory.principal``), where the console calls them too; this module keeps the
names the API's modules import.
"""

from __future__ import annotations

from service.directory.authz import (
    RESTRICTIONS,
    SELECTION_FLAGS,
    USER_MANIPULATION,
    can_administrators,
    can_api_keys,
    can_change_roles,
    can_ingest,
    can_read_contacts,
    can_read_roles,
    can_read_tasks,
    can_write_contacts,
    can_write_tasks,
    exceeding,
    group_subtree,
    require_lesser_or_equal,
)
from service.directory.principal import LEVEL_RANK
from service.directory.principal import Principal as Caller
from service.errors import Forbidden

#: The name ``inventory_admin`` imports.
_group_subtree = group_subtree

__all__ = [
    "LEVEL_RANK",
    "RESTRICTIONS",
    "SELECTION_FLAGS",
    "USER_MANIPULATION",
    "Caller",
    "Forbidden",
    "can_administrators",
    "can_api_keys",
    "can_change_roles",
    "can_ingest",
    "can_read_contacts",
    "can_read_roles",
    "can_read_tasks",
    "can_write_contacts",
    "can_write_tasks",
    "exceeding",
    "require_lesser_or_equal",
]
