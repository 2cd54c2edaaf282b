"""Render sharing between worker processes: a document printed by one is read by another.

Two ``Deps`` with caches of their own are two worker processes as far as sharing goes: the
same database, separate memories. The pipeline is called directly (``service.delivery.pipeline``),
with a real Chromium and a real SMTP server.
"""

from __future__ import annotations

from sqlalchemy import func, select

from service.delivery.pdf import PdfRenderer
from service.delivery.pipeline import Outcome, deliver
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from storage.db import transaction
from storage.models import Contact, Delivery, RenderedPdf
from tests.actors.conftest import ALEX, SECRET, World, pdf_text

ALEX_TWIN = "alex.twin@example.com"


class CountingRenderer:
    """A renderer that counts the documents it prints."""

    def __init__(self, inner: PdfRenderer) -> None:
        self.inner = inner
        self.printed = 0

    def render(self, html: str, footer_html: str | None = None) -> bytes:
        self.printed += 1
        return self.inner.render(html, footer_html)


def add_twin(world: World) -> None:
    """A contact with Alex's clearance, language and time zone: Alex's document."""
    with transaction(world.sessions) as session:
        alex = session.get(Contact, world.contacts[ALEX])
        assert alex is not None
        twin = add_contact(
            session,
            account_id=world.account_id,
            box=SecretBox(SECRET),
            name="Alex's Twin",
            email_address=ALEX_TWIN,
            role_id=alex.role_id,
            locale=alex.locale,
            time_zone=alex.time_zone,
        )
        world.contacts[ALEX_TWIN] = twin.id


def deliveries_by_address(world: World, run_id: int) -> dict[str, int]:
    with world.sessions() as session:
        rows = session.execute(
            select(Delivery.recipient_address, Delivery.id).where(Delivery.run_id == run_id)
        ).all()
    return {address: delivery_id for address, delivery_id in rows}


def stored_pdfs(world: World, run_id: int) -> int:
    with world.sessions() as session:
        count = select(func.count()).where(RenderedPdf.run_id == run_id)
        return int(session.scalar(count) or 0)


def test_a_document_printed_by_one_worker_process_is_read_by_another_not_printed_again(
    world: World, renderer: PdfRenderer
) -> None:
    add_twin(world)
    run_id, _ = world.new_run()
    ids = deliveries_by_address(world, run_id)
    one, other = CountingRenderer(renderer), CountingRenderer(renderer)
    first_process, second_process = world.deps(one), world.deps(other)

    assert deliver(ids[ALEX], deps=first_process).outcome is Outcome.sent
    assert deliver(ids[ALEX_TWIN], deps=second_process).outcome is Outcome.sent

    assert (one.printed, other.printed) == (1, 0)
    assert stored_pdfs(world, run_id) == 1
    alex_text = pdf_text(world.mails_to(ALEX)[0])
    assert "web-01" in alex_text and pdf_text(world.mails_to(ALEX_TWIN)[0]) == alex_text

    # The rest of the run from the second process; once it is finished, its PDFs are gone.
    for address, delivery_id in ids.items():
        if address not in (ALEX, ALEX_TWIN):
            assert deliver(delivery_id, deps=second_process).outcome is Outcome.sent
    run = world.wait_finished(run_id, timeout=5)
    assert run.sent == len(ids)
    assert stored_pdfs(world, run_id) == 0
