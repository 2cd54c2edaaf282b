"""A report's parts read at the same time give the report read one part after another."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.clearance import scope_for
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.reports.builder import ReportRequest, build_report
from service.reports.model import ReportType
from service.reports.spec import ReportSpec
from storage.concurrent import read_concurrently, reads_in_parallel
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Contact
from storage.records import load_role
from tests.conftest import POSTGRES_URL, drop_postgres_database, postgres_engine

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def committed(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own on ``engine``'s backend: these tests commit, others must not
    find their rows."""
    if engine.dialect.name == "sqlite":
        own = make_engine(f"sqlite:///{tmp_path / 'reads.sqlite3'}")
        upgrade(own)
        yield own
        own.dispose()
        return
    url = make_url(POSTGRES_URL).set(database=f"{engine.url.database}_reads")
    made = postgres_engine(url.render_as_string(hide_password=False))
    assert made is not None
    yield made
    drop_postgres_database(made)


def test_when_reads_run_concurrently_then_each_has_its_own_session_at_the_same_time(
    committed: Engine,
) -> None:
    sessions = make_session_factory(committed)
    together = threading.Barrier(3, timeout=10)  # fails unless all three are running at once
    seen: list[Session] = []

    def read(number: int) -> Callable[[Session], int]:
        def run(session: Session) -> int:
            seen.append(session)
            together.wait()
            return number

        return run

    assert read_concurrently(sessions, [read(1), read(2), read(3)]) == [1, 2, 3]
    assert len({id(session) for session in seen}) == 3


def test_reads_run_in_parallel_on_postgresql_only(engine: Engine) -> None:
    assert reads_in_parallel(make_session_factory(engine)) is (engine.dialect.name != "sqlite")


def test_given_a_summary_when_its_parts_are_read_concurrently_then_the_report_is_the_same(
    committed: Engine,
) -> None:
    sessions = make_session_factory(committed)
    with transaction(sessions) as session:
        account = create_account(session, name=f"Concurrent {uuid.uuid4().hex[:8]}")
        dataset = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=account.id, dataset=dataset, box=SecretBox("k"))
        account_id, name = account.id, account.name
    request = ReportRequest(
        spec=ReportSpec(kind=ReportType.summary),
        period_start=NOW - timedelta(days=7),
        period_end=NOW,
        generated_at=NOW,
    )
    with sessions() as session:
        for contact in session.scalars(select(Contact).where(Contact.account_id == account_id)):
            scope = scope_for(load_role(session, account_id, contact.role_id), account_id)
            one_by_one = build_report(
                session, scope=scope, request=request, account_name=name, locale="en-US",
                time_zone="UTC",
            )  # fmt: skip
            together = build_report(
                session, scope=scope, request=request, account_name=name, locale="en-US",
                time_zone="UTC", sessions=sessions,
            )  # fmt: skip

            assert together == one_by_one
            assert one_by_one.computers and one_by_one.events


def test_after_a_fork_the_child_reads_with_a_pool_of_its_own(committed: Engine) -> None:
    sessions = make_session_factory(committed)
    assert read_concurrently(sessions, [lambda _: 1, lambda _: 2]) == [1, 2]  # threads started

    def child() -> None:  # as a dramatiq worker process, forked after its parent read
        os._exit(0 if read_concurrently(sessions, [lambda _: 3]) == [3] else 1)

    forked = multiprocessing.get_context("fork").Process(target=child)
    forked.start()
    forked.join(timeout=20)
    if forked.exitcode is None:
        forked.kill()
    assert forked.exitcode == 0
