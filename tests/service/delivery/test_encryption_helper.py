"""The encryption helper process ends with the process that started it, however that ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from service.delivery.encryption import HELPER_NAME
from service.runtime import proctree
from tests.actors.procs import ROOT

#: A process that starts an Encryptor, says its helper's pid, then waits to be killed.
PARENT = """
import os, sys, time
from service.runtime import proctree
from service.delivery.encryption import Encryptor
if __name__ == "__main__":
    encryptor = Encryptor()
    encryptor.start()
    helpers = [p.pid for p in proctree.tree(os.getpid())[1:] if p.kind == "encryption"]
    print(helpers[0], flush=True)
    time.sleep(600)
"""


def test_a_helper_whose_parent_was_killed_ends_itself() -> None:
    # Given a process with its encryption helper running
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        assert proctree.live_processes()[helper].comm == HELPER_NAME

        # When the parent is killed, with no chance to stop its helper
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)

        # Then the helper ends within a few seconds
        deadline = time.monotonic() + 10
        while helper in proctree.live_processes():
            assert time.monotonic() < deadline, "the helper outlived its parent"
            time.sleep(0.1)
    finally:
        parent.kill()
        parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()
