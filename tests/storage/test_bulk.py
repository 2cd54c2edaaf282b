"""Bulk writes (``storage.bulk``): on PostgreSQL one ``unnest`` statement of arrays, elsewhere
SQLAlchemy's bulk statements; the same rows either way (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from storage.bulk import insert_rows, update_rows
from storage.models import ReportRun

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def run_rows(account_id: int, count: int) -> list[dict[str, object]]:
    """Runs that differ in every written column, some values NULL or awkward to quote."""
    return [
        {
            "account_id": account_id,
            "report_type": "summary",
            "parameters": {"n": i, "text": 'quote " brace { comma , é', "none": None},
            "triggered_by": f"bulk:{i}",
            "scheduled_task_id": None,
            "occurrence": None if i % 2 else NOW + timedelta(minutes=i),
            "period_start": NOW - timedelta(days=7),
            "period_end": NOW,
            "created": NOW,
            "total": i,
        }
        for i in range(count)
    ]


def test_given_rows_when_inserted_then_ids_come_back_in_their_order_with_values_and_defaults(
    session: Session,
) -> None:
    account = create_account(session, name=f"Bulk {id(session)}")
    rows = run_rows(account.id, 7)

    ids = insert_rows(session, ReportRun, rows, returning_ids=True)

    stored = {
        run.id: run for run in session.scalars(select(ReportRun).where(ReportRun.id.in_(ids)))
    }
    assert len(ids) == len(set(ids)) == 7
    for run_id, row in zip(ids, rows, strict=True):
        run = stored[run_id]
        assert run.triggered_by == row["triggered_by"]
        assert run.parameters == row["parameters"]
        assert run.occurrence == row["occurrence"]
        assert run.total == row["total"]
        assert (run.sent, run.failed, run.skipped) == (0, 0, 0)  # the columns' defaults


def test_given_no_rows_when_inserted_then_nothing_is_written(session: Session) -> None:
    assert insert_rows(session, ReportRun, [], returning_ids=True) == []
    update_rows(session, ReportRun, [])


def test_given_a_naive_time_when_inserted_then_it_is_refused(session: Session) -> None:
    account = create_account(session, name=f"Bulk naive {id(session)}")
    rows = run_rows(account.id, 1)
    rows[0]["created"] = datetime(2026, 3, 1, 8, 0)

    with pytest.raises((ValueError, StatementError)), session.begin_nested():
        insert_rows(session, ReportRun, rows)


def test_given_rows_held_by_the_session_when_updated_then_they_read_the_new_values(
    session: Session,
) -> None:
    account = create_account(session, name=f"Bulk update {id(session)}")
    first, second, third = insert_rows(
        session, ReportRun, run_rows(account.id, 3), returning_ids=True
    )
    held = session.get(ReportRun, first)
    assert held is not None and held.total == 0

    update_rows(
        session,
        ReportRun,
        [{"id": first, "total": 10, "finished": NOW}, {"id": third, "total": 30, "finished": None}],
    )

    assert (held.total, held.finished) == (10, NOW)
    query = select(ReportRun.id, ReportRun.total).where(ReportRun.account_id == account.id)
    totals = {run_id: total for run_id, total in session.execute(query)}
    assert totals == {first: 10, second: 1, third: 30}
