"""Peak benchmark: the top of the hour, one large account and many small ones due at once.

As deployed, every part a real process: two ``reportd scheduler`` and two ``reportd worker``
processes (one dramatiq worker process each, with its Playwright driver and Chromium) on
PostgreSQL (its own database, dropped and created again) and Redis (a ``redis-server`` of the
benchmark's own on a free port, so that its CPU is this benchmark's alone; ``--broker`` to use
another), mailing into a ``reportd smtp-sink`` process. One large account (5,000 contacts,
30 clearances x 3 languages, every fourth PDF password-protected, the 200-computer sample data
of ``ops/bench/load.py``) and 200 small ones (10 contacts each in one language, 2 clearances,
their own 20 computers and 50 events), every account with a weekly Summary task due at the
same instant: the same UTC minute in twelve time zones (its local time in each; the benchmark
cannot wait for 08:00). The large account's task is created first, so a first come, first
served fan-out meets it first.

The same peak runs twice: **fair**, as deployed (``service.delivery.fanout``: runs queued in
slices that take turns), then **FCFS**, today's fan-out before issue 20 (``ops/bench/fcfs.py``:
every delivery of a run queued at once), the tasks created again between the two. Printed for
each: seconds from the due instant until every task fired (and the check that each fired
exactly once), for the small accounts the seconds until each one's last mail was sent (median,
p95, max), the large account's drain, the drain of everything, deliveries per second, CPU per
delivery by process (workers' Python, Playwright, Chromium, sink, PostgreSQL, Redis, the
schedulers), peak memory per worker (PSS of its process tree), how long the workers took to
stop when asked, and exactly-once (one mail per recipient); then the ratios fair vs FCFS.

    python -m ops.bench.peak                                # 5,000 + 200 x 10 contacts
    python -m ops.bench.peak --large 500 --small 20         # a quick end-to-end check
    python -m ops.bench.peak --modes fair                   # one of the two
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ops.bench import load
from ops.bench.databases import fresh_database
from ops.bench.fanout import LANGUAGES, PASSWORD_EVERY, contacts_for
from ops.bench.redis_server import OwnRedis
from service.config import Settings
from service.health.worker_http import fresh_metrics_dir
from service.runtime import proctree
from service.scheduling.scheduler import create_task
from service.scheduling.task_schema import to_epoch_millis
from storage.db import make_session_factory, transaction
from storage.models import Contact, Delivery, ReportRun
from storage.tasks import ScheduledTaskRow, TaskOccurrence

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/reportd_peak_bench"
#: The issue's sizes.
LARGE, SMALL, SMALL_CONTACTS = 5_000, 200, 10
LARGE_CLEARANCES, SMALL_CLEARANCES = 30, 2
#: A small account's data: the sample at 5 computers in each of its 4 groups, 50 events.
SMALL_COMPUTERS_PER_GROUP, SMALL_EVENTS = 5, 50
WORKERS, THREADS, SCHEDULERS = 2, 8, 2
#: Twelve zones, from UTC-10 to UTC+12:45; each task is due at the same UTC instant.
ZONES = (
    "Pacific/Honolulu", "America/Los_Angeles", "America/Chicago", "America/New_York",
    "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Europe/Athens", "Asia/Kolkata",
    "Asia/Kathmandu", "Asia/Tokyo", "Pacific/Chatham",
)  # fmt: skip
#: Seconds from creating the tasks to their due instant: the processes start meanwhile.
LEAD = 40.0
#: Seconds between two samples of the processes and the ledger; PSS every PSS_EVERY-th.
SAMPLE_EVERY, PSS_EVERY = 0.5, 4
#: Seconds a worker gets to stop when asked before it is killed (its grace is 20 s).
STOP_TIMEOUT = 40.0
SECRET = load.SECRET  # the one load_account seals report passwords with
MODES = ("fair", "fcfs")


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


# -- the data ----------------------------------------------------------------------------------


@dataclass
class Accounts:
    large: int
    small: list[int]
    zone: dict[int, str]
    addresses: list[str]


def small_people(index: int, count: int) -> list[dict[str, Any]]:
    """A small account's contacts: one language and zone, two clearances, every fourth
    password-protected."""
    locale = LANGUAGES[index % len(LANGUAGES)][0]
    zone = ZONES[index % len(ZONES)]
    people = []
    for n in range(count):
        person: dict[str, Any] = {
            "name": f"Small {index:03d} Contact {n:02d}",
            "emailAddress": f"small{index:03d}.{n:02d}@example.com",
            "roleID": 1 + n % SMALL_CLEARANCES,
            "locale": locale,
            "timeZone": zone,
        }
        if n % PASSWORD_EVERY == PASSWORD_EVERY - 1:
            person["reportPDFPasswordEnabled"] = True
            person["reportPDFPassword"] = f"pw-{index:03d}-{n:02d}"
        people.append(person)
    return people


def load_accounts(sessions: sessionmaker[Session], args: argparse.Namespace) -> Accounts:
    now = datetime.now(UTC).replace(microsecond=0)
    people = contacts_for(args.large, clearances=LARGE_CLEARANCES, label="Large", seed=load.SEED)
    large = load.load_account(
        sessions, now, load.clearances(LARGE_CLEARANCES), people, name="Large account"
    )
    addresses = [p["emailAddress"] for p in people]
    small, zone = [], {large: ZONES[0]}
    for index in range(args.small):
        crowd = small_people(index, args.small_contacts)
        account = load.load_account(
            sessions,
            now,
            load.clearances(SMALL_CLEARANCES),
            crowd,
            name=f"Small account {index:03d}",
            computers_per_group=SMALL_COMPUTERS_PER_GROUP,
            events=SMALL_EVENTS,
        )
        small.append(account)
        zone[account] = ZONES[index % len(ZONES)]
        addresses += [p["emailAddress"] for p in crowd]
    return Accounts(large, small, zone, addresses)


def weekly_task(zone: str, due: datetime) -> dict[str, Any]:
    """A weekly Summary to every contact, at ``due``'s local time and weekday in ``zone``."""
    local = due.astimezone(ZoneInfo(zone))
    return {
        "name": "Weekly summary",
        "scheduleDetails": {
            "timeZone": zone,
            "recurrenceType": "weekly",
            "weeklyScheduleParameters": {
                "startTime": to_epoch_millis(due),
                "interval": 1,
                "days": [local.strftime("%A").lower()],
            },
        },
        "generateReportTaskParameters": {
            "reportTemplateID": 1,
            "format": "pdf",
            "recipients": {"allAdministratorsAndContacts": True},
            "timeRange": {"units": "day", "value": 7},
        },
    }


