"""Render benchmark: a 14-page report of a 200-computer, 500-event scope, stage by stage.

Everything goes through the service's own functions on a generated dataset (SQLite by
default, ``--url`` for PostgreSQL); the figures are printed, nothing is asserted:

1. stages, one report at a time (medians): query (``build_report``), template (report HTML
   and footer), PDF (``PdfRenderer.render``), compaction (``compact_pdf``, once per
   document) and encryption (``encrypt_pdf``, AES-256, per protected contact) of the
   compacted PDF, as the pipeline does;
2. our render against a bare Playwright ``page.pdf`` on the same HTML, same launch flags and
   PDF options (``pdf_options``: tagged, with bookmarks), one reused page, and against bare
   plus the ``about:blank`` reset ours does; for scale, bare untagged without bookmarks (what
   tagging costs Chromium); they take turns so load from elsewhere hits each alike; wall
   time and the browser tree's CPU per PDF (target: ours within 1.1x of bare);
3. PDFs per second, 2 threads through one ``PdfRenderer`` with 2 render slots (target: 1.8
   for a 14-page report; the document is ``ops.bench.document``'s Firewall report, the
   Summary being an overview now; the Summary and the Computer report are measured too, for
   scale), against a fresh ``PdfRenderer`` (a browser) per report;
4. a contact mix (clearances x languages, half password-protected) done three ways, 2
   threads each: ours (documents shared by inputs, PDFs by HTML hash, encryption per
   contact), per contact without sharing, and per contact with a browser per report;
5. the browser tree's memory (PSS) before, during and after N renders (flat: the peak of
   the last quarter of the renders within 10 % of the first quarter's).

    python -m ops.bench.render                  # default sizes (a few minutes)
    python -m ops.bench.render --quick          # a smoke test of the whole script
    python -m ops.bench.render --renders 1000   # the full memory check
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from playwright.async_api import Browser, Page, Playwright, async_playwright
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from ops.bench.document import REPORT_TYPE, bench_dataset
from service.delivery.compaction import compact_pdf
from service.delivery.encryption import encrypt_pdf
from service.delivery.pdf import CHROMIUM_FLAGS, PdfRenderer, find_chromium, pdf_options
from service.delivery.render_cache import RenderCache, SharedCache, content_key
from service.directory.accounts import create_account, find_role
from service.directory.clearance import scope_for
from service.directory.importing import import_dataset, parse_dataset
from service.directory.secretbox import SecretBox
from service.reports.builder import ReportRequest, build_report
from service.reports.model import ReportData, ReportType
from service.reports.rendering import render_footer_html, render_report_html
from service.reports.spec import ReportSpec
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.records import load_role
from storage.scoped import Scope

#: Clearances of the contact mix: every computer, and the web servers (100 computers).
CLEARANCES = ("Full Access", "Web Team")
LANGUAGES = (("en-US", "America/New_York"), ("ja-JP", "Asia/Tokyo"), ("de-DE", "Europe/Berlin"))
PASSWORD = "bench-password-2026"
SECRET = "render-bench-secret"
#: Targets of issue 4.
TARGET_PDFS_PER_SECOND = 1.8
TARGET_VS_BARE = 1.1
#: "Memory flat": the last quarter's peak PSS within this share of the first quarter's.
FLAT_TOLERANCE = 0.10

V = TypeVar("V")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# -- the data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    sessions: sessionmaker[Session]
    account_name: str
    scopes: dict[str, Scope]
    request: ReportRequest


def make_world(url: str, now: datetime) -> World:
    """A migrated database with the sample account at the issue's size."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    dataset = bench_dataset(now)
    name = f"Render bench {now:%Y%m%d%H%M%S}"
    with transaction(sessions) as session:
        account = create_account(session, name=name)
        import_dataset(
            session,
            account_id=account.id,
            dataset=parse_dataset(json.dumps(dataset)),
            box=SecretBox(SECRET),
        )
        scopes = {
            clearance: scope_for(
                load_role(session, account.id, find_role(session, account.id, clearance).id),
                account.id,
            )
            for clearance in CLEARANCES
        }
    request = ReportRequest(
        spec=ReportSpec(kind=REPORT_TYPE),
        period_start=now - timedelta(days=7),
        period_end=now,
        generated_at=now,
    )
    return World(sessions=sessions, account_name=name, scopes=scopes, request=request)


