"""A mail that went out is recorded even when the database drops the connection just then:
the recording is retried, not given up and the mail sent again later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from service.delivery import pipeline
from service.delivery.ledger import DeliveryState, Recipients
from service.delivery.pdf import PdfRenderer
from tests.actors.conftest import ALEX, World

CONNECTION_DROPPED = OperationalError("UPDATE", {}, Exception("server closed the connection"))


def test_recording_sent_is_retried_when_the_database_drops_the_connection(
    world: World, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_settle = pipeline.settle
    dropped: list[DeliveryState] = []

    def settle(session: Any, held: Any, *, to: DeliveryState, **kwargs: Any) -> tuple[bool, bool]:
        if to is DeliveryState.sent and not dropped:
            dropped.append(to)
            raise OperationalError(
                "UPDATE deliveries", {}, Exception("server closed the connection")
            )
        return real_settle(session, held, to=to, **kwargs)

    monkeypatch.setattr(pipeline, "settle", settle)
    run_id, [delivery_id] = world.new_run(Recipients(contact_ids=(world.contacts[ALEX],)))

    result = pipeline.deliver(delivery_id, deps=world.deps(renderer))

    assert dropped == [DeliveryState.sent]
    assert result.outcome is pipeline.Outcome.sent
    delivery = world.delivery(delivery_id)
    assert (delivery.state, delivery.attempts) == (DeliveryState.sent.value, 1)
    assert len(world.mails_to(ALEX)) == 1
    assert world.wait_finished(run_id, timeout=5).sent == 1


def test_recording_gives_up_when_the_database_stays_away_past_half_the_lease(
    world: World, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_settle = pipeline.settle

    def settle(session: Any, held: Any, *, to: DeliveryState, **kwargs: Any) -> tuple[bool, bool]:
        if to is DeliveryState.sent:
            raise OperationalError(
                "UPDATE deliveries", {}, Exception("server closed the connection")
            )
        return real_settle(session, held, to=to, **kwargs)

    monkeypatch.setattr(pipeline, "settle", settle)
    _, [delivery_id] = world.new_run(Recipients(contact_ids=(world.contacts[ALEX],)))

    with pytest.raises(pipeline.SentNotRecorded):
        pipeline.deliver(delivery_id, deps=world.deps(renderer, lease=timedelta(seconds=1)))

    # Left in sending, not put back to pending: whoever takes it over once the lease lapses
    # resends it as a possible duplicate, which it is.
    assert world.delivery(delivery_id).state == DeliveryState.sending.value
    assert len(world.mails_to(ALEX)) == 1
