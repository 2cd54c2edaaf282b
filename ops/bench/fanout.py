"""Fan-out benchmark: one run to 1,000 contacts through one embedded worker.

The contacts are spread over 20 clearances (roles selecting different computer groups,
with and without events unrelated to computers) and 3 languages (en-US, ja-JP, de-DE), every
fourth one password-protected, on the sample account at 200 computers and 500 events
(SQLite in a temp dir by default, ``--url`` for PostgreSQL). The report is
``ops.bench.document``'s 14-page Firewall report: the weight of the Summary the figures were
first measured with, before the Summary became an overview. One ``EmbeddedDispatcher`` (the
stub broker and a dramatiq worker in this process) runs the real actors with the Deps
``actors.runtime.build_deps`` makes (one PdfRenderer, real SMTP) into an ``SmtpSink`` (in a
child process unless ``--sink-in-process``: a mail server is another process anywhere else).

The figure is deliveries per second from ``start_run`` to the run's ``finished``, with render
sharing (as deployed) and without it (the per-contact baseline: caches that never hit and no
PDFs shared through the database, on a sample of the contacts), and their ratio (target: at
least 12x). CPU seconds of the worker, the sink, the encryption helper, the driver and
Chromium per delivery show where the time goes (a PostgreSQL server's own CPU is not
counted); ``--stages`` adds each pipeline step's CPU and wall time; ``--prototype`` tries
proposed changes to ``storage.db`` on SQLite.

    python -m ops.bench.fanout                 # 1,000 contacts, a 100-contact baseline
    python -m ops.bench.fanout --quick         # 60 contacts, a 20-contact baseline
    python -m ops.bench.fanout --stages        # and where a delivery's time goes
    python -m ops.bench.fanout --url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from actors import delivery as delivery_actors
from actors.embedded import EmbeddedDispatcher
from actors.runtime import build_deps
from ops.bench.document import COMPUTERS_PER_GROUP, EVENTS, REPORT_TYPE, bench_dataset
from service.config import Settings
from service.delivery import pipeline
from service.delivery.encryption import Encryptor
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from service.delivery.pipeline import Deps
from service.delivery.render_cache import RenderCache, SharedCache
from service.delivery.request import new_report_run
from service.delivery.smtp_sink import SmtpSink
from service.directory.accounts import create_account
from service.directory.importing import IMPORTED_TABLES, import_dataset, parse_dataset
from service.directory.secretbox import SecretBox
from service.reports.spec import ReportSpec
from service.runtime import proctree
from storage.db import make_engine, make_session_factory, refresh_statistics, transaction
from storage.migrate import upgrade
from storage.models import Contact, ReportRun

#: Computer selections of the clearances, by the sample's group IDs (None: every computer).
#: 1 Datacenter Tokyo (2, 3, 4 below it), 2 Web Servers (3 below), 3 Frontend, 4 Databases,
#: 5 Office Berlin (6 below), 6 Laptops: ten different sets of computers.
SELECTIONS: tuple[tuple[int, ...] | None, ...] = (
    None,
    (1,),
    (2,),
    (3,),
    (4,),
    (6,),
    (2, 6),
    (3, 4),
    (4, 6),
    (3, 6),
)
#: Each selection with and without events not related to computers: 20 clearances.
CLEARANCES = [(groups, unrelated) for groups in SELECTIONS for unrelated in (True, False)]
LANGUAGES = (("en-US", "America/New_York"), ("ja-JP", "Asia/Tokyo"), ("de-DE", "Europe/Berlin"))
#: Every this many contacts, one has a password-protected PDF.
PASSWORD_EVERY = 4
SECRET = "fanout-bench-secret"
SEED = 5
TARGET_RATIO = 12.0
#: How often the ledger is asked whether the run finished (seconds).
POLL = 0.05
V = TypeVar("V")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


# -- the data ----------------------------------------------------------------------------------


def role(index: int, groups: tuple[int, ...] | None, unrelated: bool) -> dict[str, Any]:
    computer_rights: dict[str, bool] = {"canViewNotRelatedToComputers": unrelated}
    record: dict[str, Any] = {"ID": index + 1, "name": f"Clearance {index + 1:02d}"}
    if groups is None:
        record["description"] = "every computer"
    else:
        record["description"] = f"groups {', '.join(map(str, groups))} with sub-groups"
        record["allComputers"] = False
        record["computerGroupIDs"] = list(groups)
        computer_rights["canViewOtherComputers"] = False
    record["rights"] = {"platformRights": {"computerRights": computer_rights}}
    return record


def contacts_for(
    count: int,
    *,
    clearances: int = len(CLEARANCES),
    shuffled: bool = True,
    label: str = "Bench",
    seed: int = SEED,
) -> list[dict[str, Any]]:
    """``count`` contacts spread evenly over clearances (role ids 1..``clearances``) x
    languages, in a seeded random order (a fan-out meets contacts in id order, which follows
    no clearance) or round robin (every distinct report first: all renders before any shared
    delivery); every ``PASSWORD_EVERY``-th one password-protected."""
    combos = [(c, lang) for lang in range(len(LANGUAGES)) for c in range(clearances)]
    picks = [combos[i % len(combos)] for i in range(count)]
    if shuffled:
        random.Random(seed).shuffle(picks)
    records = []
    for index, (clearance, language) in enumerate(picks):
        locale, zone = LANGUAGES[language]
        record: dict[str, Any] = {
            "name": f"{label} Contact {index:05d}",
            "emailAddress": f"{label.lower()}{index:05d}@example.com",
            "roleID": clearance + 1,
            "locale": locale,
            "timeZone": zone,
        }
        if index % PASSWORD_EVERY == PASSWORD_EVERY - 1:
            record["reportPDFPasswordEnabled"] = True
            record["reportPDFPassword"] = f"pw-{index:05d}"
        records.append(record)
    return records


def warm_up_contacts(records: list[dict[str, Any]], ids: dict[str, int]) -> list[int]:
    """One contact per language, a password-protected one among them: what a worker process
    does once, whatever it sends (``ids`` by e-mail address)."""
    first: dict[str, int] = {}
    for index, record in enumerate(records):
        first.setdefault(record["locale"], index)
    chosen = set(first.values())
    protected = (i for i, record in enumerate(records) if record.get("reportPDFPassword"))
    chosen.update(list(protected)[:1])
    return [ids[records[index]["emailAddress"]] for index in sorted(chosen)]


def load_account(
    sessions: sessionmaker[Session], now: datetime, contacts: list[dict[str, Any]]
) -> int:
    """The sample account with the benchmark's clearances and contacts; its id."""
    dataset = bench_dataset(now)
    dataset["roles"] = [role(i, *clearance) for i, clearance in enumerate(CLEARANCES)]
    dataset["contacts"] = contacts
    with transaction(sessions) as session:
        account = create_account(session, name=f"Fan-out bench {now:%Y%m%d%H%M%S}")
        import_dataset(
            session,
            account_id=account.id,
            dataset=parse_dataset(json.dumps(dataset)),
            box=SecretBox(SECRET),
        )
    # As `reportd import` does: without statistics PostgreSQL plans a report's queries for
    # empty tables (500-750 ms a report instead of ~35 until autovacuum gets there).
    with transaction(sessions) as session:
        refresh_statistics(session, IMPORTED_TABLES)
    return account.id


