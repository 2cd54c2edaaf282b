"""``reportd scheduler --metrics-port``: a real scheduler process serves its metrics."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx

from service.config import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from tests.actors.procs import REPORTD_COMMAND, ROOT, reportd_env
from tests.faults.servers import free_port

TICKS = re.compile(r'^reportd_scheduler_ticks_total\{outcome="ok"\} (\S+)$', re.MULTILINE)


def test_the_scheduler_serves_its_ticks_and_last_tick_for_prometheus(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    engine.dispose()
    port = free_port()
    command = ["scheduler", "--interval", "0.2", "--metrics-port", str(port)]
    command += ["--metrics-host", "127.0.0.1"]
    log = (tmp_path / "scheduler.log").open("wb")
    process = subprocess.Popen(
        [*REPORTD_COMMAND, *command],
        env=reportd_env(settings),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        body, deadline = "", time.monotonic() + 60
        while not (found := TICKS.search(body)) or float(found.group(1)) < 2:
            assert process.poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, f"no ticks counted:\n{body}"
            time.sleep(0.2)
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.TransportError:
                continue
        assert "reportd_scheduler_last_tick_timestamp_seconds" in body
        assert "reportd_scheduler_runs_fired_total 0.0" in body
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_given_a_taken_metrics_port_the_scheduler_says_so_and_exits(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*REPORTD_COMMAND, "scheduler", "--metrics-port", str(port)]
            + ["--metrics-host", "127.0.0.1"],
            env=reportd_env(settings),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