def build(
    world: World, clearance: str, locale: str, zone: str, report_type: str = REPORT_TYPE.value
) -> ReportData:
    request = world.request
    if report_type != request.report_type.value:
        request = replace(request, spec=ReportSpec(kind=ReportType(report_type)))
    with world.sessions() as session:
        return build_report(
            session,
            scope=world.scopes[clearance],
            request=request,
            account_name=world.account_name,
            locale=locale,
            time_zone=zone,
        )


# -- 1. stages ---------------------------------------------------------------------------------


def stages(world: World, renderer: PdfRenderer, runs: int) -> dict[str, list[float]]:
    """Seconds of each stage per report, one report at a time, after one warm-up report."""
    times: dict[str, list[float]] = {
        "query": [],
        "template": [],
        "PDF": [],
        "compaction": [],
        "encryption": [],
    }
    for run in range(runs + 1):
        started = time.perf_counter()
        data = build(world, "Full Access", "en-US", "America/New_York")
        queried = time.perf_counter()
        html, footer = render_report_html(data), render_footer_html(data)
        templated = time.perf_counter()
        pdf = renderer.render(html, footer)
        printed = time.perf_counter()
        compact = compact_pdf(pdf)
        compacted = time.perf_counter()
        encrypt_pdf(compact, PASSWORD)
        encrypted = time.perf_counter()
        if run:
            times["query"].append(queried - started)
            times["template"].append(templated - queried)
            times["PDF"].append(printed - templated)
            times["compaction"].append(compacted - printed)
            times["encryption"].append(encrypted - compacted)
    return times


# -- 2. bare page.pdf --------------------------------------------------------------------------


class BarePage:
    """Playwright alone: one browser, one page reused, ``set_content`` then ``page.pdf``."""

    def __init__(self, chromium: str) -> None:
        self.chromium = chromium
        self.marker = f"--render-bench={secrets.token_hex(6)}"
        self.loop = asyncio.new_event_loop()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._page: Page | None = None

    def start(self) -> None:
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=self.chromium, args=[*CHROMIUM_FLAGS, self.marker]
        )
        context = await self._browser.new_context(java_script_enabled=False)
        self._page = await context.new_page()

    def render(self, html: str, footer: str, *, reset: bool = False, tagged: bool = True) -> bytes:
        return self.loop.run_until_complete(self._render(html, footer, reset, tagged))

    def browser_pid(self) -> int:
        return browser_pid(self.marker)

    async def _render(self, html: str, footer: str, reset: bool, tagged: bool) -> bytes:
        assert self._page is not None
        if reset:  # what PdfRenderer does before each document
            await self._page.goto("about:blank")
        await self._page.set_content(html, wait_until="load")
        # The options PdfRenderer uses for a document with a footer template; untagged only
        # for scale (before 2026-12-04 the floor was untagged while ours was tagged: 1.51x).
        options = pdf_options(footer)
        if not tagged:
            options["outline"] = options["tagged"] = False
        return await self._page.pdf(**options)

    def close(self) -> None:
        async def stop() -> None:
            if self._browser is not None:
                await self._browser.close()
            if self._playwright is not None:
                await self._playwright.stop()

        self.loop.run_until_complete(stop())
        self.loop.close()


@dataclass
class Case:
    """Wall seconds of each render, and the CPU seconds of its browser's process tree."""

    label: str
    render: Callable[[], bytes]
    browser: Callable[[], int]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self) -> None:
        root = self.browser()
        cpu = tree_cpu_seconds(root)
        self.wall.append(timed(self.render))
        self.cpu.append(tree_cpu_seconds(root) - cpu)


