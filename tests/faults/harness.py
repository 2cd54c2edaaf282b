"""What every fault test does: reportd processes to start and kill, and the exactly-once check.

Processes are the real commands (``dramatiq actors.worker_main`` as ``reportd worker`` runs
it, ``reportd reconcile --loop``, ``reportd scheduler``), each in a session of its own so that
a kill reaches all it started and nothing else. The proof of a test is read from the SMTP
sink's folder, where each mail is a file: one file per delivery, none missing, none twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import select

from service.delivery.ledger import DeliveryState
from service.delivery.mail import make_message_id
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from storage.db import transaction
from storage.models import Contact, Delivery, DeliveryTransition, ReportRun
from tests.actors.conftest import HANAKO, SECRET, World
from tests.actors.procs import (
    KILL_TIMEOUT,
    REPORTD_COMMAND,
    ROOT,
    WorkerProcess,
    actors_on,
    reportd_env,
)
from tests.faults.servers import free_port

#: A claim's lease, and how long a pending delivery waits before the reconciler sends it
#: again (``REPORTD_RECONCILE_AFTER``): short, so what a dead worker held comes back soon.
LEASE = 4.0
#: Must stay below the lease (the settings refuse otherwise).
SMTP_TIMEOUT = 2.0
#: Seconds between two passes of the reconciler, or two ticks of the scheduler.
PASS_INTERVAL = 1.0
#: Time zones of the contacts the tests add: one document (and one Chromium render) per zone
#: in each worker's life, so renders go on through the run instead of only at its start.
TIME_ZONES = (
    "UTC", "Europe/Lisbon", "Europe/Paris", "Europe/Athens", "Asia/Dubai", "Asia/Kolkata",
    "Asia/Bangkok", "Asia/Seoul", "Australia/Sydney", "Pacific/Auckland", "America/Chicago",
    "America/New_York",
)  # fmt: skip
#: The cheapest report to render that still has a table per clearance.
REPORT_TYPE = "alert"


def add_contacts(world: World, count: int, *, zones: int = len(TIME_ZONES)) -> None:
    """``count`` more contacts with the Web Team's clearance, in English, their time zones in
    blocks (the first block in ``TIME_ZONES[0]``, ...), so deliveries in id order need a new
    render at each block's start.
    """
    zones = max(1, min(zones, len(TIME_ZONES)))
    block = -(-count // zones)  # ceiling
    with transaction(world.sessions) as session:
        web_team = session.get(Contact, world.contacts[HANAKO])
        assert web_team is not None
        box = SecretBox(SECRET)
        for number in range(count):
            added = add_contact(
                session,
                account_id=world.account_id,
                box=box,
                name=f"Contact {number:03d}",
                email_address=f"contact{number:03d}@example.com",
                role_id=web_team.role_id,
                locale="en-US",
                time_zone=TIME_ZONES[number // block],
            )
            world.contacts[added.email_address] = added.id


def start_run(world: World, run_id: int) -> None:
    """Enqueue ``start_run(run_id)`` on the world's Redis, as ``reportd send`` would."""
    with actors_on(world.settings):
        from actors.delivery import start_run as start

        start.send(run_id)


# -- processes ----------------------------------------------------------------------------


class FaultWorker(WorkerProcess):
    """A worker process tree that can also be frozen, and robbed of its Chromium."""

    def freeze(self) -> None:
        """SIGSTOP every process of the tree: the ledger holds still while the test looks."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def chromium_pids(self) -> list[int]:
        """The worker's Chromium processes: the browser and everything it started."""
        return [pid for pid in self.pids() if _command_name(pid) == "chromium"]

    def python_pids(self) -> list[int]:
        """The worker's Python processes: dramatiq's main process and those it forked."""
        return [pid for pid in self.pids() if _command_name(pid).startswith("python")]

    def _signal_all(self, signum: signal.Signals) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)


