"""Load benchmark: one run to 10,000 contacts through two ``reportd worker`` processes.

Everything is a real process, as deployed: two ``reportd worker`` commands (dramatiq, one
worker process each with its Playwright driver and Chromium) on Redis (a ``redis-server`` of
its own on a free port, so that its CPU is counted; ``--broker`` for another) and
PostgreSQL (its own database, dropped and created again), mailing into a ``reportd
smtp-sink`` process that writes each mail as an ``.eml`` file. The data is the sample account
at 200 computers and 500 events (``ops/bench/fanout.py``'s), with 50 clearances (25 computer
selections, each with and without events not related to computers) and 3 languages; every
fourth contact has a password-protected PDF. The report is ``ops.bench.document``'s
14-page Firewall report of the last 7 days.

Printed: deliveries per second and the time to drain (from ``start_run`` sent to the run
finished), peak memory per worker (sum of PSS of its process tree: the dramatiq processes,
Playwright's driver and Chromium, sampled every 2 s; the sum of RSS, which counts Chromium's
shared pages in each process but is cheap to read, every 0.5 s), CPU per delivery by process
(every process seen in the workers' trees, sampled every 0.5 s, dramatiq's main process and the
encryption helper apart from the worker process's Python; the sink; Redis; the database's
backends when PostgreSQL runs on this machine), how the work split between the workers (from
their ``/metrics``), and the check: sent = contacts, failed = 0, exactly one ``.eml`` per
contact. Figures are printed, not asserted. The browsers start with the run (their launch is
part of the drain time), as after a deployment; the database is analyzed after the load, as
autovacuum would do.

    python -m ops.bench.load                    # 10,000 contacts, 50 clearances, 2 workers
    python -m ops.bench.load --quick            # 500 contacts, 4 clearances: end to end
    python -m ops.bench.load --contacts 2000 --workers 3 --threads 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ops.bench.databases import fresh_database
from ops.bench.document import COMPUTERS_PER_GROUP, EVENTS, REPORT_TYPE, bench_dataset
from ops.bench.fanout import LANGUAGES, SELECTIONS, contacts_for
from ops.bench.redis_server import OwnRedis
from service.config import Settings
from service.delivery.ledger import FINAL_STATES, Recipients
from service.delivery.request import new_report_run
from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.secretbox import SecretBox
from service.reports.spec import ReportSpec
from service.runtime import proctree
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Delivery, ReportRun

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/reportd_load_bench"
#: The issue's size, and the quick check's.
CONTACTS, QUICK_CONTACTS = 10_000, 500
CLEARANCES, QUICK_CLEARANCES = 50, 4
#: ``reportd worker`` as ops/Procfile runs it: one process, eight threads (render slots: 2).
WORKERS, THREADS = 2, 8
#: Computer selections beyond fanout.py's ten groups: a group plus ten single computers of
#: another group (the sample's computers 1-50 are in group 2, 51-100 in 3, 101-150 in 4,
#: 151-200 in 6).
EXTRA_SELECTIONS = tuple(
    ((2, 3, 4, 6)[i % 4],) + tuple(range(1 + (i * 37 + 60) % 190, 11 + (i * 37 + 60) % 190))
    for i in range(15)
)
SECRET = "load-bench-secret"
SEED = 11
#: Seconds between two samples of the workers' RSS and of the ledger; the workers' PSS (the
#: figure reported; reading it costs ~35 ms of CPU per worker) at every PSS_EVERY-th sample.
SAMPLE_EVERY = 0.5
PSS_EVERY = 4
#: What dramatiq logs once a worker process consumes its queues.
READY_LINE = b"Worker process is ready for action."
ROOT = Path(__file__).resolve().parents[2]
REPORTD = (sys.executable, "-c", "from service.cli import main; main()")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


# -- the data ----------------------------------------------------------------------------------


def clearances(count: int) -> list[dict[str, Any]]:
    """``count`` roles: each computer selection with and without unrelated events."""
    selections: list[tuple[tuple[int, ...] | None, tuple[int, ...]]] = [
        (groups, ()) for groups in SELECTIONS
    ]
    selections += [((extra[0],), extra[1:]) for extra in EXTRA_SELECTIONS]
    combos = [(s, unrelated) for s in selections for unrelated in (True, False)]
    if count > len(combos):
        raise SystemExit(f"at most {len(combos)} clearances")
    roles = []
    for index, ((groups, computers), unrelated) in enumerate(combos[:count]):
        rights: dict[str, bool] = {"canViewNotRelatedToComputers": unrelated}
        role: dict[str, Any] = {"ID": index + 1, "name": f"Clearance {index + 1:02d}"}
        if groups is not None:
            role["allComputers"] = False
            role["computerGroupIDs"] = list(groups)
            role["computerIDs"] = list(computers)
            rights["canViewOtherComputers"] = False
        role["rights"] = {"platformRights": {"computerRights": rights}}
        roles.append(role)
    return roles


def analyze(url: str) -> None:
    """Give the planner its statistics, as autovacuum does some time after a bulk load.

    Right after the import it has none, and the scoped queries of clearances that select
    single computers took seconds each (PostgreSQL used ~1 core for 100 s of a first try).
    """
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def load_account(
    sessions: sessionmaker[Session],
    now: datetime,
    roles: list[dict[str, Any]],
    people: list[Any],
    *,
    name: str = "",
    computers_per_group: int = COMPUTERS_PER_GROUP,
    events: int = EVENTS,
) -> int:
    """The sample account at ``computers_per_group`` x 4 computers and ``events`` Firewall
    events, with these roles and contacts; its id."""
    dataset = bench_dataset(now, computers_per_group=computers_per_group, events=events)
    dataset["roles"] = roles
    dataset["contacts"] = people
    with transaction(sessions) as session:
        account = create_account(session, name=name or f"Load bench {now:%Y%m%d%H%M%S}")
        import_dataset(
            session,
            account_id=account.id,
            dataset=parse_dataset(json.dumps(dataset)),
            box=SecretBox(SECRET),
        )
        return account.id


# -- the processes -----------------------------------------------------------------------------


def weekly_run(sessions: sessionmaker[Session], account_id: int, now: datetime, *, by: str) -> int:
    """The benchmark's run: the document over the last week to every contact of the account."""
    with transaction(sessions) as session:
        return new_report_run(
            session,
            account_id=account_id,
            spec=ReportSpec(kind=REPORT_TYPE),
            recipients=Recipients(all_contacts=True),
            triggered_by=by,
            period_start=now - timedelta(days=7),
            period_end=now,
            now=now,
        ).run_id


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """A reportd process's environment: these settings, nothing from the calling shell's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTD_", "dramatiq_"))}
    env.update(
        {
            "REPORTD_DATABASE_URL": settings.resolved_database_url(),
            "REPORTD_BROKER_URL": settings.broker_url,
            "REPORTD_SMTP_HOST": settings.smtp_host,
            "REPORTD_SMTP_PORT": str(settings.smtp_port),
            "REPORTD_SECRET_KEY": settings.secret_key.get_secret_value(),
            "REPORTD_MAIL_FROM": settings.mail_from,
            **extra,
        }
    )
    return env


@dataclass
class Process:
    """A reportd command in a session of its own, its output in ``log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    #: Every pid seen in its tree, so that what is left after a stop can be killed.
    seen: set[int] = field(default_factory=set)

    @classmethod
    def start(cls, name: str, args: list[str], env: dict[str, str], log: Path) -> Process:
        with log.open("ab") as output:
            popen = subprocess.Popen(
                [*REPORTD, *args],
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, popen, log)

    def wait_for(self, line: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.log.read_bytes():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{self.name} did not start:\n{self.output()}")
            time.sleep(0.05)

    def tree(self, processes: dict[int, proctree.Process] | None = None) -> list[proctree.Process]:
        found = proctree.tree(self.popen.pid, processes)
        self.seen.update(p.pid for p in found)
        return found

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, as systemd stops it; SIGKILL for whatever is left after ``timeout``."""
        self.tree()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"   {self.name} did not stop in {timeout:.0f} s: killed")
        alive = proctree.live_processes()
        for pid in self.seen & alive.keys():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass
class Worker:
    process: Process
    port: int
    peak_kib: int = 0
    peak_by_kind: dict[str, int] = field(default_factory=dict)
    peak_rss_kib: int = 0
    #: Own CPU of every process seen in the tree, at its latest sample: a browser restarted
    #: mid-run is killed with its renderers at once, and no parent we read reaps them.
    cpu_seen: dict[int, tuple[str, float]] = field(default_factory=dict)
    cpu_start: dict[int, float] = field(default_factory=dict)

    def sample(self, processes: dict[int, proctree.Process], *, pss: bool) -> None:
        """The tree's CPU and RSS, and with ``pss`` its PSS by kind; the peaks are kept."""
        tree = self.process.tree(processes)
        for process in tree:
            # dramatiq's main process only forwards the worker process's log lines
            kind = "dramatiq main" if process.pid == self.process.popen.pid else process.kind
            self.cpu_seen[process.pid] = (kind, proctree.own_cpu_seconds(process.pid))
        rss = sum(proctree.resident_kib(p.pid) for p in tree)
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        if pss:
            by_kind = proctree.memory_by_kind(tree)
            if sum(by_kind.values()) > self.peak_kib:
                self.peak_kib, self.peak_by_kind = sum(by_kind.values()), by_kind

    def start_cpu(self) -> None:
        self.sample(proctree.live_processes(), pss=False)
        self.cpu_start = {pid: seconds for pid, (_, seconds) in self.cpu_seen.items()}

    def cpu(self) -> dict[str, float]:
        """CPU seconds by kind of process since :meth:`start_cpu`."""
        self.sample(proctree.live_processes(), pss=False)
        totals: dict[str, float] = {}
        for pid, (kind, seconds) in self.cpu_seen.items():
            totals[kind] = totals.get(kind, 0.0) + seconds - self.cpu_start.get(pid, 0.0)
        return totals

    def metrics(self) -> dict[str, float]:
        """A few of the worker's own counters, from its /metrics."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=30) as response:
            exposition = response.read().decode()
        wanted = {
            ("reportd_deliveries_total", (("outcome", "sent"),)): "sent",
            ("reportd_render_seconds_count", ()): "renders",
            ("reportd_render_seconds_sum", ()): "render_seconds",
            ("reportd_send_seconds_sum", ()): "send_seconds",
        }
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(exposition):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key in wanted:
                    found[wanted[key]] = float(sample.value)
        return found


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sink(directory: Path, tmp: Path, settings: Settings) -> tuple[Process, int]:
    port = free_port()
    sink = Process.start(
        "smtp sink",
        ["smtp-sink", str(directory), "--port", str(port)],
        environment(settings, REPORTD_LOG_LEVEL="WARNING"),
        tmp / "sink.log",
    )
    sink.wait_for(b"smtp sink on")
    return sink, port


def start_workers(count: int, threads: int, settings: Settings, tmp: Path) -> list[Worker]:
    workers = []
    for index in range(count):
        port = free_port()
        process = Process.start(
            f"worker {index + 1}",
            [
                *("worker", "--processes", "1", "--threads", str(threads)),
                *("--http-host", "127.0.0.1", "--http-port", str(port)),
            ],
            environment(settings, REPORTD_LOG_LEVEL="INFO"),
            tmp / f"worker-{index + 1}.log",
        )
        workers.append(Worker(process, port))
    for worker in workers:
        worker.process.wait_for(READY_LINE)
    return workers


class PostgresCpu:
    """CPU of the PostgreSQL backends serving ``database`` on this machine, including those
    that exit during the run (a pool's overflow connections): sampled, last value kept."""

    def __init__(self, database: str) -> None:
        self.marker = f" {database} ".encode()
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def sample(self, processes: dict[int, proctree.Process]) -> None:
        for process in processes.values():
            if process.comm != "postgres":
                continue
            try:
                title = Path(f"/proc/{process.pid}/cmdline").read_bytes()
            except OSError:
                continue
            if self.marker in title:
                self.last[process.pid] = proctree.own_cpu_seconds(process.pid)

    def start(self) -> None:
        self.sample(proctree.live_processes())
        self.before = dict(self.last)

    @property
    def seconds(self) -> float:
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.last.items())


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Drained:
    seconds: float
    sent: int
    failed: int
    samples: int


def drain(
    settings: Settings,
    sessions: sessionmaker[Session],
    run_id: int,
    workers: list[Worker],
    postgres: PostgresCpu,
    timeout: float,
) -> Drained:
    """Send ``start_run`` and sample memory and the ledger until the run is finished."""
    from actors.broker import declare_actors, setup_broker
    from actors.delivery import start_run

    broker = setup_broker(settings)
    declare_actors(broker)
    for worker in workers:
        worker.start_cpu()
    postgres.start()
    started = time.perf_counter()
    start_run.send(run_id)
    broker.close()
    samples, next_report = 0, started + 30
    while True:
        processes = proctree.live_processes()
        for worker in workers:
            worker.sample(processes, pss=samples % PSS_EVERY == 0)
        postgres.sample(processes)
        samples += 1
        with sessions() as session:
            run = session.get(ReportRun, run_id)
            assert run is not None
        now = time.perf_counter()
        if run.finished is not None:
            return Drained(now - started, run.sent, run.failed, samples)
        if now > next_report:
            # The run's own counts are written when it finishes; until then, count deliveries.
            with sessions() as session:
                done = session.scalar(
                    select(func.count(Delivery.id)).where(
                        Delivery.run_id == run_id,
                        Delivery.state.in_([state.value for state in FINAL_STATES]),
                    )
                )
            print(f"   {now - started:5.0f} s: {done or 0} sent or failed, {load()}", flush=True)
            next_report += 30
        if now - started > timeout:
            raise SystemExit(f"run {run_id} did not finish in {timeout:.0f} s")
        time.sleep(max(0.0, SAMPLE_EVERY - (time.perf_counter() - now)))


def count_mails(directory: Path, addresses: list[str]) -> tuple[int, int, int]:
    """Files, contacts with exactly one mail, and contacts with none or several."""
    parser = BytesHeaderParser()
    received: Counter[str] = Counter()
    files = 0
    for path in directory.glob("*.eml"):
        files += 1
        with path.open("rb") as file:
            headers = parser.parse(file)
        for _, address in getaddresses(headers.get_all("To", [])):
            received[address.lower()] += 1
    once = sum(1 for address in addresses if received[address.lower()] == 1)
    return files, once, len(addresses) - once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 contacts, 4 clearances")
    parser.add_argument("--contacts", type=int, help=f"contacts of the run ({CONTACTS:,})")
    parser.add_argument("--clearances", type=int, help=f"distinct roles ({CLEARANCES})")
    parser.add_argument("--workers", type=int, default=WORKERS, help="reportd worker commands")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per worker")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (dropped, created)")
    parser.add_argument(
        "--broker", default="", help="Redis URL (flushed); default: a redis-server of its own"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the run")
    args = parser.parse_args()
    count = args.contacts or (QUICK_CONTACTS if args.quick else CONTACTS)
    roles = clearances(args.clearances or (QUICK_CLEARANCES if args.quick else CLEARANCES))
    now = datetime.now(UTC).replace(microsecond=0)
    print(
        f"{os.cpu_count()} CPUs, {load()} at the start, {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    )

    started = time.perf_counter()
    sessions = make_session_factory(fresh_database(args.url))
    people = contacts_for(count, clearances=len(roles), label="Load", seed=SEED)
    account_id = load_account(sessions, now, roles, people)
    analyze(args.url)
    protected = sum(1 for person in people if person.get("reportPDFPassword"))
    documents = len({(p["roleID"], p["locale"]) for p in people})
    print(
        f"{count} contacts ({protected} password-protected), {len(roles)} clearances x "
        f"{len(LANGUAGES)} languages = {documents} distinct {REPORT_TYPE.value} reports; "
        f"{COMPUTERS_PER_GROUP * 4} computers, {EVENTS} events; loaded in "
        f"{time.perf_counter() - started:.1f} s into {args.url.split('@')[-1]}"
    )
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp_name:
        tmp = Path(tmp_name)
        own = None if args.broker else OwnRedis(tmp)
        broker = args.broker or (own.url if own else "")
        client = redis.Redis.from_url(broker)
        client.flushdb()
        client.close()
        outbox = tmp / "outbox"
        settings = Settings(
            database_url=args.url,
            broker_url=broker,
            secret_key=SECRET,  # type: ignore[arg-type]
            mail_from="reportd <reports@reportd.test>",
        )
        sink, port = start_sink(outbox, tmp, settings)
        settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        workers: list[Worker] = []
        try:
            workers = start_workers(args.workers, args.threads, settings, tmp)
            sink_cpu = proctree.cpu_seconds(sink.popen.pid)
            redis_cpu = proctree.own_cpu_seconds(own.pid) if own else 0.0
            print(
                f"{args.workers} x `reportd worker --processes 1 --threads {args.threads}` "
                f"({settings.render_slots} render slots each), a `reportd smtp-sink` process; "
                f"{load()}"
            )
            created = time.perf_counter()
            run_id = weekly_run(sessions, account_id, now, by="ops/bench/load.py")
            print(f"run {run_id} created in {time.perf_counter() - created:.1f} s; fan-out ...")
            bench_cpu = time.process_time()
            postgres = PostgresCpu(str(make_url(args.url).database))
            drained = drain(settings, sessions, run_id, workers, postgres, args.timeout)
            bench_cpu = time.process_time() - bench_cpu
            cpu = [worker.cpu() for worker in workers]
            sink_cpu = proctree.cpu_seconds(sink.popen.pid) - sink_cpu
            if own is not None:
                redis_cpu = proctree.own_cpu_seconds(own.pid) - redis_cpu
            split = [worker.metrics() for worker in workers]
            end_load = load()
        finally:
            for process in [w.process for w in workers] + [sink]:
                process.stop()
            if own is not None:
                own.stop()
        files, once, wrong = count_mails(outbox, [p["emailAddress"] for p in people])
    others = {"SMTP sink": sink_cpu, "PostgreSQL": postgres.seconds}
    if own is not None:
        others["Redis"] = redis_cpu

    report(
        count,
        drained,
        workers,
        cpu,
        others,
        bench_cpu,
        split,
        end_load,
        (files, once, wrong),
    )


def report(
    count: int,
    drained: Drained,
    workers: list[Worker],
    cpu: list[dict[str, float]],
    others: dict[str, float],
    bench_cpu: float,
    split: list[dict[str, float]],
    end_load: str,
    mails: tuple[int, int, int],
) -> None:
    mib = 1024
    print(
        f"\ndrained: {count} deliveries in {drained.seconds:.1f} s (from start_run sent to the "
        f"run finished) = {count / drained.seconds:.2f} deliveries/s; {end_load} at the end"
    )
    for index, (worker, used, counted) in enumerate(zip(workers, cpu, split, strict=True)):
        parts = ", ".join(
            f"{kind} {kib / mib:.0f}" for kind, kib in sorted(worker.peak_by_kind.items())
        )
        cpu_parts = ", ".join(f"{kind} {seconds:.1f}" for kind, seconds in sorted(used.items()))
        renders = counted.get("renders", 0)
        print(
            f"worker {index + 1}: peak memory {worker.peak_kib / mib:.0f} MiB PSS ({parts}; "
            f"sum of RSS {worker.peak_rss_kib / mib:.0f} MiB); "
            f"{counted.get('sent', 0):.0f} sent, {renders:.0f} renders "
            f"({counted.get('render_seconds', 0) / max(renders, 1):.2f} s each); "
            f"CPU s: {cpu_parts}"
        )
    by_kind: dict[str, float] = {}
    for used in cpu:
        for kind, seconds in used.items():
            by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    renders = sum(counted.get("renders", 0) for counted in split)
    per = {name: 1000 * seconds / count for name, seconds in {**by_kind, **others}.items()}
    print(
        f"CPU per delivery, ms: {', '.join(f'{name} {ms:.1f}' for name, ms in per.items())} "
        f"= {sum(per.values()):.1f}{'' if 'Redis' in others else ' (Redis not counted)'}; Chromium "
        f"{by_kind.get('chromium', 0) / max(renders, 1):.2f} CPU-s per render; this script "
        f"{bench_cpu:.1f} CPU-s for {drained.samples} samples"
    )
    files, once, wrong = mails
    exact = drained.sent == count and drained.failed == 0 and files == once == count
    verdict = "passed" if exact else "FAILED"
    print(
        f"exactly once {verdict}: sent {drained.sent}, failed {drained.failed}; {files} .eml "
        f"files; {once} contacts with exactly one mail, {wrong} with none or several"
    )


if __name__ == "__main__":
    main()