def against_bare(
    chromium: str, renderer: PdfRenderer, html: str, footer: str, runs: int
) -> list[Case]:
    """Bare page.pdf, bare with ours's about:blank reset, ours, and for scale bare untagged,
    in rotation on the same HTML (so load from elsewhere hits each alike), after a warm-up of
    each."""
    bare = BarePage(chromium)
    bare.start()
    try:
        cases = [
            Case(
                "bare Playwright page.pdf, reused page",
                lambda: bare.render(html, footer),
                bare.browser_pid,
            ),
            Case(
                "bare + goto('about:blank') first",
                lambda: bare.render(html, footer, reset=True),
                bare.browser_pid,
            ),
            Case(
                "PdfRenderer.render",
                lambda: renderer.render(html, footer),
                lambda: renderer.browser_pids()[0],
            ),
            Case(
                "for scale: bare untagged, no outline",
                lambda: bare.render(html, footer, tagged=False),
                bare.browser_pid,
            ),
        ]
        for case in cases:
            case.render()
        for run in range(runs):
            turn = run % len(cases)
            for case in cases[turn:] + cases[:turn]:
                case.run()
        return cases
    finally:
        bare.close()


def browser_pid(marker: str) -> int:
    """The browser process launched with ``marker`` (its children lack it)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in argv and not any(a.startswith(b"--type=") for a in argv):
                return int(entry.name)
    raise RuntimeError("browser process not found")


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process tree, with the children it has reaped."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            stats[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])) / CLOCK_TICKS)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return total


# -- 3. throughput -----------------------------------------------------------------------------


def pdfs_per_second(render: Callable[[], bytes], documents: int, threads: int = 2) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for pdf in pool.map(lambda _: render(), range(documents)):
            assert pdf.startswith(b"%PDF-")
    return documents / (time.perf_counter() - started)


def browser_per_report(chromium: str) -> Callable[[str, str | None], bytes]:
    """The naive renderer: a fresh PdfRenderer (a browser launch) per report, closed after."""

    def render(html: str, footer: str | None = None) -> bytes:
        with PdfRenderer(chromium_path=chromium, slots=1) as fresh:
            return fresh.render(html, footer)

    return render


# -- 4. contact mix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    clearance: str
    locale: str
    zone: str
    password: str | None


def contact_mix(count: int) -> list[Contact]:
    """Clearances x languages, round robin; every other contact password-protected."""
    combos = [(c, locale, zone) for c in CLEARANCES for locale, zone in LANGUAGES]
    return [
        Contact(*combos[i % len(combos)], password=PASSWORD if i % 2 else None)
        for i in range(count)
    ]


class NeverShared(SharedCache[V]):
    """A cache that always computes: every contact gets its own build and render."""

    def __init__(self) -> None:
        SharedCache.__init__(self, 0)

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            self.misses += 1
        return compute()


class NeverSharedPdfs(NeverShared[bytes], RenderCache):
    """The PDF cache of the per-contact baseline."""


@dataclass
class MixResult:
    contacts_per_second: float
    documents_built: int
    renders: int


def deliver_mix(
    world: World,
    contacts: list[Contact],
    render: Callable[[str, str | None], bytes],
    *,
    share: bool,
    threads: int = 2,
) -> MixResult:
    """Build, render, compact and encrypt each contact's PDF (a delivery short of mail)."""
    documents: SharedCache[tuple[str, str, str]] = SharedCache(64) if share else NeverShared()
    pdfs: RenderCache = RenderCache() if share else NeverSharedPdfs()

    def one(contact: Contact) -> bytes:
        def make() -> tuple[str, str, str]:
            data = build(world, contact.clearance, contact.locale, contact.zone)
            html, footer = render_report_html(data), render_footer_html(data)
            return html, footer, content_key(html, footer)

        html, footer, key = documents.get_or_compute(
            (contact.clearance, contact.locale, contact.zone), make
        )
        # Compacted once per document, as the pipeline does; encrypted per contact.
        pdf = pdfs.get_or_render(key, lambda: compact_pdf(render(html, footer)))
        return encrypt_pdf(pdf, contact.password) if contact.password else pdf

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for pdf in pool.map(one, contacts):
            assert pdf.startswith(b"%PDF-")
    elapsed = time.perf_counter() - started
    return MixResult(len(contacts) / elapsed, documents.misses, pdfs.misses)


# -- 5. memory ---------------------------------------------------------------------------------


