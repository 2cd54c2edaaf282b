"""The actors of a report run. Thin: they take ids, call the service, map the outcome.

``start_run`` fans a run out in slices (``service.delivery.fanout``): it queues the first slice of
``deliver`` messages on the ``deliveries`` queue, and ``continue_run``, on ``deliveries_later``,
queues each next slice of ``deliver_later`` messages there, riding in the middle of the one
before, so that runs take turns. The two queues are two priorities: dramatiq's worker takes
the messages it holds lowest actor priority first, so every run's first slice (all of a small
run) goes ahead of any run's later slices, in the queue *and* in the renderer. ``deliver`` and
``deliver_later`` do one recipient. All are idempotent: the delivery ledger decides, not the
message. Sending waits out a short broker outage (:class:`PatientActor`, ``actors.enqueue``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq

from actors import runtime
from actors.broker import DELIVERIES_QUEUE, LATER_QUEUE, RUNS_QUEUE
from actors.enqueue import send_all
from service.delivery.fanout import take_slice
from service.delivery.pipeline import Outcome
from service.delivery.pipeline import deliver as deliver_one
from service.runtime.outages import BROKER_UNREACHABLE, wait_out
from storage.db import transaction

#: Attempts are counted in the database; this only stops a message that keeps crashing.
MAX_MESSAGE_RETRIES = 25
#: dramatiq's actor priority of the later slices (lower goes first; ``deliver`` has 0): a
#: worker holding messages of both queues starts the first-slice ones.
LATER_PRIORITY = 10
#: A render plus a send; a message running longer than this is interrupted.
DELIVERY_TIME_LIMIT_MS = 10 * 60 * 1000
#: Seconds a message is offered to an unreachable broker (a Redis restart) before sending
#: fails.
SEND_WAIT = 30.0


class PatientActor(dramatiq.Actor):  # type: ignore[type-arg]
    """An actor whose messages wait out a short broker outage instead of failing the sender.

    The scheduler, the reconciler and ``start_run`` send while Redis restarts; like Celery's
    publish retries, each message is offered again for up to ``SEND_WAIT`` seconds. A
    message that did reach Redis before the error may be sent twice: the ledger makes that
    harmless.
    """

    def send_with_options(
        self,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        delay: timedelta | int | None = None,
        **options: Any,
    ) -> dramatiq.Message:  # type: ignore[type-arg]
        return wait_out(
            lambda: super(PatientActor, self).send_with_options(
                args=args, kwargs=kwargs, delay=delay, **options
            ),
            errors=BROKER_UNREACHABLE,
            wait=SEND_WAIT,
            what=f"broker unreachable, sending {self.actor_name}",
        )


@dramatiq.actor(actor_class=PatientActor, queue_name=RUNS_QUEUE, max_retries=MAX_MESSAGE_RETRIES)
def start_run(run_id: int) -> None:
    """Queue the run's first slice, or its next one when its fan-out is started again."""
    _fan_out(run_id, number=0, expected=None, resume=True)


@dramatiq.actor(
    actor_class=PatientActor,
    queue_name=LATER_QUEUE,
    priority=LATER_PRIORITY,
    max_retries=MAX_MESSAGE_RETRIES,
)
def continue_run(run_id: int, cursor: int, number: int) -> None:
    """Queue the run's next slice at the back of the later queue, if its cursor is still
    ``cursor``."""
    _fan_out(run_id, number=number, expected=cursor, resume=False)


def _fan_out(run_id: int, *, number: int, expected: int | None, resume: bool) -> None:
    with transaction(runtime.deps().sessions) as session:
        taken = take_slice(
            session,
            run_id,
            number=number,
            expected=expected,
            resume=resume,
            now=datetime.now(UTC),
        )
    if taken is None or not taken.delivery_ids:
        return
    marker = continue_run.message(run_id, taken.cursor, taken.number + 1)
    if taken.number == 0:
        # The first slice goes ahead of every later one; the marker waits its turn among
        # the later slices, so the run's next slice joins the round there.
        messages = [deliver.message(delivery_id) for delivery_id in taken.delivery_ids]
        send_all(deliver.broker, messages + [marker] if taken.more else messages)
        return
    messages = [deliver_later.message(delivery_id) for delivery_id in taken.delivery_ids]
    if taken.more:
        # In the middle: the next slice is queued while half of this one still waits.
        messages.insert(len(messages) // 2, marker)
    send_all(deliver.broker, messages)


@dramatiq.actor(
    actor_class=PatientActor,
    queue_name=DELIVERIES_QUEUE,
    max_retries=MAX_MESSAGE_RETRIES,
    time_limit=DELIVERY_TIME_LIMIT_MS,
)
def deliver(delivery_id: int) -> None:
    """Deliver one recipient's report; a transient failure comes back after a backoff."""
    _deliver(delivery_id)


@dramatiq.actor(
    actor_class=PatientActor,
    queue_name=LATER_QUEUE,
    priority=LATER_PRIORITY,
    max_retries=MAX_MESSAGE_RETRIES,
    time_limit=DELIVERY_TIME_LIMIT_MS,
)
def deliver_later(delivery_id: int) -> None:
    """``deliver`` for a run's later slices: taken after every first-slice delivery held."""
    _deliver(delivery_id)


def _deliver(delivery_id: int) -> None:
    result = deliver_one(delivery_id, deps=runtime.deps())
    if result.outcome is Outcome.retry:
        delay = result.retry_in.total_seconds() if result.retry_in else 15.0
        raise dramatiq.Retry(result.detail, delay=int(delay * 1000))


ACTORS = (start_run, continue_run, deliver, deliver_later)
