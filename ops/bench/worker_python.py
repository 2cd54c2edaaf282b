"""The worker's own Python per shared delivery, on PostgreSQL, without dramatiq or Chromium.

``ops/bench/load.py`` measures the deployed path as a whole, beside Chromium, the sink, Redis
and PostgreSQL on the same cores, and a change of a tenth of a millisecond per delivery drowns
in its noise. This runs ``service.delivery.pipeline.deliver`` itself, one delivery after
another on one thread, for a run whose documents are already built and printed (a fake
renderer: every delivery after the first of each document is a shared one, as most of a large
run's are), mailing into a ``reportd smtp-sink`` child process, encrypting in the real
helper process (every fourth contact); and prints this process's CPU per delivery (the
helper's and the sink's are not counted). ``--profile`` prints where it goes (cProfile).

    python -m ops.bench.worker_python
    python -m ops.bench.worker_python --deliveries 1000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from ops.bench.databases import fresh_database
from ops.bench.delivery import sample_pdf
from ops.bench.fanout import Outbox, contacts_for
from ops.bench.load import SECRET, analyze, clearances, load_account, weekly_run
from service.delivery.encryption import Encryptor
from service.delivery.mail import SmtpConfig
from service.delivery.pipeline import Deps, Outcome, deliver
from service.delivery.render_cache import RenderCache
from service.directory.secretbox import SecretBox
from storage.db import make_session_factory
from storage.models import Delivery

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/reportd_worker_python_bench"


class FakeRenderer:
    """A printed PDF of about the real report's size, without Chromium."""

    def __init__(self) -> None:
        self.pdf = sample_pdf()

    def render(self, html: str, footer_html: str | None = None) -> bytes:
        return self.pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1500)
    parser.add_argument("--clearances", type=int, default=2)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    engine = fresh_database(args.url)
    sessions = make_session_factory(engine)
    roles = clearances(args.clearances)
    people = contacts_for(args.deliveries, clearances=len(roles), label="Py", seed=7)
    account_id = load_account(sessions, now, roles, people)
    analyze(args.url)
    run_id = weekly_run(sessions, account_id, now, by="ops/bench/worker_python.py")
    with sessions() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.contact_id).where(Delivery.run_id == run_id)
        ).all()
    with tempfile.TemporaryDirectory(prefix="worker-python-") as tmp:
        outbox = Outbox(Path(tmp), in_process=False)
        encrypt = Encryptor()
        encrypt.start()
        deps = Deps(
            sessions=sessions,
            box=SecretBox(SECRET),
            renderer=FakeRenderer(),
            smtp=SmtpConfig(host="127.0.0.1", port=outbox.port),
            mail_from="reportd <reports@reportd.test>",
            cache=RenderCache(),
            lease=timedelta(minutes=10),
            max_attempts=5,
            encrypt=encrypt,
        )
        try:
            ids = [row.id for row in sorted(rows)]
            # Every document built and printed first: what is measured is shared deliveries.
            by_combo: dict[tuple[int, str], int] = {}
            for delivery_id, person in zip(ids, people, strict=True):
                by_combo.setdefault((person["roleID"], person["locale"]), delivery_id)
            warm = set(by_combo.values())
            for delivery_id in sorted(warm):
                assert deliver(delivery_id, deps=deps).outcome is Outcome.sent
            measured = [i for i in ids if i not in warm]
            profile = cProfile.Profile(time.process_time) if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profile is not None:
                profile.enable()
            for delivery_id in measured:
                outcome = deliver(delivery_id, deps=deps).outcome
                assert outcome is Outcome.sent, outcome
            if profile is not None:
                profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            encrypt.close()
            outbox.close()
    one, five, _ = os.getloadavg()
    print(
        f"{len(measured)} shared deliveries: {1000 * cpu / len(measured):.2f} ms CPU each "
        f"({1000 * wall / len(measured):.2f} ms wall); load {one:.2f}/{five:.2f}"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(35)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
