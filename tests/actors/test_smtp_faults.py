"""An SMTP server that says no, or hangs up, through the whole pipeline and a real worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from actors.embedded import EmbeddedDispatcher
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from service.delivery.smtp_sink import OutboxHandler, SmtpSink
from storage.models import Delivery
from tests.actors.conftest import ALEX, HANAKO, JONAS, World, make_world


class DeferOnce(OutboxHandler):
    """451 to the first message, then accepts."""

    deferred = False

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if not DeferOnce.deferred:
            DeferOnce.deferred = True
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


class RefuseHanako(OutboxHandler):
    """550 for one recipient, 250 for the others."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address == HANAKO:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class StoreThenHangUpOnce(OutboxHandler):
    """Keeps the first mail but hangs up instead of answering: the sender cannot know."""

    hung_up = False

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        reply = await super().handle_DATA(server, session, envelope)
        if not StoreThenHangUpOnce.hung_up:
            StoreThenHangUpOnce.hung_up = True
            server.transport.close()
            await asyncio.Event().wait()  # cancelled when the connection is gone
        return reply


@pytest.fixture
def faulty_world(
    tmp_path: Path, renderer: PdfRenderer
) -> Iterator[Callable[[type[OutboxHandler]], tuple[World, EmbeddedDispatcher]]]:
    stack: list[tuple[SmtpSink, EmbeddedDispatcher]] = []

    def build(handler: type[OutboxHandler]) -> tuple[World, EmbeddedDispatcher]:
        sink = SmtpSink(tmp_path / "outbox", handler_factory=handler)
        sink.start()
        world = make_world(tmp_path, sink)
        worker = EmbeddedDispatcher(world.settings, world.deps(renderer))
        worker.__enter__()
        stack.append((sink, worker))
        return world, worker

    yield build
    for sink, worker in stack:
        worker.stop()
        sink.stop()


def test_a_451_is_retried_and_the_mail_delivered_once(faulty_world) -> None:
    DeferOnce.deferred = False
    world, worker = faulty_world(DeferOnce)
    run_id, ids = world.new_run(Recipients(contact_ids=[world.contacts[ALEX]]))
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)
    assert (run.sent, run.failed) == (1, 0)
    assert len(world.mails_to(ALEX)) == 1
    delivery = world.delivery(ids[0])
    assert delivery.attempts == 2 and not delivery.possible_duplicate


def test_a_550_fails_that_recipient_at_once_and_the_others_are_delivered(faulty_world) -> None:
    world, worker = faulty_world(RefuseHanako)
    run_id, _ = world.new_run()
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)
    assert (run.sent, run.failed) == (2, 1)
    assert world.states(run_id) == {ALEX: "sent", JONAS: "sent", HANAKO: "failed"}
    with world.sessions() as session:
        failed = session.scalars(select(Delivery).where(Delivery.state == "failed")).one()
    assert failed.attempts == 1 and "550" in failed.last_error
    assert len(world.mails_to(ALEX)) == 1 and len(world.mails_to(JONAS)) == 1


def test_a_hang_up_after_data_is_resent_with_the_same_message_id_as_a_possible_duplicate(
    faulty_world,
) -> None:
    StoreThenHangUpOnce.hung_up = False
    world, worker = faulty_world(StoreThenHangUpOnce)
    run_id, ids = world.new_run(Recipients(contact_ids=[world.contacts[ALEX]]))
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)
    assert run.sent == 1
    delivery = world.delivery(ids[0])
    assert delivery.possible_duplicate and delivery.attempts == 2
    mails = world.mails_to(ALEX)
    assert len(mails) == 2  # the server did keep the first: exactly why it is flagged
    assert mails[0]["Message-ID"] == mails[1]["Message-ID"] == delivery.message_id