def new_run(
    sessions: sessionmaker[Session], account_id: int, now: datetime, recipients: Recipients
) -> int:
    with transaction(sessions) as session:
        created = new_report_run(
            session,
            account_id=account_id,
            spec=ReportSpec(kind=REPORT_TYPE),
            recipients=recipients,
            triggered_by="ops/bench/fanout.py",
            period_start=now - timedelta(days=7),
            period_end=now,
            now=now,
        )
    return created.run_id


# -- render sharing off ------------------------------------------------------------------------


class NeverShared(SharedCache[V]):
    """A cache that always computes: every delivery builds and renders its own report."""

    def __init__(self) -> None:
        SharedCache.__init__(self, 0)

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            self.misses += 1
        return compute()


class NeverSharedPdfs(NeverShared[bytes], RenderCache):
    """The PDF cache of the per-contact baseline."""


# -- the SMTP sink ------------------------------------------------------------------------------


def serve_sink(directory: str, ready: Connection, stop: Any) -> None:
    """Child process: an SmtpSink on a free port until ``stop`` is set."""
    with SmtpSink(directory) as sink:
        ready.send(sink.port)
        stop.wait()


class Outbox:
    """The SmtpSink the worker mails into, in this process or (default) a child process.

    A mail server is another process in any deployment; in this one it would share the
    worker's GIL and add its CPU to the worker's. Mails are counted as the sink's files.
    """

    def __init__(self, directory: Path, *, in_process: bool) -> None:
        self.directory = directory
        self._sink: SmtpSink | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        if in_process:
            self._sink = SmtpSink(directory)
            self._sink.start()
            self.port = self._sink.port
            return
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        self._stop = context.Event()
        self._process = context.Process(
            target=serve_sink, args=(str(directory), there, self._stop), daemon=True
        )
        self._process.start()
        if not here.poll(30):
            raise SystemExit("the SMTP sink process did not start")
        self.port = int(here.recv())

    @property
    def pid(self) -> int | None:
        """The sink's process, if it has one of its own."""
        return None if self._process is None else self._process.pid

    @property
    def count(self) -> int:
        with os.scandir(self.directory) as entries:
            return sum(1 for entry in entries if entry.name.endswith(".eml"))

    def close(self) -> None:
        if self._sink is not None:
            self._sink.stop()
        if self._process is not None:
            self._stop.set()
            self._process.join(10)