def fresh_tasks(sessions: sessionmaker[Session], accounts: Accounts, due: datetime) -> None:
    """Forget the previous peak's runs and tasks; one weekly task per account, due at ``due``
    (the large account's first)."""
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        session.execute(delete(TaskOccurrence))
        session.execute(delete(ReportRun))
        session.execute(delete(ScheduledTaskRow))
    with transaction(sessions) as session:
        for account in [accounts.large, *accounts.small]:
            create_task(
                session,
                account_id=account,
                task=weekly_task(accounts.zone[account], due),
                now=now,
            )


# -- the processes -----------------------------------------------------------------------------


def shared_redis_pid(url: str) -> int | None:
    """The pid of a local redis-server, for ``--broker``: its CPU is counted, though others
    may use it too."""
    del url  # which server serves the port is not in /proc without more work; one is usual
    found = [p.pid for p in proctree.live_processes().values() if p.comm == "redis-server"]
    return found[0] if len(found) == 1 else None


def start_workers(
    mode: str, count: int, threads: int, settings: Settings, tmp: Path
) -> list[load.Worker]:
    """``reportd worker`` as deployed (fair), or the same worker with today's fan-out."""
    if mode == "fair":
        return load.start_workers(count, threads, settings, tmp)
    workers = []
    for index in range(count):
        port = load.free_port()
        env = load.environment(
            settings,
            REPORTD_LOG_LEVEL="INFO",
            dramatiq_prom_host="127.0.0.1",
            dramatiq_prom_port=str(port),
            dramatiq_prom_db=str(fresh_metrics_dir(tmp, 100_000 + index)),
        )
        log = tmp / f"worker-fcfs-{index + 1}.log"
        command = [sys.executable, "-m", "dramatiq", "actors.worker_main", "ops.bench.fcfs"]
        command += ["--processes", "1", "--threads", str(threads)]
        command += ["--worker-shutdown-timeout", "20000"]
        with log.open("ab") as output:
            popen = subprocess.Popen(
                command,
                env=env,
                cwd=load.ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        workers.append(load.Worker(load.Process(f"worker {index + 1}", popen, log), port))
    for worker in workers:
        worker.process.wait_for(load.READY_LINE)
    return workers


def start_schedulers(count: int, settings: Settings, tmp: Path, mode: str) -> list[load.Process]:
    env = load.environment(settings, REPORTD_LOG_LEVEL="WARNING")
    return [
        load.Process.start(
            f"scheduler {index + 1}",
            ["scheduler", "--interval", "1", "--reconcile-every", "3600"],
            env,
            tmp / f"scheduler-{mode}-{index + 1}.log",
        )
        for index in range(count)
    ]


# -- one peak ----------------------------------------------------------------------------------


@dataclass
class Peak:
    mode: str
    tasks: int
    fired_after: float
    runs: int
    tasks_with_a_run: int
    occurrences: int
    small_done: list[float]
    large_done: float
    all_done: float
    sent: int
    failed: int
    large_rank: int
    cpu: dict[str, float]
    workers: list[load.Worker]
    stop_seconds: list[float]
    mails: tuple[int, int, int]
    end_load: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Meters:
    """CPU of every process of a peak, from the due instant on."""

    workers: list[load.Worker]
    postgres: load.PostgresCpu
    sink: load.Process
    schedulers: list[load.Process]
    redis_pid: int | None
    before: dict[str, float] = field(default_factory=dict)
    samples: int = 0

    def others(self) -> dict[str, float]:
        found = {
            "SMTP sink": proctree.cpu_seconds(self.sink.popen.pid),
            "schedulers": sum(proctree.cpu_seconds(s.popen.pid) for s in self.schedulers),
        }
        if self.redis_pid:
            found["Redis"] = proctree.own_cpu_seconds(self.redis_pid)
        return found

    def start(self) -> None:
        for worker in self.workers:
            worker.start_cpu()
        self.postgres.start()
        self.before = self.others()

    def sample(self) -> None:
        processes = proctree.live_processes()
        for worker in self.workers:
            worker.sample(processes, pss=self.samples % PSS_EVERY == 0)
        self.postgres.sample(processes)
        self.samples += 1

    def cpu(self) -> dict[str, float]:
        """CPU seconds since :meth:`start`: the workers' by kind of process, then the rest."""
        cpu: dict[str, float] = {}
        for worker in self.workers:
            for kind, seconds in worker.cpu().items():
                cpu[kind] = cpu.get(kind, 0.0) + seconds
        cpu["PostgreSQL"] = self.postgres.seconds
        cpu.update({name: value - self.before[name] for name, value in self.others().items()})
        return cpu


def wait_until_finished(
    mode: str,
    sessions: sessionmaker[Session],
    expected: int,
    due: datetime,
    meters: Meters,
    timeout: float,
) -> None:
    """Sample the processes until every run of the peak is finished."""
    next_report = time.monotonic() + 30
    while True:
        meters.sample()
        with sessions() as session:
            runs, finished = session.execute(
                select(func.count(ReportRun.id), func.count(ReportRun.finished))
            ).one()
        if runs == expected and finished == expected:
            return
        if time.monotonic() > next_report:
            seconds = time.time() - due.timestamp()
            print(f"   {seconds:5.0f} s: {runs} runs, {finished} finished; {load_text()}")
            next_report += 30
        if time.time() - due.timestamp() > timeout:
            raise SystemExit(f"{mode}: not finished {timeout:.0f} s after the due time")
        if any(s.popen.poll() is not None for s in meters.schedulers):
            raise SystemExit(f"{mode}: a scheduler exited")
        time.sleep(SAMPLE_EVERY)


def run_peak(
    mode: str,
    args: argparse.Namespace,
    sessions: sessionmaker[Session],
    accounts: Accounts,
    settings: Settings,
    redis_pid: int | None,
    tmp: Path,
) -> Peak:
    print(f"\n== {mode}: {load_text()}", flush=True)
    redis.Redis.from_url(settings.broker_url).flushdb()
    due = (datetime.now(UTC) + timedelta(seconds=args.lead)).replace(microsecond=0)
    fresh_tasks(sessions, accounts, due)
    outbox = tmp / f"outbox-{mode}"
    sink, port = load.start_sink(outbox, tmp, settings)
    settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    workers: list[load.Worker] = []
    schedulers: list[load.Process] = []
    stop_seconds: list[float] = []
    notes: list[str] = []
    try:
        workers = start_workers(mode, args.workers, args.threads, settings, tmp)
        schedulers = start_schedulers(args.schedulers, settings, tmp, mode)
        wait = due.timestamp() - time.time()
        if wait < 0:
            notes.append(f"the processes were ready {-wait:.1f} s after the due instant")
        print(f"   processes ready {max(wait, 0):.1f} s before the due instant; {load_text()}")
        time.sleep(max(0.0, wait))
        postgres = load.PostgresCpu(str(make_url(args.url).database))
        meters = Meters(workers, postgres, sink, schedulers, redis_pid)
        meters.start()
        expected = 1 + len(accounts.small)
        wait_until_finished(mode, sessions, expected, due, meters, args.timeout)
        cpu = meters.cpu()
        end_load = load_text()
    finally:
        for worker in workers:
            asked = time.monotonic()
            worker.process.stop(STOP_TIMEOUT)
            stop_seconds.append(time.monotonic() - asked)
        for process in [*schedulers, sink]:
            process.stop()
    return measure(
        mode, sessions, accounts, due, cpu, workers, stop_seconds, outbox, end_load, notes
    )


def measure(
    mode: str,
    sessions: sessionmaker[Session],
    accounts: Accounts,
    due: datetime,
    cpu: dict[str, float],
    workers: list[load.Worker],
    stop_seconds: list[float],
    outbox: Path,
    end_load: str,
    notes: list[str],
) -> Peak:
    with sessions() as session:
        runs = session.execute(
            select(ReportRun.id, ReportRun.account_id, ReportRun.created)
            .where(ReportRun.scheduled_task_id.is_not(None))
            .order_by(ReportRun.id)
        ).all()
        last_mail = dict(
            session.execute(
                select(Delivery.run_id, func.max(Delivery.sent_at)).group_by(Delivery.run_id)
            ).all()
        )
        sent, failed = (
            session.scalar(select(func.count()).where(Delivery.state == state))
            for state in ("sent", "failed")
        )
        tasks_with_a_run = session.scalar(
            select(func.count(func.distinct(ReportRun.scheduled_task_id)))
        )
        occurrences = session.scalar(select(func.count(TaskOccurrence.id)))
        tasks = session.scalar(select(func.count(ScheduledTaskRow.id)))
    start = due.timestamp()
    done = {run.account_id: last_mail[run.id].timestamp() - start for run in runs}
    rank = next(i for i, run in enumerate(runs, 1) if run.account_id == accounts.large)
    return Peak(
        mode=mode,
        tasks=tasks or 0,
        fired_after=max(run.created.timestamp() for run in runs) - start,
        runs=len(runs),
        tasks_with_a_run=tasks_with_a_run or 0,
        occurrences=occurrences or 0,
        small_done=sorted(done[account] for account in accounts.small),
        large_done=done[accounts.large],
        all_done=max(done.values()),
        sent=sent or 0,
        failed=failed or 0,
        large_rank=rank,
        cpu=cpu,
        workers=workers,
        stop_seconds=stop_seconds,
        mails=load.count_mails(outbox, accounts.addresses),
        end_load=end_load,
        notes=notes,
    )


# -- the figures -------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted ``values``."""
    index = max(0, min(len(values) - 1, round(share * len(values) + 0.5) - 1))
    return values[index]


def report(peak: Peak) -> None:
    small = peak.small_done
    once = peak.tasks == peak.runs == peak.tasks_with_a_run == peak.occurrences
    print(f"\n{peak.mode}: {peak.runs} runs (the large account's {peak.large_rank}th by id)")
    print(
        f"  every task fired {peak.fired_after:.1f} s after the due instant (target <= 10 s); "
        f"each exactly once: {'yes' if once else 'NO'} ({peak.tasks} tasks, "
        f"{peak.tasks_with_a_run} with a run, {peak.runs} runs, {peak.occurrences} occurrences)"
    )
    print(
        f"  small accounts' last mail after: median {statistics.median(small):.1f} s, "
        f"p95 {percentile(small, 0.95):.1f} s, max {small[-1]:.1f} s; large account drained "
        f"after {peak.large_done:.1f} s; everything after {peak.all_done:.1f} s"
    )
    print(
        f"  {peak.sent} sent, {peak.failed} failed: {peak.sent / peak.all_done:.1f} "
        f"deliveries/s from the due instant; {peak.end_load} at the end"
    )
    per = {name: 1000 * seconds / max(peak.sent, 1) for name, seconds in peak.cpu.items()}
    print(
        "  CPU per delivery, ms: "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in per.items())
        + f" = {sum(per.values()):.1f}"
    )
    for index, (worker, stopped) in enumerate(zip(peak.workers, peak.stop_seconds, strict=True)):
        parts = ", ".join(
            f"{kind} {kib / 1024:.0f}" for kind, kib in sorted(worker.peak_by_kind.items())
        )
        print(
            f"  worker {index + 1}: peak {worker.peak_kib / 1024:.0f} MiB PSS ({parts}); "
            f"stopped {stopped:.1f} s after SIGTERM"
        )
    files, exact, wrong = peak.mails
    ok = peak.failed == 0 and wrong == 0 and files == exact == peak.sent
    print(
        f"  exactly once {'passed' if ok else 'FAILED'}: {files} .eml files, {exact} recipients "
        f"with exactly one mail, {wrong} with none or several"
    )
    for note in peak.notes:
        print(f"  note: {note}")