class Background:
    """A long-running ``reportd`` command (reconciler, scheduler) in a session of its own."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        with log.open("ab") as output:
            self.popen = subprocess.Popen(
                [*REPORTD_COMMAND, *args],
                env={**env, "REPORTD_LOG_LEVEL": "INFO", "REPORTD_LOG_JSON": "false"},
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def freeze(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGCONT)

    def assert_alive(self) -> None:
        assert self.popen.poll() is None, (
            f"reportd {' '.join(self.args)} exited ({self.popen.returncode}):\n{self.output()}"
        )

    def kill(self) -> None:
        self.thaw()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=KILL_TIMEOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class Processes:
    """Starts reportd processes on a world and kills whatever is left of them at the end."""

    def __init__(self, world: World, directory: Path, **settings: object) -> None:
        self.world = world
        self.directory = directory
        self.settings: dict[str, object] = {
            "reconcile_after": LEASE,
            "smtp_timeout": SMTP_TIMEOUT,
            **settings,
        }
        self.workers: list[FaultWorker] = []
        self.background: list[Background] = []

    def env(self) -> dict[str, str]:
        return reportd_env(self.world.settings, **self.settings)

    def worker(self, *, wait: bool = True) -> FaultWorker:
        """``reportd worker`` with one process of two threads; its metrics on a free port."""
        number = len(self.workers)
        metrics = self.directory / f"worker-{number}-metrics"
        metrics.mkdir(exist_ok=True)
        env = {
            **self.env(),
            "dramatiq_prom_port": str(free_port()),
            "dramatiq_prom_db": str(metrics),
        }
        worker = FaultWorker(env, self.directory / f"worker-{number}.log")
        self.workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    def reconciler(self) -> Background:
        """``reportd reconcile --loop``, as an operator runs it next to the workers."""
        return self.start("reconcile", "--loop", "--interval", str(PASS_INTERVAL))

    def scheduler(self) -> Background:
        """``reportd scheduler`` ticking (and reconciling) every ``PASS_INTERVAL`` seconds."""
        interval = str(PASS_INTERVAL)
        return self.start("scheduler", "--interval", interval, "--reconcile-every", interval)

    def start(self, *args: str) -> Background:
        name = f"{args[0]}-{len(self.background)}.log"
        started = Background(args, self.env(), self.directory / name)
        self.background.append(started)
        return started

    def kill_all(self) -> None:
        for worker in self.workers:
            worker.thaw()  # a stopped process would still die, but its log would not flush
            worker.kill()
        for process in self.background:
            process.kill()

    def logs(self) -> str:
        """Every process's output, for a failure message."""
        parts = [f"--- {w.log.name}\n{w.output()}" for w in self.workers]
        parts += [f"--- {b.log.name}\n{b.output()}" for b in self.background]
        return "\n".join(parts)


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


# -- the ledger ---------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


def count_states(world: World, run_id: int) -> Counter[str]:
    return Counter(world.states(run_id).values())


def ids_in(world: World, run_id: int, *states: DeliveryState) -> list[int]:
    with world.sessions() as session:
        statement = select(Delivery.id).where(
            Delivery.run_id == run_id, Delivery.state.in_([s.value for s in states])
        )
        return list(session.scalars(statement.order_by(Delivery.id)))


def rendering_for(world: World, run_id: int, at_least: float) -> dict[int, str]:
    """Deliveries claimed at least ``at_least`` seconds ago and not yet sending, with their
    claim tokens: a shared document is reused in milliseconds, so these are in Chromium (or
    building its input).
    """
    with world.sessions() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.claim_token, Delivery.updated).where(
                Delivery.run_id == run_id, Delivery.state == DeliveryState.rendering.value
            )
        ).all()
    now = datetime.now(UTC)
    return {
        delivery_id: str(token)
        for delivery_id, token, claimed in rows
        if (now - claimed).total_seconds() >= at_least
    }


def notes(world: World, delivery_id: int) -> list[str]:
    """The delivery's transitions, oldest first, as ``from->to: note``."""
    with world.sessions() as session:
        rows = session.execute(
            select(DeliveryTransition.from_state, DeliveryTransition.to_state,
                   DeliveryTransition.note)
            .where(DeliveryTransition.delivery_id == delivery_id)
            .order_by(DeliveryTransition.id)
        ).all()  # fmt: skip
    return [f"{before}->{after}: {note}" for before, after, note in rows]


# -- the proof ----------------------------------------------------------------------------


def mails_in_folder(outbox: Path) -> Counter[tuple[str, str]]:
    """(Message-ID, recipient) of every mail file the sink wrote, with how often each came."""
    parser = BytesHeaderParser(policy=default_policy)
    found: Counter[tuple[str, str]] = Counter()
    for path in outbox.glob("*.eml"):
        with path.open("rb") as file:
            headers = parser.parse(file)
        found[(str(headers["Message-ID"]), parseaddr(str(headers["To"]))[1])] += 1
    return found


def expected_mails(world: World, *run_ids: int) -> Counter[tuple[str, str]]:
    """One mail per delivery of the runs, with the Message-ID derived from its id."""
    domain = parseaddr(world.settings.mail_from)[1].rpartition("@")[2]
    with world.sessions() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.recipient_address).where(Delivery.run_id.in_(run_ids))
        ).all()
    return Counter({(make_message_id(f"delivery-{i}", domain), to): 1 for i, to in rows})


def assert_each_delivery_mailed_once(world: World, *run_ids: int) -> None:
    """Every run finished with all sent, and the folder holds exactly one mail per delivery."""
    for run_id in run_ids:
        with world.sessions() as session:
            run = session.get(ReportRun, run_id)
            assert run is not None and run.finished is not None, f"run {run_id} is not finished"
            assert (run.sent, run.failed) == (run.total, 0), (run.sent, run.failed, run.total)
    expected = expected_mails(world, *run_ids)
    received = mails_in_folder(world.outbox)
    doubled = {mail: n for mail, n in received.items() if n > 1}
    missing = expected.keys() - received.keys()
    assert not doubled and not missing, f"mailed twice: {doubled}; never mailed: {missing}"
    assert received == expected
    # The sink's own record of envelopes agrees with its folder.
    envelopes = Counter(to for mail in world.sink.received for to in mail.rcpt_tos)
    assert envelopes == Counter(to for _, to in expected.elements())


@contextlib.contextmanager
def explained(processes: Processes) -> Iterator[None]:
    """On failure, show what the processes logged."""
    try:
        yield
    except AssertionError as error:
        raise AssertionError(f"{error}\n\n{processes.logs()}") from error
