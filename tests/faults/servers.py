"""Private Redis and PostgreSQL servers that a fault test may kill and start again.

The machine's shared servers (Redis on 6379, PostgreSQL on 5432) serve other suites running
at the same time, so they are never restarted: each fault gets a ``redis-server`` or a
PostgreSQL cluster of its own on a free port, in a temporary directory, without persistence
(Redis) or durability (PostgreSQL's fsync is off: the tests crash servers, not machines).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.delivery.smtp_sink import OutboxHandler

#: Seconds a server may take to start answering, or to go away.
START_TIMEOUT = 30.0
#: Ports the servers pick from: below Linux's ephemeral range (32768-60999), above most
#: services'.
PRIVATE_PORTS = (20000, 32000)
#: The user PostgreSQL runs as when the tests run as root (initdb refuses root).
POSTGRES_USER = "postgres"


def free_port() -> int:
    """A TCP port nobody uses right now, below the ephemeral range: a server restarted on it
    must not find it taken by some process's outgoing connection in the meantime.
    """
    for _ in range(1000):
        port = random.randrange(*PRIVATE_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {PRIVATE_PORTS}")


class HoldingHandler(OutboxHandler):
    """The sink's handler, able to hold mails at the end of DATA until released.

    While held, the client waits for the server's answer: its delivery is in ``sending`` and no
    transaction of its worker is open, which is the moment a fault test wants to crash things.
    Releasing lets every held mail be stored and answered. Not holding, it is the plain sink.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._holding = False
        self._held = 0

    @property
    def held(self) -> int:
        """Mails waiting now for :meth:`release`."""
        return self._held

    def hold(self) -> None:
        self._holding = True

    def release(self) -> None:
        self._holding = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._holding:
            self._held += 1  # the sink's event loop is one thread: no lock needed
            try:
                while self._holding:
                    await asyncio.sleep(0.005)
            finally:
                self._held -= 1
        return await super().handle_DATA(server, session, envelope)


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """``redis-server`` on ``port`` that forgets everything when it stops: no RDB, no AOF."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        binary = redis_server_binary()
        assert binary is not None, "redis-server is not installed"
        self.binary = binary
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            assert self.process.poll() is None, f"redis-server exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"redis-server silent:\n{self.log()}"
            time.sleep(0.02)

    def kill(self) -> None:
        """``kill -9``: whatever Redis held is gone; idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=START_TIMEOUT)

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def log(self) -> str:
        return (self.directory / "redis.log").read_text(errors="replace")[-2000:]


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def postgres_missing() -> str:
    """Why a private cluster cannot be made here, or "" when it can."""
    if postgres_bin_dir() is None:
        return "no initdb (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            return f"running as root, and there is no {POSTGRES_USER!r} user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root without runuser"
    return ""


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary directory, listening on 127.0.0.1 only.

    Started and stopped with ``pg_ctl`` (``stop("immediate")`` is a crash: no checkpoint,
    connections cut; the next start recovers from the WAL).
    """

    def __init__(self, port: int | None = None) -> None:
        bin_dir = postgres_bin_dir()
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.port = port or free_port()
        # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
        self.directory = Path(tempfile.mkdtemp(prefix="reportd-faults-pg-"))
        self.data = self.directory / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.directory, user=POSTGRES_USER)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        options += " -c fsync=off -c full_page_writes=off -c max_connections=200"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"),
            "-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` is as abrupt as a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            self._command("pg_ctl", "-D", str(self.data), "status"),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            if self.running():
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self, last: int | None = 3000) -> str:
        """The server's log, or its last ``last`` characters."""
        path = self.directory / "server.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text[-last:] if last else text

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / program), *args]
        return ["runuser", "-u", POSTGRES_USER, "--", *command] if self._as_postgres else command

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(self._command(program, *args), capture_output=True, check=False)
        assert done.returncode == 0, (
            f"{program} failed:\n{done.stdout.decode()}{done.stderr.decode()}\n{self.log()}"
        )
