"""Benchmark of the Chromium renderer on this machine; prints figures, asserts nothing.

Measures, for a self-contained ~14-page A4 security summary (no JavaScript, no fetches):

(a) bare Playwright ``set_content`` + ``page.pdf`` on one reused page: the floor;
(b) ``PdfRenderer.render`` one at a time (target: within 1.1x of the floor);
(c) a browser launched, used and closed per report: the naive baseline;
(d) throughput with 2 threads through one ``PdfRenderer`` (target: >= 1.8 PDF/s);
(e) the PSS and RSS of the renderer's browser tree before and after many renders.

Usage: ``python ops/bench/pdf.py [--quick] [--runs N] [--docs N] [--memory-renders N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Page, async_playwright
from pypdf import PdfReader

from service.delivery.pdf import CHROMIUM_FLAGS, PdfRenderer, find_chromium, pdf_options

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OS_NAMES = ("Debian 12", "Ubuntu 24.04", "RHEL 9.4", "Windows Server 2022", "Amazon Linux 2023")
STATUSES = (("ok", "#1a7f37"), ("warning", "#9a6700"), ("critical", "#cf222e"))
RULES = ("FIM-0012", "IPS-1009", "AM-0441", "WRS-0007", "LI-2210", "FW-0303")
JAPANESE = (
    "本レポートは、管理対象サーバーとワークロードのセキュリティ状況を週次でまとめたものです。"
    "重大度の高いイベントは、担当者による確認と対応をお願いします。"
)

CSS = """
@page { size: A4; margin: 18mm 14mm 18mm; font-family: "DejaVu Sans", sans-serif;
  @top-left { content: "Security summary - Example Corp"; font-size: 8pt; color: #57606a; }
  @top-right { content: "CONFIDENTIAL"; font-size: 8pt; color: #cf222e; }
  @bottom-center { content: "page " counter(page) " of " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", "Noto Sans CJK JP", sans-serif; font-size: 8pt;
  color: #1f2328; }
h1 { font-size: 18pt; margin: 0 0 4mm; } h2 { font-size: 13pt; margin: 8mm 0 3mm;
  border-bottom: 1px solid #d0d7de; break-after: avoid; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 4mm; }
.card { border: 1px solid #d0d7de; border-radius: 3mm; padding: 3mm; background: #f6f8fa; }
.card b { display: block; font-size: 16pt; }
table { width: 100%; border-collapse: collapse; }
thead { display: table-header-group; }
th { background: #24292f; color: white; text-align: left; padding: 1.2mm; }
td { padding: 0.3mm 1.2mm; line-height: 1.15; border-bottom: 0.3mm solid #d8dee4; }
tr { break-inside: avoid; } tr:nth-child(even) td { background: #f6f8fa; }
.badge { border-radius: 2mm; padding: 0 2mm; line-height: 1; color: white; font-size: 7.5pt; }
"""


def build_document(computers: int = 200, events: int = 500) -> str:
    """The benchmark document: inline CSS and SVG, Japanese text, two long tables."""
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    return "".join(
        [
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><style>{CSS}</style>",
            "</head><body><h1>Weekly security summary</h1>",
            f"<p lang='ja'>{JAPANESE}</p>",
            "<div class='cards'>",
            *(
                f"<div class='card'>{label}<b>{value}</b></div>"
                for label, value in (("Computers", computers), ("Events", events)) * 2
            ),
            "</div><h2>Events per day</h2>",
            chart(),
            "<h2>Computers</h2>",
            computer_table(computers, now),
            "<h2>Events</h2>",
            event_table(events, now),
            "</body></html>",
        ]
    )


def chart(days: int = 30) -> str:
    bars = []
    for day in range(days):
        height = 20 + (day * 37) % 110
        bars.append(
            f"<rect x='{20 + day * 20}' y='{150 - height}' width='14' height='{height}' "
            f"fill='#0969da'/><text x='{22 + day * 20}' y='165' font-size='7'>{day + 1}</text>"
        )
    line = " ".join(f"{27 + day * 20},{150 - (40 + (day * 13) % 60)}" for day in range(days))
    return (
        "<svg xmlns='http://www.w3.org/2000/svg' width='100%' viewBox='0 0 640 175'>"
        "<line x1='15' y1='150' x2='630' y2='150' stroke='#57606a'/>"
        f"{''.join(bars)}<polyline points='{line}' fill='none' stroke='#cf222e' "
        "stroke-width='2'/></svg>"
    )


def badge(index: int) -> str:
    status, colour = STATUSES[index % 7 % 3]
    return f"<span class='badge' style='background:{colour}'>{status}</span>"


def computer_table(rows: int, now: datetime) -> str:
    head = "".join(
        f"<th>{h}</th>" for h in ("Host", "OS", "Agent", "Policy", "Status", "Last seen")
    )
    body = "".join(
        f"<tr><td>web-{i:04d}.prod.example.com</td><td>{OS_NAMES[i % len(OS_NAMES)]}</td>"
        f"<td>20.0.{i % 13}.{1000 + i}</td><td>Base policy / {OS_NAMES[i % 3]} servers</td>"
        f"<td>{badge(i)}</td>"
        f"<td>{(now - timedelta(minutes=7 * i)):%Y-%m-%d %H:%M}</td></tr>"
        for i in range(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def event_table(rows: int, now: datetime) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("Time", "Host", "Severity", "Rule", "Detail"))
    body = "".join(
        f"<tr><td>{(now - timedelta(minutes=3 * i)):%m-%d %H:%M}</td>"
        f"<td>web-{(i * 7) % 200:04d}</td><td>{badge(i)}</td><td>{RULES[i % len(RULES)]}</td>"
        f"<td>{'不正なログイン試行を検出' if i % 5 == 0 else 'Blocked outbound connection'}"
        "</td></tr>"
        for i in range(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- measuring ---------------------------------------------------------------------------------


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(
                int(entry.name)
            )
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def all_cpu_seconds() -> float:
    """CPU of this benchmark: Python, Playwright's node driver, every browser it started."""
    return tree_cpu_seconds(os.getpid())


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process tree, including children it has reaped."""
    ticks = 0
    for pid in descendants(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def tree_rss_mb(root: int) -> float:
    total = 0
    for pid in descendants(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Timings:
    """Wall milliseconds of each run, and the browser tree's CPU seconds over all of them."""

    def __init__(self) -> None:
        self.wall_ms: list[float] = []
        self.cpu_s = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def cpu_per_run(self) -> float:
        return self.cpu_s / len(self.wall_ms)

    def time(self, action: Callable[[], object]) -> None:
        started = time.perf_counter()
        action()
        self.wall_ms.append((time.perf_counter() - started) * 1000)


async def bare_floor(chromium: str, html: str, runs: int) -> Timings:
    """(a) The same browser flags, one page reused, nothing else."""
    timings = Timings()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=list(CHROMIUM_FLAGS)
        )
        page = await (await browser.new_context(java_script_enabled=False)).new_page()
        await print_pdf(page, html)  # warm-up
        cpu_before = all_cpu_seconds()
        for _ in range(runs):
            started = time.perf_counter()
            await print_pdf(page, html)
            timings.wall_ms.append((time.perf_counter() - started) * 1000)
        timings.cpu_s = all_cpu_seconds() - cpu_before
        await browser.close()
    return timings


async def print_pdf(page: Page, html: str) -> bytes:
    await page.set_content(html, wait_until="load")
    return await page.pdf(**pdf_options())  # as PdfRenderer prints: tagged, with bookmarks


async def launch_per_report(chromium: str, html: str, runs: int) -> Timings:
    """(c) Launch, render, close for every report."""
    timings = Timings()
    cpu_before = all_cpu_seconds()
    async with async_playwright() as playwright:
        for _ in range(runs):
            started = time.perf_counter()
            browser = await playwright.chromium.launch(
                executable_path=chromium, args=list(CHROMIUM_FLAGS)
            )
            page = await browser.new_page(java_script_enabled=False)
            await print_pdf(page, html)
            await browser.close()
            timings.wall_ms.append((time.perf_counter() - started) * 1000)
    timings.cpu_s = all_cpu_seconds() - cpu_before
    return timings


def ours_sequential(renderer: PdfRenderer, html: str, runs: int) -> Timings:
    """(b) Our renderer, one render at a time, after a warm-up render."""
    timings = Timings()
    renderer.render(html)
    cpu_before = all_cpu_seconds()
    for _ in range(runs):
        timings.time(lambda: renderer.render(html))
    timings.cpu_s = all_cpu_seconds() - cpu_before
    return timings


def throughput(renderer: PdfRenderer, html: str, docs: int, threads: int) -> tuple[float, float]:
    """(d) PDFs per second with ``threads`` callers sharing one renderer, and CPU-s per PDF."""
    started, cpu_before = time.perf_counter(), all_cpu_seconds()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for pdf in pool.map(lambda _: renderer.render(html), range(docs)):
            assert pdf.startswith(b"%PDF-")
    return docs / (time.perf_counter() - started), (all_cpu_seconds() - cpu_before) / docs


def memory_growth(renderer: PdfRenderer, html: str, renders: int) -> Iterator[str]:
    """(e) PSS and RSS of the browser tree before and after ``renders`` more renders."""
    before = renderer.stats

    def sample(label: str) -> str:
        pid = renderer.browser_pids()[0]
        return (
            f"  {label:<24} PSS {renderer.memory_mb():7.1f} MiB   RSS {tree_rss_mb(pid):7.1f} MiB"
        )

    yield sample("before")
    for done in range(1, renders + 1):
        renderer.render(html)
        if done == renders // 2:
            yield sample(f"after {done} renders")
    yield sample(f"after {renders} renders")
    after = renderer.stats
    yield (
        f"  over those renders: {after.context_recycles - before.context_recycles} context "
        f"recycles, {after.restarts - before.restarts} browser restarts "
        f"(recycle every {renderer.context_recycle_after}, restart every "
        f"{renderer.browser_restart_after} or above {renderer.memory_budget_mb} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs: a smoke test")
    parser.add_argument("--runs", type=int, help="sequential renders per case (default 10)")
    parser.add_argument("--launch-runs", type=int, help="runs of (c) (default 5)")
    parser.add_argument("--docs", type=int, help="PDFs for the throughput run (default 24)")
    parser.add_argument("--threads", type=int, default=2, help="callers for (d)")
    parser.add_argument("--memory-renders", type=int, help="renders for (e) (default 120)")
    parser.add_argument("--chromium", default="", help="Chromium path (default: found)")
    args = parser.parse_args()
    quick = args.quick
    runs = args.runs or (3 if quick else 10)
    launch_runs = args.launch_runs or (2 if quick else 5)
    docs = args.docs or (6 if quick else 24)
    memory_renders = args.memory_renders or (12 if quick else 120)

    chromium = find_chromium(args.chromium)
    html = build_document()
    with PdfRenderer(chromium_path=chromium, slots=2) as renderer:
        pdf = renderer.render(html)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(
            f"document: {len(html) / 1024:.0f} KiB of HTML, {pages} A4 pages, "
            f"{len(pdf) / 1024:.0f} KiB of PDF; {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.2f}; Chromium {chromium}"
        )
        floor = asyncio.run(bare_floor(chromium, html, runs))
        ours = ours_sequential(renderer, html, runs)
        baseline = asyncio.run(launch_per_report(chromium, html, launch_runs))
        rate, rate_cpu = throughput(renderer, html, docs, args.threads)

        print("\nCPU-s/PDF: user+system of Python, the node driver and Chromium, per PDF")
        print(f"{'case':<46}{'median ms':>10}{'CPU-s/PDF':>11}{'vs (a)':>8}")
        for label, timing in (
            (f"(a) bare page.pdf, reused page, n={runs}", floor),
            (f"(b) PdfRenderer.render, sequential, n={runs}", ours),
            (f"(c) browser launched per report, n={launch_runs}", baseline),
        ):
            cpu = f"{timing.cpu_per_run:11.2f}" if timing.cpu_s else f"{'-':>11}"
            print(f"{label:<46}{timing.median:10.0f}{cpu}{timing.median / floor.median:7.2f}x")
        print(
            f"(d) throughput, {args.threads} threads, {docs} PDFs: {rate:.2f} PDF/s "
            f"(= {1000 / rate:.0f} ms per PDF), {rate_cpu:.2f} CPU-s/PDF; "
            f"{os.cpu_count()} CPUs / that = {(os.cpu_count() or 1) / rate_cpu:.2f} PDF/s "
            "if the machine were ours alone"
        )
        print(f"(e) browser tree memory over {memory_renders} renders")
        for line in memory_growth(renderer, html, memory_renders):
            print(line)
        stats = renderer.stats
        print(f"\nrenderer stats: {stats}")
    print(f"threads left: {threading.active_count()}")


if __name__ == "__main__":
    main()
