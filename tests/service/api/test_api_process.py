"""``reportd api`` as operators run it: stopped with SIGTERM after an encrypted delivery, it
leaves no child behind (issue 15, row 14: its encryption helper and multiprocessing's resource
tracker were left running with parent 1). Real processes, real Chromium and SMTP."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.api.keys import new_key
from service.delivery.smtp_sink import SmtpSink
from service.runtime import proctree
from storage.db import transaction
from storage.models import ReportRun, Role
from tests.actors.conftest import JONAS, World, make_world
from tests.actors.procs import REPORTD_COMMAND, ROOT, reportd_env
from tests.service.api.conftest import free_port

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

#: Seconds the API may take to stop its embedded worker, Chromium and helper.
EXIT_WITHIN = 30.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with SmtpSink(tmp_path / "outbox") as sink:
        yield make_world(tmp_path, sink)


@pytest.fixture
def api_process(world: World, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = reportd_env(world.settings, broker_url="")
    log = (tmp_path / "api.log").open("ab")
    process = subprocess.Popen(
        [*REPORTD_COMMAND, "api", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen: set[int] = set()
    try:
        yield process, f"http://127.0.0.1:{port}/api"
    finally:
        seen.update(p.pid for p in proctree.tree(process.pid))
        for pid in seen | {process.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=10)
        log.close()


def test_the_api_stopped_after_an_encrypted_delivery_leaves_no_child_running(
    world: World, api_process: tuple[subprocess.Popen[bytes], str]
) -> None:
    process, base = api_process
    with transaction(world.sessions) as session:
        role = session.query(Role).filter_by(account_id=world.account_id, name="Full Access").one()
        _, secret = new_key(session, account_id=world.account_id, role_id=role.id, name="stop")

    # Given the API (with its embedded worker) has mailed a password-protected report
    headers = {"api-secret-key": secret, "api-version": "v1"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        deadline = time.monotonic() + 60
        while True:
            try:
                posted = http.post(
                    "/reports",
                    json={
                        "reportTemplateID": 1,
                        "timeRange": {"units": "day", "value": 7},
                        "recipients": {"contactIDs": [world.contacts[JONAS]]},
                    },
                )
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "no API"
                time.sleep(0.2)
        assert posted.status_code == 200, posted.text
    run_id = posted.json()["ID"]
    deadline = time.monotonic() + 120
    while True:
        with world.sessions() as session:
            run = session.get(ReportRun, run_id)
            assert run is not None
            if run.finished is not None:
                break
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)
    assert run.sent == 1
    children = proctree.tree(process.pid)[1:]
    commands = [Path(f"/proc/{p.pid}/cmdline").read_bytes() for p in children]
    assert any(b"spawn_main" in command for command in commands)  # the encryption helper
    assert any(b"resource_tracker" in command for command in commands)

    # When it is asked to stop
    os.kill(process.pid, signal.SIGTERM)

    # Then it stops its worker and children itself (not killed by the signal uvicorn raises
    # again after its shutdown) ...
    assert process.wait(timeout=EXIT_WITHIN) == 0
    # ... and every process it started ends with it
    deadline = time.monotonic() + 10
    while left := [p.pid for p in children if p.pid in proctree.live_processes()]:
        assert time.monotonic() < deadline, f"left running: {left}"
        time.sleep(0.1)
