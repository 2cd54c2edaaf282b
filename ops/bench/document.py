"""The benchmarks' document: a report of 200 computers and 500 events, 14 A4 pages.

Until the Summary became an overview (a 3-page summary pointing to the module reports), the
benchmarks measured a 15-page Summary carrying every computer and event. To keep their
figures comparable they measure a document of the same weight: the Firewall report of the
sample account at 4 groups of 50 computers, its 500 events all Firewall events, which prints
14 pages in English, German and Japanese (every event a row of its table).
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from service.directory.sample import RULES, sample_dataset
from service.reports.model import EventModule, ReportType

#: The report every benchmark renders and mails.
REPORT_TYPE = ReportType.firewall
#: 4 groups of 50 computers, 500 events.
COMPUTERS_PER_GROUP = 50
EVENTS = 500
#: The rules' draw is seeded: every run has the same document.
SEED = 11


def bench_dataset(
    now: datetime, *, computers_per_group: int = COMPUTERS_PER_GROUP, events: int = EVENTS
) -> dict[str, Any]:
    """The sample account at the benchmarks' size (``computers_per_group`` x 4 computers,
    ``events`` events), its events all Firewall events."""
    dataset = sample_dataset(now=now, computers_per_group=computers_per_group, events_per_day=72)
    rng = random.Random(SEED)
    kept = dataset["events"][:events]
    for event in kept:
        event["module"] = EventModule.firewall.value
        event["name"] = rng.choice(RULES[EventModule.firewall])
    dataset["events"] = kept
    return dataset
