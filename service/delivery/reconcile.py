"""What the reconciler puts back on the queue: lost deliveries, and fan-outs that stopped.

Plain reading of the ledger; the caller commits, then queues ``deliveries`` one message each
and starts ``runs`` again with ``start_run`` (which goes on from the run's fan-out cursor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.delivery.fanout import stalled_fan_outs
from service.delivery.ledger import stale_deliveries


@dataclass(frozen=True)
class LostWork:
    deliveries: list[int] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.deliveries or self.runs)


def find_lost_work(session: Session, *, now: datetime, pending_for: timedelta) -> LostWork:
    """Deliveries whose message or worker was lost (``stale_deliveries``) and runs whose
    sliced fan-out has not moved for ``pending_for`` (``stalled_fan_outs``)."""
    return LostWork(
        deliveries=stale_deliveries(session, now=now, pending_for=pending_for),
        runs=stalled_fan_outs(session, now=now, stalled_for=pending_for),
    )
