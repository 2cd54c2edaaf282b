"""What ``reportd worker`` hands to the ``dramatiq`` command: the broker, then the actors."""

from __future__ import annotations

import gc

from actors.broker import declare_actors, setup_broker
from actors.shutdown import StopCleanly
from service.config import Settings
from service.runtime.logs import configure_logging

settings = Settings()
configure_logging(settings.log_level, json_lines=settings.log_json)
broker = setup_broker(settings, prometheus=True)
broker.add_middleware(StopCleanly())
declare_actors(broker)

# What is loaded by now lives as long as the process. Frozen, the cyclic garbage collector no
# longer walks it each time a report's rows (tens of thousands of tuples) trigger a full
# collection: those pauses were 50-70 ms each (ops/bench/scope.py, docs/BENCHMARKS.md).
gc.collect()
gc.freeze()
