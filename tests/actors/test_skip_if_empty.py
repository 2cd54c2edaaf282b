"""A run that leaves out empty reports: the recipient is not mailed, and the ledger says why.

Real worker, real Chromium, real SMTP server; the sample's Web Team sees no laptop, so a
Summary narrowed to the laptops holds nothing for Hanako and something for the others.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from actors.embedded import EmbeddedDispatcher
from service.delivery.ledger import DeliveryState
from service.delivery.pdf import PdfRenderer
from service.delivery.pipeline import NOTHING_TO_SEND
from storage.models import ComputerGroup, Delivery, DeliveryTransition
from tests.actors.conftest import ALEX, HANAKO, JONAS, World, pdf_text


def laptops(world: World) -> dict[str, object]:
    """A filter on the sample's group of laptops (Office Berlin / Laptops)."""
    with world.sessions() as session:
        group_id = session.scalars(
            select(ComputerGroup.id).where(
                ComputerGroup.account_id == world.account_id, ComputerGroup.name == "Laptops"
            )
        ).one()
    return {"type": "computers-in-group-or-subgroup", "computerGroupID": group_id}


@pytest.fixture
def worker(world: World, renderer: PdfRenderer) -> Iterator[EmbeddedDispatcher]:
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as embedded:
        yield embedded


def test_a_recipient_whose_report_is_empty_is_skipped_with_the_reason_in_the_ledger(
    world: World, worker: EmbeddedDispatcher
) -> None:
    # Given a Summary of the laptops that leaves out empty reports
    run_id, ids = world.new_run(computerFilter=laptops(world), skipIfEmpty=True)

    # When it runs
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)

    # Then the Web Team's Hanako, who sees no laptop, gets no mail; the others get theirs
    assert (run.sent, run.failed, run.skipped, run.total) == (2, 0, 1, 3)
    assert world.mails_to(HANAKO) == []
    assert len(world.mails_to(ALEX)) == 1 and len(world.mails_to(JONAS)) == 1
    # ... and the ledger says why, on the delivery and in its history
    with world.sessions() as session:
        hanako = session.scalars(
            select(Delivery).where(Delivery.run_id == run_id, Delivery.recipient_address == HANAKO)
        ).one()
        history = session.scalars(
            select(DeliveryTransition)
            .where(DeliveryTransition.delivery_id == hanako.id)
            .order_by(DeliveryTransition.id)
        ).all()
    assert hanako.state == DeliveryState.skipped.value
    assert hanako.last_error == NOTHING_TO_SEND
    assert [(t.from_state, t.to_state) for t in history] == [
        ("pending", "rendering"),
        ("rendering", "skipped"),
    ]
    assert history[-1].note == NOTHING_TO_SEND
    # And the mailed report names its filter in its title
    text = " ".join(unicodedata.normalize("NFKC", pdf_text(world.mails_to(ALEX)[0])).split())
    assert "In group Office Berlin / Laptops and its subgroups" in text


def test_without_the_option_an_empty_report_is_still_mailed(
    world: World, worker: EmbeddedDispatcher
) -> None:
    run_id, _ = world.new_run(computerFilter=laptops(world))

    worker.start_runs([run_id])
    run = world.wait_finished(run_id)

    assert (run.sent, run.skipped) == (3, 0)
    assert "表示する内容がありません" in unicodedata.normalize(
        "NFKC", pdf_text(world.mails_to(HANAKO)[0])
    )