# -- CPU of the processes involved -------------------------------------------------------------


def cpu_by_process(sink: int | None) -> dict[str, float]:
    """CPU seconds of this process, the sink process (pid ``sink``), other Python children
    (the encryption helper), Playwright's driver (node) and Chromium, reaped children
    included (Chromium's renderer processes come and go with contexts)."""
    me, *children = proctree.tree(os.getpid())
    totals = dict.fromkeys(("python", "sink", "helper", "node", "chromium"), 0.0)
    totals["python"] = proctree.cpu_seconds(me.pid)
    for child in children:
        if child.pid == sink:
            name = "sink"
        else:  # the encryption helper (and spawn's resource tracker), the driver, Chromium
            kinds = {"python": "helper", "encryption": "helper", "playwright": "node"}
            name = kinds.get(child.kind, "chromium")
        totals[name] += proctree.cpu_seconds(child.pid)
    return totals


# -- where a delivery's time goes (--stages) ----------------------------------------------------

#: The steps of ``service.delivery.pipeline.deliver`` timed by ``--stages``, by the names it
#: calls them.
STAGES = (
    "claim",
    "open_report_password",
    "load_role",
    "build_report",
    "render_report_html",
    "render_footer_html",
    "render_mail",
    "encrypt_pdf",
    "build_message",
    "send_message",
    "move",
    "finish_run_if_done",
)


