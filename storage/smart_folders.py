"""An account's smart folders: read, write, and the one read a report filter needs.

Every function takes the account; a folder of another account does not exist for it. Rows
leave as :class:`SmartFolderRecord`, never as ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.criteria import SmartFolderCriteria
from storage.models import SmartFolder
from storage.scoped import ComputerFilterType, ReportFilter


@dataclass(frozen=True)
class SmartFolderRecord:
    id: int
    name: str
    description: str
    criteria: SmartFolderCriteria


def _record(row: SmartFolder) -> SmartFolderRecord:
    return SmartFolderRecord(
        id=row.id, name=row.name, description=row.description, criteria=row.criteria
    )


def list_folders(session: Session, account_id: int) -> list[SmartFolderRecord]:
    """The account's folders by name."""
    statement = (
        select(SmartFolder)
        .where(SmartFolder.account_id == account_id)
        .order_by(SmartFolder.name, SmartFolder.id)
    )
    return [_record(row) for row in session.scalars(statement)]


def _row(session: Session, account_id: int, folder_id: int) -> SmartFolder | None:
    return session.scalars(
        select(SmartFolder).where(SmartFolder.account_id == account_id, SmartFolder.id == folder_id)
    ).one_or_none()


def get_folder(session: Session, account_id: int, folder_id: int) -> SmartFolderRecord | None:
    row = _row(session, account_id, folder_id)
    return None if row is None else _record(row)


def folder_named(session: Session, account_id: int, name: str) -> SmartFolderRecord | None:
    row = session.scalars(
        select(SmartFolder).where(SmartFolder.account_id == account_id, SmartFolder.name == name)
    ).one_or_none()
    return None if row is None else _record(row)


def add_folder(
    session: Session,
    account_id: int,
    *,
    name: str,
    description: str,
    criteria: SmartFolderCriteria,
) -> SmartFolderRecord:
    """A new folder; the caller has checked that the name is free."""
    row = SmartFolder(account_id=account_id, name=name, description=description, criteria=criteria)
    session.add(row)
    session.flush()
    return _record(row)


def change_folder(
    session: Session,
    account_id: int,
    folder_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    criteria: SmartFolderCriteria | None = None,
) -> SmartFolderRecord | None:
    """The folder with the given fields replaced; None when the account has no such folder."""
    row = _row(session, account_id, folder_id)
    if row is None:
        return None
    if name is not None:
        row.name = name
    if description is not None:
        row.description = description
    if criteria is not None:
        row.criteria = criteria
    session.flush()
    return _record(row)


def remove_folder(session: Session, account_id: int, folder_id: int) -> bool:
    """Delete the folder; whether there was one."""
    row = _row(session, account_id, folder_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def resolve(session: Session, account_id: int | None, report_filter: ReportFilter) -> ReportFilter:
    """``report_filter`` with its smart folder's criteria read from the account, once per
    report, so every part of the report reads the same criteria. A folder the account does
    not have leaves the criteria None: the filter then matches nothing (fail closed)."""
    if report_filter.computer_filter is not ComputerFilterType.computers_in_smart_folder:
        return report_filter
    folder = None
    if account_id is not None and report_filter.smart_folder_id is not None:
        folder = get_folder(session, account_id, report_filter.smart_folder_id)
    return replace(report_filter, smart_folder=None if folder is None else folder.criteria)
