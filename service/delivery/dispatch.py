"""``Dispatcher``: what hands committed work to the workers, as every edge and loop sees it.

A run or a delivery is written to the ledger first; after the commit, its id goes to the
workers. Two implementations, chosen at the entry point (``reportd`` commands, the API's
factory) and never imported by ``service``: the broker (``actors.dispatch.BrokerDispatcher``,
dramatiq over Redis) and the embedded worker (``actors.embedded.EmbeddedDispatcher``, the
stub broker with a worker in this process). Messages carry ids only, so a message sent twice
meets a claim already taken; one never sent is the reconciler's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Dispatcher(Protocol):
    """Queues ids of committed work; sending many is one round trip, not one each."""

    def start_runs(self, run_ids: Sequence[int]) -> None:
        """Start the fan-out of each run (``start_run``: from its cursor, if it had begun)."""

    def enqueue_deliveries(self, delivery_ids: Sequence[int]) -> None:
        """Queue ``deliver`` for each delivery (lost work, a failed one retried)."""