class StageClock:
    """Thread CPU and wall time of each pipeline step, by wrapping the names the pipeline
    module looks up. A diagnostic only: it replaces module globals for the whole process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cpu: dict[str, float] = dict.fromkeys(("deliver", *STAGES), 0.0)
        self.wall: dict[str, float] = dict.fromkeys(("deliver", *STAGES), 0.0)
        self.calls: dict[str, int] = dict.fromkeys(("deliver", *STAGES), 0)

    def install(self, deps: Deps) -> None:
        for name in STAGES:
            if name == "encrypt_pdf":  # called as deps.encrypt (a helper process in workers)
                deps.encrypt = self._timed(name, deps.encrypt)
            else:
                setattr(pipeline, name, self._timed(name, getattr(pipeline, name)))
        delivery_actors.deliver_one = self._timed("deliver", delivery_actors.deliver_one)

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
                with self.lock:
                    self.cpu[name] += cpu
                    self.wall[name] += wall
                    self.calls[name] += 1

        return timed

    def reset(self) -> None:
        with self.lock:
            for table in (self.cpu, self.wall):
                table.update(dict.fromkeys(table, 0.0))
            self.calls.update(dict.fromkeys(self.calls, 0))

    def print(self, deliveries: int) -> None:
        print(
            f"   {'step':<20}{'calls':>6}{'CPU ms/call':>13}{'CPU ms/delivery':>17}"
            f"{'wall ms/delivery':>18}"
        )
        for name in (*STAGES, "deliver"):
            calls = self.calls[name]
            if not calls:
                continue
            print(
                f"   {name:<20}{calls:>6}{1000 * self.cpu[name] / calls:>13.2f}"
                f"{1000 * self.cpu[name] / deliveries:>17.2f}"
                f"{1000 * self.wall[name] / deliveries:>18.2f}"
            )
        timed = sum(self.cpu[name] for name in STAGES)
        rest = self.cpu["deliver"] - timed
        print(
            f"   {'(rest of deliver)':<20}{'':>6}{'':>13}{1000 * rest / deliveries:>17.2f}"
            "   sessions, commits, ORM loads, caches"
        )


# -- one run -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    deliveries: int
    seconds: float
    sent: int
    failed: int
    mails: int
    documents_built: int
    renders: int
    render_hits: int
    cpu: dict[str, float]
    load: str

    @property
    def per_second(self) -> float:
        return self.deliveries / self.seconds

    @property
    def cpu_ms_per_delivery(self) -> float:
        """CPU of every process involved (worker, sink, driver, Chromium) per delivery."""
        return 1000 * sum(self.cpu.values()) / self.deliveries


def measure_run(
    settings: Settings,
    deps: Deps,
    outbox: Outbox,
    run_id: int,
    deliveries: int,
    threads: int,
    timeout: float,
) -> RunResult:
    """Time one run from ``start_run`` until the ledger says it is finished.

    The run's row is read every ``POLL`` seconds, as two columns on one kept connection in
    a read-only transaction (on SQLite it does not queue for the workers' write lock): the
    watching shares the worker's process and GIL, and an ORM session per look (begin, load,
    close) cost it about a millisecond of CPU per delivery; counting the outbox's files each
    time cost more, with a thousand of them.
    """
    mails_before = outbox.count
    cpu_before = cpu_by_process(outbox.pid)
    engine = deps.readers.kw["bind"]
    look = select(ReportRun.finished, ReportRun.sent, ReportRun.failed).where(
        ReportRun.id == run_id
    )
    with EmbeddedDispatcher(settings, deps, threads=threads) as worker, engine.connect() as watch:
        started = time.perf_counter()
        worker.start_runs([run_id])
        deadline = started + timeout
        while True:
            finished, sent, failed = watch.execute(look).one()
            watch.rollback()  # a fresh snapshot next time
            if finished is not None:
                break
            if time.perf_counter() > deadline:
                raise SystemExit(f"run {run_id} did not finish within {timeout:.0f} s")
            time.sleep(POLL)
        seconds = time.perf_counter() - started
    cpu_after = cpu_by_process(outbox.pid)
    return RunResult(
        deliveries=deliveries,
        seconds=seconds,
        sent=sent,
        failed=failed,
        mails=outbox.count - mails_before,
        documents_built=deps.documents.misses,
        renders=deps.cache.misses,
        render_hits=deps.cache.hits,
        cpu={name: cpu_after[name] - cpu_before[name] for name in cpu_after},
        load=load(),
    )


def report(label: str, result: RunResult) -> None:
    cpu = result.cpu
    per = {name: 1000 * seconds / result.deliveries for name, seconds in cpu.items()}
    print(
        f"{label}: {result.deliveries} deliveries in {result.seconds:.1f} s = "
        f"{result.per_second:.2f} deliveries/s ({result.load} at the end)\n"
        f"   sent {result.sent}, failed {result.failed}, mails in the sink {result.mails}; "
        f"documents built {result.documents_built}, renders (PDF cache misses) "
        f"{result.renders}, PDF cache hits {result.render_hits}\n"
        f"   CPU: worker (Python) {cpu['python']:.1f} s, SMTP sink process "
        f"{cpu['sink']:.1f} s, encryption helper {cpu['helper']:.1f} s, Playwright driver "
        f"{cpu['node']:.1f} s, Chromium {cpu['chromium']:.1f} s = per delivery "
        f"{per['python']:.0f} + {per['sink']:.0f} + {per['helper']:.0f} + {per['node']:.0f} + "
        f"{per['chromium']:.0f} ms"
    )


def worker_deps(settings: Settings, *, prototypes: list[str]) -> Deps:
    """The Deps ``build_deps`` makes, or, on SQLite, with prototypes of changes to
    ``storage.db`` that were considered (neither helped measurably; docs/BENCHMARKS.md):

    - ``sync-normal``: ``PRAGMA synchronous=NORMAL`` (WAL's usual level; today SQLite's
      default FULL fsyncs the WAL at every commit, under the write lock);
    - ``writer-lock``: transactions of one process queue on a ``threading.Lock`` before
      ``BEGIN IMMEDIATE`` instead of in SQLite's busy handler, which sleeps 1, 2, 5, 10 ...
      100 ms between tries and so leaves the lock idle while writers sleep.
    """
    deps = build_deps(settings)
    url = settings.resolved_database_url()
    if not prototypes or not url.startswith("sqlite"):
        return deps
    engine = make_engine(url)
    if "sync-normal" in prototypes:

        def pragma(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA synchronous=NORMAL")

        event.listen(engine, "connect", pragma)
    if "writer-lock" in prototypes:
        writers = threading.Lock()

        def queue_up(connection: Any) -> None:
            writers.acquire()
            connection.info["holds_writer_lock"] = True

        def let_go(connection: Any) -> None:
            if connection.info.pop("holds_writer_lock", False):
                writers.release()

        event.listen(engine, "begin", queue_up, insert=True)  # before BEGIN IMMEDIATE
        event.listen(engine, "commit", let_go)
        event.listen(engine, "rollback", let_go)
    return replace(deps, sessions=make_session_factory(engine))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 contacts: a smoke test")
    parser.add_argument("--url", default="", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--contacts", type=int, help="contacts of the shared run (1000)")
    parser.add_argument("--baseline", type=int, help="contacts of the unshared sample (100)")
    parser.add_argument(
        "--threads", type=int, default=8, help="worker threads (8, as `reportd worker` runs)"
    )
    parser.add_argument(
        "--sink-in-process",
        action="store_true",
        help="run the SMTP sink in the worker's process (as `reportd demo` does)",
    )
    parser.add_argument(
        "--prototype",
        action="append",
        default=[],
        choices=["sync-normal", "writer-lock"],
        help="try a change to storage.db on SQLite (repeatable; see worker_deps)",
    )
    parser.add_argument(
        "--order",
        default="shuffled",
        choices=["shuffled", "round-robin"],
        help="contacts' clearances and languages in a seeded random order, or round robin",
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also time each step of a delivery (wraps the pipeline's functions)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run at most")
    args = parser.parse_args()
    contacts = args.contacts or (60 if args.quick else 1000)
    sample = min(contacts, args.baseline or (20 if args.quick else 100))
    logging.basicConfig(level=logging.WARNING)
    now = datetime.now(UTC).replace(microsecond=0)

    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_session_factory(engine)
        started = time.perf_counter()
        records = contacts_for(contacts, shuffled=args.order == "shuffled")
        account_id = load_account(sessions, now, records)
        with sessions() as session:
            ids = list(
                session.scalars(
                    select(Contact.id).where(Contact.account_id == account_id).order_by(Contact.id)
                )
            )
            by_address = dict(
                session.execute(
                    select(Contact.email_address, Contact.id).where(
                        Contact.account_id == account_id
                    )
                )
                .tuples()
                .all()
            )
        protected = sum(1 for record in records if record.get("reportPDFPassword"))
        documents = len({(record["roleID"], record["locale"]) for record in records})
        print(
            f"{contacts} contacts ({protected} password-protected), {len(CLEARANCES)} "
            f"clearances x {len(LANGUAGES)} languages = {documents} distinct "
            f"{REPORT_TYPE.value} reports; "
            f"{COMPUTERS_PER_GROUP * 4} computers, {EVENTS} events; {args.order} order; loaded in "
            f"{time.perf_counter() - started:.1f} s into {url.split('@')[-1]}"
        )

        outbox = Outbox(Path(tmp) / "outbox", in_process=args.sink_in_process)
        try:
            settings = Settings(
                database_url=url,
                smtp_host="127.0.0.1",
                smtp_port=outbox.port,
                secret_key=SECRET,  # type: ignore[arg-type]
                mail_from="reportd <reports@reportd.test>",
            )
            deps = worker_deps(settings, prototypes=args.prototype)
            renderer = deps.renderer
            assert isinstance(renderer, PdfRenderer)
            try:
                # The browser's launch and the encryption helper's start are once per
                # process; keep them out of both figures.
                renderer.render("<p>warm-up</p>")
                if isinstance(deps.encrypt, Encryptor):
                    deps.encrypt.start()
                # So are the templates' compilation, each language's locale data and each
                # statement's compilation: a short run with nothing shared pays them, so
                # that the shared run (measured first) does not pay them for both.
                unshared = replace(
                    deps, cache=NeverSharedPdfs(), documents=NeverShared(), share_pdfs=False
                )
                warm = warm_up_contacts(records, by_address)
                measure_run(
                    settings,
                    unshared,
                    outbox,
                    new_run(sessions, account_id, now, Recipients(contact_ids=warm)),
                    len(warm),
                    args.threads,
                    args.timeout,
                )
                print(
                    f"one worker: {args.threads} threads, {settings.render_slots} render slots, "
                    f"one Chromium; SMTP sink {'in' if args.sink_in_process else 'out of'} "
                    f"process; prototypes: {', '.join(args.prototype) or 'none'}; "
                    f"{os.cpu_count()} CPUs, {load()}\n"
                )
                clock = StageClock()
                if args.stages:
                    clock.install(deps)
                shared_run = new_run(sessions, account_id, now, Recipients(all_contacts=True))
                shared = measure_run(
                    settings, deps, outbox, shared_run, contacts, args.threads, args.timeout
                )
                report("render sharing on (as deployed)", shared)
                if args.stages:
                    clock.print(contacts)
                    clock.reset()

                unshared = replace(
                    deps, cache=NeverSharedPdfs(), documents=NeverShared(), share_pdfs=False
                )
                baseline_run = new_run(
                    sessions, account_id, now, Recipients(contact_ids=ids[:sample])
                )
                baseline = measure_run(
                    settings, unshared, outbox, baseline_run, sample, args.threads, args.timeout
                )
                report("render sharing off (per-contact baseline)", baseline)
                if args.stages:
                    clock.print(sample)
            finally:
                renderer.close()
            in_outbox = outbox.count
        finally:
            outbox.close()

    ratio = shared.per_second / baseline.per_second
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    cpu_ratio = baseline.cpu_ms_per_delivery / shared.cpu_ms_per_delivery
    print(
        f"\nratio of deliveries per second, shared / per contact: {ratio:.1f}x "
        f"(target >= {TARGET_RATIO:.0f}x: {verdict})\n"
        f"CPU per delivery, all processes: shared {shared.cpu_ms_per_delivery:.0f} ms, per "
        f"contact {baseline.cpu_ms_per_delivery:.0f} ms: ratio {cpu_ratio:.1f}x, what the ratio "
        f"above approaches when both runs keep both cores busy (it varies less with load)\n"
        f"mails: {shared.mails} for {contacts} contacts and {baseline.mails} for {sample} "
        f"(the sink's directory holds {in_outbox} .eml files; expected "
        f"{contacts + sample + len(warm)}, with {len(warm)} of the warm-up)"
    )


if __name__ == "__main__":
    main()
