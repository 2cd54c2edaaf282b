"""Fan-out through a real Redis broker and a real dramatiq worker, real Chromium and SMTP."""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker

from actors import runtime
from service.delivery.pdf import PdfRenderer
from tests.actors.conftest import ALEX, HANAKO, JONAS, World, pdf_text
from tests.actors.procs import REDIS_URL, actors_on, claimed_redis, redis_available
from tests.actors.test_fanout import ELSEWHERE, WEB
from tests.conftest import need

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_broker(world: World, renderer: PdfRenderer) -> Iterator[dramatiq.Broker]:
    """The world's actors on Redis, with a worker of four threads in this process."""
    need("Redis", redis_available(), f"no answer from {REDIS_URL}")
    with (
        claimed_redis() as db,
        actors_on(world.settings.model_copy(update={"broker_url": db.url})) as broker,
    ):
        runtime.configure(world.deps(renderer))
        worker = dramatiq.Worker(broker, worker_threads=4)
        worker.start()
        try:
            yield broker
        finally:
            worker.stop()
            runtime.configure(None)


def test_three_clearances_get_three_different_pdfs_through_redis(
    world: World, redis_broker: dramatiq.Broker
) -> None:
    from actors.delivery import start_run

    assert isinstance(redis_broker, RedisBroker)
    run_id, _ = world.new_run(report_type="computer")

    start_run.send(run_id)
    run = world.wait_finished(run_id)

    assert (run.sent, run.failed) == (3, 0)
    assert sorted(len(world.mails_to(a)) for a in (ALEX, HANAKO, JONAS)) == [1, 1, 1]
    texts = {address: pdf_text(world.mails_to(address)[0]) for address in (ALEX, HANAKO, JONAS)}
    # Full Access and the computers-only auditor see every computer ...
    for address in (ALEX, JONAS):
        assert all(name in texts[address] for name in WEB + ELSEWHERE), address
    # ... the Web Team sees the web servers and their sub-group only.
    assert all(name in texts[HANAKO] for name in WEB)
    assert not any(name in texts[HANAKO] for name in ELSEWHERE)
    assert len(set(texts.values())) == 3  # three languages, three clearances: three PDFs