def memory_over(
    renderer: PdfRenderer, html: str, footer: str, renders: int
) -> list[tuple[int, float]]:
    """(renders done, browser tree PSS MiB) at the start and after every ~25 renders.

    Not at multiples of the restart count only: those would all fall just after a restart.
    """
    samples = max(8, renders // 25)
    points = [(0, renderer.memory_mb())]
    done = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for chunk in range(samples):
            size = renders * (chunk + 1) // samples - done
            list(pool.map(lambda _: renderer.render(html, footer), range(size)))
            done += size
            points.append((done, renderer.memory_mb()))
    return points


# -- the report --------------------------------------------------------------------------------


def main() -> None:  # noqa: C901 - one printed section after another
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs: a smoke test")
    parser.add_argument("--url", default="", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--runs", type=int, help="reports per stage and bare comparison (10)")
    parser.add_argument("--docs", type=int, help="PDFs of the throughput run (30)")
    parser.add_argument("--launch-docs", type=int, help="PDFs with a browser per report (8)")
    parser.add_argument("--contacts", type=int, help="contacts of the mix (24)")
    parser.add_argument("--renders", type=int, help="renders of the memory check (200)")
    parser.add_argument("--chromium", default="", help="Chromium path (default: found)")
    args = parser.parse_args()
    quick = args.quick
    runs = args.runs or (3 if quick else 10)
    docs = args.docs or (6 if quick else 30)
    launch_docs = args.launch_docs or (2 if quick else 8)
    contacts = contact_mix(args.contacts or (6 if quick else 24))
    renders = args.renders or (20 if quick else 200)
    chromium = find_chromium(args.chromium)
    now = datetime.now(UTC).replace(microsecond=0)

    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        started = time.perf_counter()
        world = make_world(url, now)
        print(f"dataset loaded in {time.perf_counter() - started:.1f} s into {url.split('@')[-1]}")
        data = build(world, "Full Access", "en-US", "America/New_York")
        html, footer = render_report_html(data), render_footer_html(data)

        with PdfRenderer(chromium_path=chromium, slots=2) as renderer:
            pdf = renderer.render(html, footer)
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
            print(
                f"{REPORT_TYPE.value} report, Full Access, en-US: {len(data.computers)} computers, "
                f"{len(data.events)} events, {len(data.alerts)} alerts, "
                f"{len(data.system_events)} system events -> {len(html) / 1024:.0f} KiB HTML, "
                f"{pages} A4 pages, {len(pdf) / 1024:.0f} KiB PDF"
            )
            print(f"machine: {os.cpu_count()} CPUs, Chromium {chromium}, {load()}\n")

            print(f"1. stages, one report at a time, median of {runs} ({load()} before)")
            times = stages(world, renderer, runs)
            total = sum(statistics.median(t) for t in times.values())
            for stage, seconds in times.items():
                share = statistics.median(seconds) / total
                print(f"   {stage:<11}{median_ms(seconds):8.1f} ms  {share:6.1%}")
            print(f"   {'total':<11}{total * 1000:8.1f} ms   ({load()} after)\n")

            cases = against_bare(chromium, renderer, html, footer, runs)
            floor, ours = cases[0], cases[2]
            print(f"2. same HTML, one at a time, in rotation, median of {runs}")
            print(f"   {'':<40}{'wall ms':>8}{'browser CPU-s':>15}{'wall vs bare':>14}")
            for case in cases:
                print(
                    f"   {case.label:<40}{median_ms(case.wall):8.0f}"
                    f"{statistics.median(case.cpu):15.3f}"
                    f"{statistics.median(case.wall) / statistics.median(floor.wall):13.2f}x"
                )
            ratio = statistics.median(ours.wall) / statistics.median(floor.wall)
            verdict = "met" if ratio <= TARGET_VS_BARE else "MISSED"
            print(f"   ratio {ratio:.2f}x (target <= {TARGET_VS_BARE}x: {verdict}), {load()}\n")

            ours_rate = pdfs_per_second(lambda: renderer.render(html, footer), docs)
            ours_load = load()
            # For scale: the Summary (an overview: tiles, charts, top-10 tables) and the
            # Computer report (every computer of the scope).
            scale = []
            for other in ("summary", "computer"):
                other_data = build(world, "Full Access", "en-US", "America/New_York", other)
                other_html = render_report_html(other_data)
                other_footer = render_footer_html(other_data)
                other_pdf = renderer.render(other_html, other_footer)
                other_pages = len(PdfReader(io.BytesIO(other_pdf)).pages)
                other_rate = pdfs_per_second(
                    lambda h=other_html, f=other_footer: renderer.render(h, f), docs
                )
                scale.append((other, other_pages, len(other_html), other_rate, load()))
            launch = browser_per_report(chromium)
            launch_rate = pdfs_per_second(lambda: launch(html, footer), launch_docs)
            verdict = "met" if ours_rate >= TARGET_PDFS_PER_SECOND else "MISSED"
            print(f"3. PDFs per second, 2 threads, one worker process ({pages}-page report)")
            print(
                f"   one PdfRenderer, render_slots=2, {docs} PDFs   {ours_rate:5.2f} PDF/s "
                f"(target >= {TARGET_PDFS_PER_SECOND}: {verdict}), {ours_load}"
            )
            print(
                f"   a browser per report, {launch_docs} PDFs        {launch_rate:5.2f} PDF/s, "
                f"{load()}"
            )
            print(f"   ratio ours / browser per report: {ours_rate / launch_rate:.2f}x")
            for other, other_pages, other_size, other_rate, other_load in scale:
                print(
                    f"   for scale, the {other} report of the same scope ({other_pages} pages, "
                    f"{other_size / 1024:.0f} KiB HTML), same renderer: {other_rate:5.2f} PDF/s, "
                    f"{other_load}"
                )
            print()

            per_report = browser_per_report(chromium)
            sample = contacts[: max(2, min(len(contacts), launch_docs))]
            shared = deliver_mix(world, contacts, renderer.render, share=True)
            shared_load = load()
            alone = deliver_mix(world, contacts, renderer.render, share=False)
            alone_load = load()
            naive = deliver_mix(world, sample, per_report, share=False)
            print(
                f"4. contact mix: {len(contacts)} contacts, {len(CLEARANCES)} clearances x "
                f"{len(LANGUAGES)} languages, half encrypted; 2 threads"
            )
            rows = (
                ("ours: shared, one browser", shared, len(contacts), shared_load),
                ("per contact, one browser", alone, len(contacts), alone_load),
                ("per contact, browser per report", naive, len(sample), load()),
            )
            for label, result, n, measured_load in rows:
                print(
                    f"   {label:<33} n={n:<4} {result.contacts_per_second:6.2f} contacts/s  "
                    f"builds {result.documents_built:<3} renders {result.renders:<3} "
                    f"{measured_load}"
                )
            shared_rate, alone_rate = shared.contacts_per_second, alone.contacts_per_second
            naive_rate = naive.contacts_per_second
            print(
                f"   ratios: ours / per contact {shared_rate / alone_rate:.2f}x, ours / browser "
                f"per report {shared_rate / naive_rate:.2f}x, per contact / browser per report "
                f"{alone_rate / naive_rate:.2f}x\n"
            )

            before = renderer.stats
            points = memory_over(renderer, html, footer, renders)
            after = renderer.stats
            print(f"5. browser tree memory (PSS) over {renders} renders, 2 threads")
            print("   " + ", ".join(f"{n}: {mb:.0f} MiB" for n, mb in points))
            peak = max(mb for _, mb in points)
            quarters = [
                max(mb for n, mb in points[1:] if renders * q / 4 < n <= renders * (q + 1) / 4)
                for q in range(4)
            ]
            flat = quarters[-1] <= quarters[0] * (1 + FLAT_TOLERANCE)
            print(
                "   peak per quarter of the renders: "
                + ", ".join(f"{mb:.0f}" for mb in quarters)
                + f" MiB: {'flat' if flat else 'GROWING'} (last quarter within "
                f"{FLAT_TOLERANCE:.0%} of the first)"
            )
            print(
                f"   before {points[0][1]:.0f} MiB, after {points[-1][1]:.0f} MiB, "
                f"peak {peak:.0f} MiB; {after.context_recycles - before.context_recycles} "
                f"context recycles, {after.restarts - before.restarts} browser restarts "
                f"(recycle every {renderer.context_recycle_after}, restart every "
                f"{renderer.browser_restart_after} or above {renderer.memory_budget_mb} MiB), "
                f"{load()}"
            )
            print(f"\nrenderer stats: {renderer.stats}")
    print(f"threads left: {threading.active_count()}")


if __name__ == "__main__":
    main()
