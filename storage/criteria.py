"""A smart folder's criteria: a saved computer query, typed, stored as its JSON.

The same camelCase JSON is the API's ``criteria``, the dataset format's and the column's
(``storage.models.SmartFolder.criteria`` reads and writes :class:`SmartFolderCriteria` through
:class:`CriteriaJSON`), so the shape is declared once, here, in the lowest layer that reads it:
``storage.scoped`` turns it into SQL.

Every criterion given must hold (AND); a criterion left out does not narrow. No criterion at
all is every computer (of the recipient's clearance, as always):

- ``platform``: the computer's platform contains this text, any case ("linux", "Windows");
- ``agentStatuses``: the agent status is one of these;
- ``tags``: the computer carries every one of these tags;
- ``computerGroupID`` (with ``includeSubgroups``): in this group (or one of its sub-groups);
- ``policyID`` (with ``includeSubpolicies``): using this policy (or one of its children).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import JSON, Dialect
from sqlalchemy.types import TypeDecorator

#: Largest ID the tables hold (PostgreSQL's int4).
MAX_ID = 2**31 - 1
#: Most tags or statuses one criterion lists.
MAX_LISTED = 100

CriterionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
]
CriterionID = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class AgentStatus(StrEnum):
    """A computer's agent status (``Computer.agent_status``)."""

    active = "active"
    offline = "offline"
    warning = "warning"
    error = "error"
    unmanaged = "unmanaged"


class SmartFolderCriteria(BaseModel):
    """Which computers a smart folder holds (all the criteria given, within the clearance)."""

    model_config = ConfigDict(
        populate_by_name=True, serialize_by_alias=True, extra="forbid", frozen=True
    )

    platform: CriterionText | None = None
    agent_statuses: tuple[AgentStatus, ...] = Field(
        (), alias="agentStatuses", max_length=MAX_LISTED
    )
    tags: tuple[CriterionText, ...] = Field((), max_length=MAX_LISTED)
    computer_group_id: CriterionID | None = Field(None, alias="computerGroupID")
    include_subgroups: bool = Field(False, alias="includeSubgroups")
    policy_id: CriterionID | None = Field(None, alias="policyID")
    include_subpolicies: bool = Field(False, alias="includeSubpolicies")

    @model_validator(mode="after")
    def _sub_trees_need_their_root(self) -> SmartFolderCriteria:
        if self.include_subgroups and self.computer_group_id is None:
            raise ValueError("includeSubgroups needs computerGroupID")
        if self.include_subpolicies and self.policy_id is None:
            raise ValueError("includeSubpolicies needs policyID")
        return self

    def to_api(self) -> dict[str, Any]:
        """The JSON: camelCase, criteria left out are absent."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name in ("agentStatuses", "tags"):
            if not data[name]:
                del data[name]
        for flag in ("includeSubgroups", "includeSubpolicies"):
            if not data[flag]:
                del data[flag]
        return data


class CriteriaJSON(TypeDecorator[SmartFolderCriteria]):
    """:class:`SmartFolderCriteria` in a JSON column: validated on the way in and out."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: SmartFolderCriteria | None, dialect: Dialect) -> Any:
        return None if value is None else value.to_api()

    def process_result_value(self, value: Any, dialect: Dialect) -> SmartFolderCriteria | None:
        return None if value is None else SmartFolderCriteria.model_validate(value)
