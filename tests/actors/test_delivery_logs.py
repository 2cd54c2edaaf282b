"""A delivery logs one line at INFO: its outcome, with the server's reply when it was sent."""

from __future__ import annotations

import logging

import pytest

from service.delivery import pipeline
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from tests.actors.conftest import ALEX, World


def test_a_sent_delivery_logs_one_line_with_the_servers_reply(
    world: World, renderer: PdfRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    _, [delivery_id] = world.new_run(Recipients(contact_ids=(world.contacts[ALEX],)))

    with caplog.at_level(logging.INFO, logger="service"):
        result = pipeline.deliver(delivery_id, deps=world.deps(renderer))

    assert result.outcome is pipeline.Outcome.sent
    lines = [
        r
        for r in caplog.records
        if r.name.startswith("service.delivery") and "smtp_sink" not in r.name
    ]
    assert [r.levelno for r in lines] == [logging.INFO]
    [line] = lines
    assert line.getMessage().startswith(f"delivery {delivery_id}: sent (250 ")
    assert line.outcome == "sent"