def compare(fair: Peak, fcfs: Peak) -> None:
    median = statistics.median(fcfs.small_done) / statistics.median(fair.small_done)
    p95 = percentile(fcfs.small_done, 0.95) / percentile(fair.small_done, 0.95)
    drain = fair.all_done / fcfs.all_done
    print(
        f"\nfair vs FCFS: small accounts' median {median:.1f}x sooner (target >= 5), p95 "
        f"{p95:.1f}x sooner (target >= 3); the whole drain {drain:.2f}x as long (target <= 1.1)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=LARGE, help="the large account's contacts")
    parser.add_argument("--small", type=int, default=SMALL, help="small accounts")
    parser.add_argument("--small-contacts", type=int, default=SMALL_CONTACTS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--schedulers", type=int, default=SCHEDULERS)
    parser.add_argument("--modes", default=",".join(MODES), help="fair,fcfs")
    parser.add_argument("--lead", type=float, default=LEAD, help="seconds until the due instant")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (dropped, created)")
    parser.add_argument("--broker", default="", help="Redis URL (flushed); default: its own")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for one peak")
    args = parser.parse_args()
    modes = [mode for mode in args.modes.split(",") if mode]
    if set(modes) - set(MODES):
        raise SystemExit(f"--modes: use {', '.join(MODES)}")
    print(f"{os.cpu_count()} CPUs, {load_text()}, {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")

    started = time.perf_counter()
    engine: Engine = fresh_database(args.url)
    sessions = make_session_factory(engine)
    accounts = load_accounts(sessions, args)
    load.analyze(args.url)
    with sessions() as session:
        contacts = session.scalar(select(func.count(Contact.id)))
    print(
        f"1 large account ({args.large} contacts, {LARGE_CLEARANCES} clearances x "
        f"{len(LANGUAGES)} languages, 200 computers, 500 events) and {args.small} small ones "
        f"({args.small_contacts} contacts, {SMALL_CLEARANCES} clearances, 1 language, "
        f"{SMALL_COMPUTERS_PER_GROUP * 4} computers, {SMALL_EVENTS} events): {contacts} contacts "
        f"in {len(ZONES)} zones, loaded in {time.perf_counter() - started:.0f} s; "
        f"{args.schedulers} schedulers, {args.workers} x `reportd worker --processes 1 --threads "
        f"{args.threads}`"
    )

    with tempfile.TemporaryDirectory(prefix="peak-bench-") as tmp_name:
        tmp = Path(tmp_name)
        own = None if args.broker else OwnRedis(tmp)
        broker = args.broker or (own.url if own else "")
        redis_pid = own.pid if own else shared_redis_pid(broker)
        settings = Settings(
            database_url=args.url,
            broker_url=broker,
            secret_key=SECRET,  # type: ignore[arg-type]
            mail_from="reportd <reports@reportd.test>",
        )
        results: dict[str, Peak] = {}
        try:
            for mode in modes:
                results[mode] = run_peak(mode, args, sessions, accounts, settings, redis_pid, tmp)
                report(results[mode])
        finally:
            if own is not None:
                own.stop()
    if "fair" in results and "fcfs" in results:
        compare(results["fair"], results["fcfs"])
    engine.dispose()


if __name__ == "__main__":
    main()
