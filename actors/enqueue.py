"""Sending many messages in one round trip to Redis instead of one each.

dramatiq's ``RedisBroker.enqueue`` runs its ``dispatch`` script once per message, a round trip
each: a fan-out of 5,000 deliveries, or a scheduler pass firing 100 tasks, waited for 5,000 or
100 of them. Here the same script, with the same arguments dramatiq gives it, goes in a Redis
pipeline (without MULTI: each script runs atomically on its own), so the messages land in
the same structures dramatiq reads (``<ns>:<queue>`` and ``<ns>:<queue>.msgs``), each with
its own ``redis_message_id``, fetched and acknowledged as any other. The broker's
``before_enqueue``/``after_enqueue`` hooks run for each message as ``enqueue`` would run them.

A batch that fails part way (Redis went away) is offered again whole for up to
``SEND_WAIT`` seconds: messages that had landed are then queued twice, which the ledger's
claims make harmless; messages that never land are the reconciler's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis

from service.runtime.outages import BROKER_UNREACHABLE, wait_out

#: Messages per pipeline: a few hundred KB to Redis at a time.
BATCH = 500
#: Seconds a batch is offered to an unreachable broker (a Redis restart) before sending fails.
SEND_WAIT = 30.0

Message = dramatiq.Message[Any]


def send_all(broker: dramatiq.Broker, messages: Sequence[Message]) -> None:
    """Queue ``messages`` in order, in batches of ``BATCH`` (one round trip each on Redis)."""
    for start in range(0, len(messages), BATCH):
        batch = messages[start : start + BATCH]
        wait_out(
            lambda batch=batch: _send_batch(broker, batch),  # type: ignore[misc]
            errors=BROKER_UNREACHABLE,
            wait=SEND_WAIT,
            what=f"broker unreachable, sending {len(batch)} messages",
        )


def _send_batch(broker: dramatiq.Broker, messages: Sequence[Message]) -> None:
    if not isinstance(broker, RedisBroker):
        for message in messages:
            broker.enqueue(message)
        return
    dispatch = broker.scripts["dispatch"]
    keys = [broker.namespace]
    pipeline = broker.client.pipeline(transaction=False)
    sent = []
    for message in messages:
        # As RedisBroker.enqueue: a fresh id in Redis for every message queued.
        message = message.copy(options={"redis_message_id": str(uuid4())})
        broker.emit_before("enqueue", message, None)
        args: list[Any] = [
            "enqueue",
            current_millis(),
            message.queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            0,  # no queue maintenance here: consumers' fetches do it
            0,  # the unpack limit matters to maintenance and fetches only
            message.options["redis_message_id"],
            message.encode(),
        ]
        dispatch(keys=keys, args=args, client=pipeline)
        sent.append(message)
    pipeline.execute()
    for message in sent:
        broker.emit_after("enqueue", message, None)
