"""Smart folders changed and read by a principal, and the check every report edge makes.

A smart folder is a saved computer query of the account (``storage.criteria``): a name, a
description and criteria. The API, the console and the CLI call these functions; the API's
JSON is ``{"ID", "name", "description", "criteria"}``. Rights (``service.directory.authz``):
viewing needs ``can_view_computers``, changing ``can_edit_computer_properties``. A folder's
criteria name a group or policy of the account (checked here); what a folder holds in a report
is always cut to the recipient's clearance (``storage.scoped``), so a folder can never show
anyone more than their role does.

Where a report is asked for (one-off or a scheduled task, through any edge), naming a folder
the account does not have is refused with :func:`require_folder`. A folder a scheduled task
reports on cannot be deleted (``InUse``, naming the tasks), or the task would go on reporting
nothing without a word; a folder missing anyway (a run asked for before its deletion) makes
the report match nothing rather than fail open.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory import audit
from service.directory.authz import can_read_smart_folders, can_write_smart_folders
from service.directory.principal import Principal
from service.errors import InUse, InvalidInput, NotFound
from service.reports.spec import describe
from storage import smart_folders as store
from storage.criteria import SmartFolderCriteria
from storage.models import ComputerGroup, Policy
from storage.scoped import ComputerFilterType, ReportFilter
from storage.smart_folders import SmartFolderRecord
from storage.tasks import ScheduledTaskRow

#: Tasks an ``InUse`` refusal names, at most (then how many more).
MAX_TASKS_NAMED = 10

FolderName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class SmartFolderBody(BaseModel):
    """The API's smart folder: every field for a new one; the fields to change for a modify."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    name: FolderName | None = None
    description: Annotated[str, Field(max_length=4000)] | None = None
    criteria: SmartFolderCriteria | None = None

    @classmethod
    def from_api(cls, data: Any) -> SmartFolderBody:
        """The body of the JSON, or ``InvalidInput`` naming each field it refuses."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidInput(describe(error, whole="smart folder")) from None


def to_api(folder: SmartFolderRecord) -> dict[str, Any]:
    return {
        "ID": folder.id,
        "name": folder.name,
        "description": folder.description,
        "criteria": folder.criteria.to_api(),
    }


def list_for(session: Session, caller: Principal) -> list[SmartFolderRecord]:
    can_read_smart_folders(caller)
    return store.list_folders(session, caller.account_id)


def get_for(session: Session, caller: Principal, folder_id: int) -> SmartFolderRecord:
    can_read_smart_folders(caller)
    return _existing(session, caller.account_id, folder_id)


def create(session: Session, account_id: int, body: SmartFolderBody) -> SmartFolderRecord:
    """A new folder, its name free and its criteria's group and policy the account's (no
    rights checked: the operator's CLI calls this; principals go through ``create_for``)."""
    if body.name is None:
        raise InvalidInput("name: required")
    criteria = body.criteria or SmartFolderCriteria()
    _check_name_free(session, account_id, body.name)
    _check_references(session, account_id, criteria)
    return store.add_folder(
        session, account_id, name=body.name, description=body.description or "", criteria=criteria
    )


def modify(
    session: Session, account_id: int, folder_id: int, body: SmartFolderBody
) -> tuple[SmartFolderRecord, SmartFolderRecord]:
    """The folder with the given fields replaced: (before, after)."""
    before = _existing(session, account_id, folder_id)
    if body.name is not None and body.name != before.name:
        _check_name_free(session, account_id, body.name)
    if body.criteria is not None:
        _check_references(session, account_id, body.criteria)
    after = store.change_folder(
        session,
        account_id,
        folder_id,
        name=body.name,
        description=body.description,
        criteria=body.criteria,
    )
    assert after is not None  # it existed a moment ago, in this transaction
    return before, after


def delete(session: Session, account_id: int, folder_id: int) -> SmartFolderRecord:
    """Delete the folder; what it was. ``InUse`` while a scheduled task reports on it."""
    before = _existing(session, account_id, folder_id)
    require_unused(session, account_id, before)
    store.remove_folder(session, account_id, folder_id)
    return before


def require_unused(session: Session, account_id: int, folder: SmartFolderRecord) -> None:
    """``InUse``, naming the tasks, while a scheduled task reports on the folder."""
    users = tasks_using(session, account_id, folder.id)
    if users:
        named = ", ".join(f"{task_id} {name!r}" for task_id, name in users[:MAX_TASKS_NAMED])
        more = len(users) - MAX_TASKS_NAMED
        if more > 0:
            named += f" and {more} more"
        raise InUse(
            f"{subject(folder)} is used by scheduled tasks {named}: change their computer"
            " filter or delete them first"
        )


def tasks_using(session: Session, account_id: int, folder_id: int) -> list[tuple[int, str]]:
    """(ID, name) of the account's scheduled tasks whose computer filter is the folder, by
    name. The filter is JSON in the task's parameters, read here as any edge stored it."""
    rows = session.execute(
        select(ScheduledTaskRow.id, ScheduledTaskRow.name, ScheduledTaskRow.parameters)
        .where(ScheduledTaskRow.account_id == account_id)
        .order_by(ScheduledTaskRow.name, ScheduledTaskRow.id)
    )
    return [(row.id, row.name) for row in rows if _names_folder(row.parameters, folder_id)]


def _names_folder(parameters: Any, folder_id: int) -> bool:
    chosen = parameters.get("computerFilter") if isinstance(parameters, dict) else None
    return (
        isinstance(chosen, dict)
        and chosen.get("type") == ComputerFilterType.computers_in_smart_folder.value
        and chosen.get("smartFolderID") == folder_id
    )


def create_for(session: Session, caller: Principal, body: SmartFolderBody) -> SmartFolderRecord:
    can_write_smart_folders(caller)
    folder = create(session, caller.account_id, body)
    _audit(session, caller, audit.AuditCode.smart_folder_created, created_note(folder))
    return folder


def modify_for(
    session: Session, caller: Principal, folder_id: int, body: SmartFolderBody
) -> SmartFolderRecord:
    can_write_smart_folders(caller)
    before, after = modify(session, caller.account_id, folder_id, body)
    _audit(session, caller, audit.AuditCode.smart_folder_updated, changed_note(before, after))
    return after


def delete_for(session: Session, caller: Principal, folder_id: int) -> None:
    can_write_smart_folders(caller)
    before = delete(session, caller.account_id, folder_id)
    _audit(session, caller, audit.AuditCode.smart_folder_deleted, subject(before))


def created_note(folder: SmartFolderRecord) -> str:
    """The audit trail's description of a new folder."""
    return audit.describe_values(subject(folder), to_api(folder))


def changed_note(before: SmartFolderRecord, after: SmartFolderRecord) -> str:
    return audit.describe_changes(subject(after), to_api(before), to_api(after))


def find_folder(session: Session, account_id: int, ref: str) -> SmartFolderRecord:
    """The account's folder named ``ref``, or with ID ``ref`` (the CLI's NAME|ID)."""
    folder = store.folder_named(session, account_id, ref.strip())
    if folder is None and ref.strip().isdigit() and len(ref.strip()) <= 10:
        folder = store.get_folder(session, account_id, int(ref))
    if folder is None:
        raise InvalidInput(f"no smart folder {ref!r} in this account (name or ID)")
    return folder


def require_folder(
    session: Session, account_id: int, report_filter: ReportFilter, *, where: str = ""
) -> None:
    """Refuse a report filter naming a smart folder the account does not have."""
    if report_filter.computer_filter is not ComputerFilterType.computers_in_smart_folder:
        return
    folder_id = report_filter.smart_folder_id
    if folder_id is None or store.get_folder(session, account_id, folder_id) is None:
        field = f"{where}computerFilter.smartFolderID"
        raise InvalidInput(f"{field}: no smart folder with ID {folder_id} in this account")


def _existing(session: Session, account_id: int, folder_id: int) -> SmartFolderRecord:
    folder = store.get_folder(session, account_id, folder_id)
    if folder is None:
        raise NotFound(f"no smart folder with ID {folder_id}")
    return folder


def _check_name_free(session: Session, account_id: int, name: str) -> None:
    if store.folder_named(session, account_id, name) is not None:
        raise InvalidInput(f"name: a smart folder named {name!r} already exists")


def _check_references(session: Session, account_id: int, criteria: SmartFolderCriteria) -> None:
    """The criteria's group and policy are the account's."""
    if criteria.computer_group_id is not None:
        group = select(ComputerGroup.id).where(
            ComputerGroup.account_id == account_id, ComputerGroup.id == criteria.computer_group_id
        )
        if session.scalar(group) is None:
            raise InvalidInput(
                f"criteria.computerGroupID: no computer group with ID"
                f" {criteria.computer_group_id} in this account"
            )
    if criteria.policy_id is not None:
        policy = select(Policy.id).where(
            Policy.account_id == account_id, Policy.id == criteria.policy_id
        )
        if session.scalar(policy) is None:
            raise InvalidInput(
                f"criteria.policyID: no policy with ID {criteria.policy_id} in this account"
            )


def subject(folder: SmartFolderRecord) -> str:
    return f"smart folder {folder.name!r} (ID {folder.id})"


def _audit(session: Session, caller: Principal, code: audit.AuditCode, description: str) -> None:
    audit.record(
        session,
        account_id=caller.account_id,
        code=code,
        description=description,
        actor=caller.actor,
        origin=caller.origin,
    )
