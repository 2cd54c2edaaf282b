"""Stored PDFs of a run: read back by account, run and key; the first of two stores stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from service.delivery.shared_pdfs import store_pdf, stored_pdf
from service.directory.accounts import create_account
from storage.models import ReportRun

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
KEY = "a" * 64


def a_run(session: Session) -> ReportRun:
    account = create_account(session, name="Shared PDFs")
    run = ReportRun(
        account_id=account.id,
        report_type="summary",
        triggered_by="test",
        period_start=NOW - timedelta(days=7),
        period_end=NOW,
    )
    session.add(run)
    session.flush()
    return run


def test_a_stored_pdf_is_read_back_by_its_run_and_key_only(session: Session) -> None:
    run = a_run(session)
    store_pdf(session, account_id=run.account_id, run_id=run.id, key=KEY, pdf=b"%PDF-1", now=NOW)

    def read(account_id: int = run.account_id, run_id: int = run.id, key: str = KEY) -> object:
        return stored_pdf(session, account_id=account_id, run_id=run_id, key=key)

    assert read() == b"%PDF-1"
    assert read(key="b" * 64) is None
    assert read(run_id=run.id + 1) is None
    assert read(account_id=run.account_id + 1) is None  # another account's, whatever the run


def test_when_a_second_process_stores_the_same_key_then_the_first_pdf_stays(
    session: Session,
) -> None:
    run = a_run(session)
    store_pdf(session, account_id=run.account_id, run_id=run.id, key=KEY, pdf=b"%PDF-1", now=NOW)
    store_pdf(session, account_id=run.account_id, run_id=run.id, key=KEY, pdf=b"%PDF-2", now=NOW)

    assert stored_pdf(session, account_id=run.account_id, run_id=run.id, key=KEY) == b"%PDF-1"
    session.flush()  # the session is still usable after the refused insert
