"""An unexpected error in a delivery (a bug, bad stored data) is a try like any other: counted
against the attempt limit, after which the delivery fails with the reason, its run closes and
the run's unencrypted PDFs go. Each ``deliver`` call below is one message, as dramatiq would
redeliver it after each retry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from service.delivery.ledger import DeliveryState, Recipients
from service.delivery.pdf import PdfRenderer
from service.delivery.pipeline import Outcome, deliver
from service.delivery.smtp_sink import SmtpSink
from service.directory.secretbox import SecretBox
from storage.db import transaction
from storage.models import Contact, Delivery, RenderedPdf, ReportRun
from tests.actors.conftest import ALEX, JONAS, SECRET, World, make_world
from tests.conftest import POSTGRES_URL, drop_postgres_database, need, postgres_engine

LIMIT = 5


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The sample account on each backend, with an SMTP sink."""
    with SmtpSink(tmp_path / "outbox") as sink:
        if request.param == "sqlite":
            yield make_world(tmp_path, sink)
            return
        engine = postgres_engine()
        need("PostgreSQL", engine is not None, f"cannot create a database at {POSTGRES_URL}")
        assert engine is not None
        engine.dispose()
        world = make_world(tmp_path, sink, database_url=POSTGRES_URL)
        try:
            yield world
        finally:
            world.sessions.kw["bind"].dispose()
            drop_postgres_database(engine)


def stored_pdfs(world: World, run_id: int) -> int:
    with world.sessions() as session:
        return int(session.scalar(select(func.count()).where(RenderedPdf.run_id == run_id)) or 0)


def test_a_password_the_encryption_cannot_take_fails_at_the_limit_and_the_run_closes(
    world: World, renderer: PdfRenderer
) -> None:
    # Given Jonas's report password holds a NUL (stored past the edge), which the encryption
    # refuses with an error nobody foresaw, and Alex who has no password
    with transaction(world.sessions) as session:
        session.execute(
            update(Contact)
            .where(Contact.id == world.contacts[JONAS])
            .values(report_pdf_password_encrypted=SecretBox(SECRET).seal("weber\x002026"))
        )
    contact_ids = (world.contacts[ALEX], world.contacts[JONAS])
    run_id, [alex, jonas] = world.new_run(Recipients(contact_ids=contact_ids))
    deps = world.deps(renderer)
    assert deliver(alex, deps=deps).outcome is Outcome.sent

    # When Jonas's message comes back after each retry, more often than the limit allows
    outcomes = [deliver(jonas, deps=deps).outcome for _ in range(LIMIT + 2)]

    # Then each try counted, the last allowed one failed it, and the later ones were no-ops
    assert outcomes == [Outcome.retry] * (LIMIT - 1) + [Outcome.failed] + [Outcome.skipped] * 2
    failed = world.delivery(jonas)
    assert (failed.state, failed.attempts) == (DeliveryState.failed.value, LIMIT)
    assert failed.last_error.startswith(f"gave up after {LIMIT} attempts: unexpected:")
    # ... the run closed with its counts, and its unencrypted PDF is gone
    run = world.wait_finished(run_id, timeout=5)
    assert (run.sent, run.failed) == (1, 1)
    assert stored_pdfs(world, run_id) == 0
    assert world.mails_to(JONAS) == []
    # ... and a message redelivered for the sent delivery never mails it again
    assert deliver(alex, deps=deps).outcome is Outcome.skipped
    assert len(world.mails_to(ALEX)) == 1


def test_an_encryptor_raising_counts_each_try_and_fails_with_the_reason(
    world: World, renderer: PdfRenderer
) -> None:
    def broken(pdf: bytes, password: str, embedded: object = ()) -> bytes:
        raise ValueError("embedded null character")

    run_id, [jonas] = world.new_run(Recipients(contact_ids=(world.contacts[JONAS],)))
    deps = world.deps(renderer, encrypt=broken)

    for _ in range(LIMIT):
        deliver(jonas, deps=deps)

    failed = world.delivery(jonas)
    assert failed.state == DeliveryState.failed.value
    assert "ValueError('embedded null character')" in failed.last_error
    assert world.wait_finished(run_id, timeout=5).failed == 1
    assert stored_pdfs(world, run_id) == 0


def test_stored_parameters_that_cannot_be_queried_fail_the_delivery_at_the_limit(
    world: World, renderer: PdfRenderer
) -> None:
    # Given a run whose stored computer filter names an ID no database integer holds
    run_id, [alex] = world.new_run(Recipients(contact_ids=(world.contacts[ALEX],)))
    with transaction(world.sessions) as session:
        run = session.get(ReportRun, run_id)
        assert run is not None
        run.parameters = {
            **run.parameters,
            "computerFilter": {"type": "computer", "computerID": 99999999999999999999},
        }
    deps = world.deps(renderer)

    # When its message is retried up to the limit
    outcomes = [deliver(alex, deps=deps).outcome for _ in range(LIMIT + 1)]

    # Then the delivery failed with the reason within the limit (at once, when the stored
    # parameters are refused on reading), and the run (what --wait polls) finished
    assert Outcome.failed in outcomes and outcomes[-1] is Outcome.skipped
    assert "computerID" in world.delivery(alex).last_error
    assert world.wait_finished(run_id, timeout=5).failed == 1


def test_a_delivery_whose_tries_all_ended_without_an_outcome_fails_at_its_next_claim(
    world: World, renderer: PdfRenderer
) -> None:
    # Given a delivery claimed as often as the limit allows, each try interrupted (its worker
    # killed, or stopped by a time limit) and given back
    run_id, [alex] = world.new_run(Recipients(contact_ids=(world.contacts[ALEX],)))
    with transaction(world.sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == alex)
            .values(attempts=LIMIT, last_error="interrupted: TimeLimitExceeded()")
        )

    # When it is claimed once more
    result = deliver(alex, deps=world.deps(renderer))

    # Then it fails without another try, saying why, and the run closes
    assert result.outcome is Outcome.failed
    assert world.delivery(alex).last_error == (
        f"gave up after {LIMIT} attempts: interrupted: TimeLimitExceeded()"
    )
    assert world.wait_finished(run_id, timeout=5).failed == 1
    assert world.mails_to(ALEX) == []
