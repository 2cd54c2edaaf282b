"""The deliveries a worker process holds, so that a worker asked to stop can give them back.

A worker that stops (SIGTERM) lets the deliveries in hand finish for a grace period. What is
still being rendered after it is given back, and what is being sent is waited for (an SMTP
exchange is bounded by its time-out): moved from ``rendering`` to ``pending`` with the
claim's token, the compare-and-set every move makes, so a delivery whose thread moved it to
``sending`` meanwhile (its mail may be on the wire) is left alone and taken over after its
lease as a possible duplicate, never sent twice knowingly. A thread that goes on after its
delivery was given back finds its claim gone at its next move and sends nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from service.delivery.ledger import Claim, DeliveryState, move
from storage.db import transaction

#: What a given-back delivery's transition says.
GIVEN_BACK = "given back: its worker was stopped before it finished"


class Holding:
    """The claims this process's threads hold, by delivery id; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._claims: dict[int, Claim] = {}

    def add(self, claim: Claim) -> None:
        with self._lock:
            self._claims[claim.delivery_id] = claim

    def discard(self, claim: Claim) -> None:
        with self._lock:
            if self._claims.get(claim.delivery_id) is claim:
                del self._claims[claim.delivery_id]
                self._lock.notify_all()

    def wait_empty(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no claim is held; whether none is."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._claims, timeout=timeout)

    def claims(self) -> list[Claim]:
        with self._lock:
            return list(self._claims.values())


def give_back(holding: Holding, sessions: sessionmaker[Session], *, now: datetime) -> list[int]:
    """Put every delivery still being rendered under these claims back to pending; their ids.

    The caller queues them again (their messages were taken and will not be acknowledged).
    """
    given: list[int] = []
    for held in holding.claims():
        with transaction(sessions) as session:
            moved = move(
                session,
                held,
                to=DeliveryState.pending,
                now=now,
                note=GIVEN_BACK,
                held_in=DeliveryState.rendering,
                last_error=GIVEN_BACK,
            )
        if moved:
            holding.discard(held)
            given.append(held.delivery_id)
    return given
