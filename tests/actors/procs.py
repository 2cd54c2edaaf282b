"""Real processes and a real Redis for the distribution tests.

A worker is ``python -m dramatiq actors.worker_main`` (what ``reportd worker`` runs) started in
a session of its own. Killing it kills everything it started at once: dramatiq's forked worker
process and Playwright's driver in that session, and Chromium, which Playwright starts in a
session of its own, found through the process tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dramatiq
import dramatiq.broker
import redis

from actors.broker import declare_actors, setup_broker
from service.config import Settings
from service.runtime import proctree

#: The checkout under test: child processes import it, whatever else is installed.
ROOT = Path(__file__).resolve().parents[2]
#: The first Redis database the tests may claim; each test empties the one it claimed.
REDIS_URL = os.environ.get("REPORTD_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
#: How many databases from ``REDIS_URL``'s down may be claimed, one per test running (13 and
#: 14 belong to the scheduler's benchmark and tests).
REDIS_DATABASES = 4
#: The key that marks a database claimed, and for how long a claim holds (seconds).
CLAIM_KEY = "reportd-tests:claimed-by"
CLAIM_SECONDS = 600
#: One worker process with two threads: renders in flight stay near the core count.
WORKER_COMMAND = (
    sys.executable,
    *("-m", "dramatiq", "actors.worker_main", "--processes", "1", "--threads", "2"),
)
#: The ``reportd`` command, run by this interpreter from this checkout.
REPORTD_COMMAND = (sys.executable, "-c", "from service.cli import main; main()")
#: What dramatiq logs once a worker process consumes its queues.
READY_LINE = b"Worker process is ready for action."
#: Seconds a killed process tree may take to disappear.
KILL_TIMEOUT = 10.0


def redis_available(url: str = REDIS_URL) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class ClaimedRedis:
    """A Redis database this test has to itself: runs of the suite side by side (CI jobs,
    colleagues in one checkout) must not consume or flush each other's queues.
    """

    def __init__(self, client: redis.Redis, url: str, token: str) -> None:
        self.client = client
        self.url = url
        self._token = token

    def flush(self) -> None:
        """Forget everything, as Redis restarted without persistence would; keep the claim."""
        self.client.flushdb()
        self._claim()

    def _claim(self) -> None:
        self.client.set(CLAIM_KEY, self._token, ex=CLAIM_SECONDS)


@contextmanager
def claimed_redis(url: str = REDIS_URL, timeout: float = 120) -> Iterator[ClaimedRedis]:
    """The first unclaimed of ``REDIS_DATABASES`` databases from ``url``'s down, emptied
    before and after; waits (bounded) while other runs hold them all.
    """
    token = f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns()}"
    parts = urlsplit(url)
    first = int(parts.path.strip("/") or 0)
    candidates = [
        urlunsplit(parts._replace(path=f"/{n}"))
        for n in range(first, max(first - REDIS_DATABASES, -1), -1)
    ]
    deadline = time.monotonic() + timeout
    while (claimed := _claim_one(candidates, token)) is None:
        assert time.monotonic() < deadline, f"{candidates} stayed claimed for {timeout} s"
        time.sleep(0.5)
    try:
        claimed.flush()
        yield claimed
    finally:
        claimed.client.flushdb()
        claimed.client.close()


def _claim_one(candidates: list[str], token: str) -> ClaimedRedis | None:
    for candidate in candidates:
        client = redis.Redis.from_url(candidate)
        if client.set(CLAIM_KEY, token, nx=True, ex=CLAIM_SECONDS):
            return ClaimedRedis(client, candidate, token)
        client.close()
    return None


@contextmanager
def actors_on(settings: Settings) -> Iterator[dramatiq.Broker]:
    """reportd's actors on the broker ``settings`` name, as dramatiq's global broker.

    The previous global broker, and the actors' binding to it, are put back afterwards: the
    other tests use the stub broker.
    """
    previous = dramatiq.broker.global_broker
    broker = setup_broker(settings)
    declare_actors(broker)
    try:
        yield broker
    finally:
        broker.close()
        client = getattr(broker, "client", None)
        if client is not None:  # RedisBroker.close leaves its connections open
            client.connection_pool.disconnect()
        dramatiq.broker.global_broker = previous
        if previous is not None:
            declare_actors(previous)


def reportd_env(settings: Settings, **variables: object) -> dict[str, str]:
    """The environment of a reportd process sharing ``settings``' database, mail and key.

    ``variables`` are more settings by field name (``reconcile_after=3``). Any
    ``REPORTD_*`` variable of the calling shell is left out, so the test decides them all.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTD_")}
    values: dict[str, object] = {
        "database_url": settings.resolved_database_url(),
        "smtp_host": settings.smtp_host,
        "smtp_port": settings.smtp_port,
        "secret_key": settings.secret_key.get_secret_value(),
        "mail_from": settings.mail_from,
        "broker_url": settings.broker_url,
        **variables,
    }
    env.update({f"REPORTD_{name.upper()}": str(value) for name, value in values.items()})
    return env


def reportd(*args: str, env: dict[str, str], timeout: float = 60) -> str:
    """Run a ``reportd`` command to completion; its output, or an error that shows it."""
    done = subprocess.run(
        [*REPORTD_COMMAND, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"reportd {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


class WorkerProcess:
    """A dramatiq worker process tree in a session of its own; its output goes to ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as output:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(
                WORKER_COMMAND,
                env={**env, "REPORTD_LOG_LEVEL": "INFO"},  # dramatiq says it is ready at INFO
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._sessions = {self.popen.pid}

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until dramatiq says the worker consumes, or fail with its output."""
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.log.read_bytes():
            assert self.popen.poll() is None, f"the worker exited:\n{self.output()}"
            assert time.monotonic() < deadline, (
                f"the worker was not ready in {timeout} s:\n{self.output()}"
            )
            time.sleep(0.05)

    def pids(self) -> list[int]:
        """Live processes the worker started: its session, their descendants, and the sessions
        those descendants started (Playwright starts Chromium with ``setsid``).
        """
        processes = proctree.live_processes()
        found = {p.pid for p in processes.values() if p.session in self._sessions}
        for pid in list(found):
            found.update(p.pid for p in proctree.tree(pid, processes))
        # Remembered, so that what is left of a Chromium after its parent died is found too.
        self._sessions.update(processes[pid].session for pid in found)
        return sorted(p.pid for p in processes.values() if p.session in self._sessions)

    def kill(self) -> None:
        """``kill -9`` the whole tree at once, as a crash or the OOM killer would; idempotent."""
        deadline = time.monotonic() + KILL_TIMEOUT
        while pids := self.pids():
            assert time.monotonic() < deadline, f"processes {pids} survived SIGKILL"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        self.popen.wait(timeout=KILL_TIMEOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]
