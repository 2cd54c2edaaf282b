"""A process and everything it started, read from /proc: who is alive, their memory and CPU.

A worker is more than its Python process: dramatiq forks worker processes, and each starts
Playwright's driver (node), which starts Chromium and its renderer processes. Sizing a worker
means summing all of them, which is what the worker's ``/metrics`` and ``ops/bench/load.py``
do. PSS is the measure: it counts pages shared between Chromium's processes once (RSS would
count them in every process). psutil is not a dependency; /proc is enough on Linux.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: What each kind of process in a worker's tree is called, by the start of its ``comm``
#: (the encryption helper names itself: ``service.delivery.encryption.HELPER_NAME``).
KIND_PREFIXES = (
    ("python", "python"),
    ("node", "playwright"),
    ("chrom", "chromium"),
    ("reportd-encrypt", "encryption"),
)


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    session: int
    comm: str

    @property
    def kind(self) -> str:
        """``python``, ``playwright`` (the driver), ``chromium``, ``encryption`` (the helper
        that encrypts PDFs) or ``other``."""
        for prefix, kind in KIND_PREFIXES:
            if self.comm.startswith(prefix):
                return kind
        return "other"


def live_processes() -> dict[int, Process]:
    """Every process that is not dead (zombies are dead), by pid."""
    found: dict[int, Process] = {}
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # it exited while we looked
            # The command name may hold spaces and parentheses: split after its last ")".
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            state, parent, _, session = stat[stat.rindex(")") + 2 :].split()[:4]
            if state not in ("Z", "X"):
                pid = int(entry.name)
                found[pid] = Process(pid, int(parent), int(session), comm)
    return found


def tree(root: int, processes: dict[int, Process] | None = None) -> list[Process]:
    """``root`` and its live descendants (by parent pid), root first; empty if it is gone."""
    processes = live_processes() if processes is None else processes
    if root not in processes:
        return []
    children: dict[int, list[int]] = {}
    for process in processes.values():
        children.setdefault(process.parent, []).append(process.pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(processes[pid])
        todo.extend(children.get(pid, []))
    return found


def memory_kib(pid: int) -> int:
    """PSS of one process in KiB (RSS where PSS is unreadable); 0 once it has exited."""
    for source, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            lines = Path(f"/proc/{pid}/{source}").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def resident_kib(pid: int) -> int:
    """RSS of one process in KiB, from statm: a hundred times cheaper to read than PSS, but
    pages shared between processes count in each; 0 once it has exited."""
    try:
        resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def memory_by_kind(processes: list[Process]) -> dict[str, int]:
    """Sum of PSS in KiB by :attr:`Process.kind`."""
    totals: dict[str, int] = {}
    for process in processes:
        totals[process.kind] = totals.get(process.kind, 0) + memory_kib(process.pid)
    return totals


def own_cpu_seconds(pid: int) -> float:
    """User and system CPU of the process itself, without its children; 0 once it exited."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and of its children it has reaped (Chromium's
    renderers come and go); 0 once it has exited."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
