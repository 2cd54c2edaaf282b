"""The Chromium renderer: HTML in, PDF bytes out, one browser per worker process.

Why it is built this way (figures from ``ops/bench/pdf.py``, in ``docs/BENCHMARKS.md``):

- Chromium's renderer process does ~90 % of the work, and a fresh page per PDF doubles it, so
  pages are reused: one per render slot, reset with ``about:blank`` before each document.
- Playwright objects are not thread-safe and dramatiq actors are threads: one asyncio loop in a
  daemon thread owns Playwright and the browser; :meth:`PdfRenderer.render` hands it a
  coroutine and waits. ``render_slots`` bounds renders in flight (one keeps >1 core busy).
- A long-lived page and browser grow: the context (and its pages) is recycled every
  ``context_recycle_after`` renders, the browser restarted every ``browser_restart_after``
  renders or when its process tree's memory (PSS from /proc) passes the budget.
- A crashed or hung browser is relaunched and the render retried once; a document that is
  merely too slow for ``render_timeout`` fails without a retry. Both raise ``RenderFailed``.
- The HTML is treated as hostile: JavaScript is off, every request except ``data:`` is aborted,
  host resolution is disabled (preconnects bypass request interception), and an
  ``about:blank`` origin cannot read ``file://``.

Page X of Y: templates write it in their own CSS, ``@page { @bottom-center { content: "page "
counter(page) " of " counter(pages) } }``; Chromium renders these margin boxes itself, in the
document's fonts and language, with ``display_header_footer`` off. ``render(html,
footer_html=...)`` is the fallback: Chromium's footer template, where ``<span
class="pageNumber">`` and ``<span class="totalPages">`` are filled in. That template is a
separate document without the page's CSS (style it inline, set a font-size) and it is drawn
in the page's bottom margin, which the document's ``@page`` rule must leave free.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypedDict, TypeVar

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from service.config import DEFAULT_RENDER_SLOTS, Settings
from service.errors import BrowserBroken, RenderFailed
from service.runtime import proctree

__all__ = [
    "CHROMIUM_CANDIDATES",
    "PdfOptions",
    "PdfRenderer",
    "RenderStats",
    "find_chromium",
    "pdf_options",
]

T = TypeVar("T")

#: Chromium executables tried in order when none is configured.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
#: We run as root on a closed network; anything that phones home or needs a GPU is off.
#: ``MAP * ~NOTFOUND`` also stops preconnects and prefetches that request routing never sees.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
#: Seconds one render may take, from a free slot to the PDF bytes.
DEFAULT_RENDER_TIMEOUT = 60.0
#: Renders on one context before it and its pages are replaced.
DEFAULT_CONTEXT_RECYCLE_AFTER = 50
#: Renders on one browser before it is restarted.
DEFAULT_BROWSER_RESTART_AFTER = 100
#: Browser process tree PSS (MiB) above which it is restarted; 0 disables the check.
DEFAULT_BROWSER_MEMORY_BUDGET_MB = 1536
#: Measure the browser's memory after the first and then every this many renders on it:
#: reading smaps_rollup of the tree takes ~30 ms of CPU, and the growth is slow.
MEMORY_CHECK_EVERY = 10
#: Seconds allowed for launching the browser.
LAUNCH_TIMEOUT = 30.0
#: Seconds allowed for closing a page, context or browser.
HOUSEKEEPING_TIMEOUT = 5.0
#: Seconds a healthy browser needs to answer a protocol round trip, with a wide margin.
PROBE_TIMEOUT = 2.0


@dataclass
class RenderStats:
    """Counters of one renderer; :attr:`PdfRenderer.stats` returns a copy."""

    renders: int = 0
    failures: int = 0
    retries: int = 0
    launches: int = 0
    #: Browsers replaced after the first launch: planned, over budget, crashed or hung.
    restarts: int = 0
    context_recycles: int = 0
    #: Requests the documents tried to make and the renderer aborted (everything but data:).
    blocked_requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    #: PSS of the browser process tree at the latest check, in MiB.
    browser_memory_mb: float = 0.0


class PdfOptions(TypedDict):
    """The keyword arguments of Playwright's ``page.pdf`` that every report is printed with."""

    format: str
    print_background: bool
    prefer_css_page_size: bool
    display_header_footer: bool
    header_template: str
    footer_template: str
    outline: bool
    tagged: bool


def pdf_options(footer_html: str | None = None) -> PdfOptions:
    """How a report is printed, in one place: the renderer and the benchmarks' bare
    ``page.pdf`` (the floor it is measured against) must print alike.

    ``outline`` and ``tagged`` (bookmarks from the headings and a structure tree for screen
    readers, issue 14) cost Chromium about half as much again as the same page untagged.
    """
    return PdfOptions(
        format="A4",
        print_background=True,
        prefer_css_page_size=True,
        display_header_footer=footer_html is not None,
        header_template="<span></span>",
        footer_template=footer_html or "<span></span>",
        outline=True,
        tagged=True,
    )


def find_chromium(configured: str = "") -> str:
    """Return the configured Chromium, or the first of :data:`CHROMIUM_CANDIDATES` present."""
    if configured:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"configured Chromium {configured!r} does not exist")
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise FileNotFoundError(
        f"no Chromium found (tried {', '.join(CHROMIUM_CANDIDATES)}); install Debian's "
        "chromium package or set REPORTD_CHROMIUM_PATH"
    )


class PdfRenderer:
    """Prints HTML to A4 PDF with one lazily launched Chromium; safe to call from threads."""

    def __init__(
        self,
        *,
        chromium_path: str = "",
        timeout: float = DEFAULT_RENDER_TIMEOUT,
        slots: int = DEFAULT_RENDER_SLOTS,
        context_recycle_after: int = DEFAULT_CONTEXT_RECYCLE_AFTER,
        browser_restart_after: int = DEFAULT_BROWSER_RESTART_AFTER,
        memory_budget_mb: int = DEFAULT_BROWSER_MEMORY_BUDGET_MB,
    ) -> None:
        if timeout <= 0 or slots < 1 or context_recycle_after < 1 or browser_restart_after < 1:
            raise ValueError("timeout, slots and the recycle/restart counts must be positive")
        self.chromium_path = find_chromium(chromium_path)
        self.timeout = timeout
        self.slots = slots
        self.context_recycle_after = context_recycle_after
        self.browser_restart_after = browser_restart_after
        self.memory_budget_mb = memory_budget_mb
        self._stats = RenderStats()
        self._stats_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        # Everything below belongs to the loop thread.
        self._slot_changed = asyncio.Condition()
        self._launch_lock = asyncio.Lock()
        self._maintaining = False
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._browser_pid: int | None = None
        self._marker = ""
        self._context: BrowserContext | None = None
        self._free_pages: list[Page] = []
        self._renders_on_browser = 0
        self._renders_on_context = 0
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            chromium_path=settings.chromium_path,
            timeout=settings.render_timeout,
            slots=settings.render_slots,
            context_recycle_after=settings.context_recycle_after,
            browser_restart_after=settings.browser_restart_after,
            memory_budget_mb=settings.browser_memory_budget_mb,
        )

    # -- the public, thread-safe side ---------------------------------------------------------

    def render(self, html: str, footer_html: str | None = None) -> bytes:
        """Print ``html`` to PDF; raises ``RenderFailed`` on a crash, hang or timeout."""
        return self._call(self._render(html, footer_html))

    @property
    def stats(self) -> RenderStats:
        with self._stats_lock:
            return replace(self._stats)

    def browser_pids(self) -> list[int]:
        """PIDs of the browser process and its descendants; empty before the first launch."""
        pid = self._browser_pid
        return [] if pid is None else _process_tree(pid)

    def memory_mb(self) -> float:
        """PSS of the browser process tree now, in MiB; 0 before the first launch."""
        pid = self._browser_pid
        return 0.0 if pid is None else _tree_memory_mb(pid)

    def close(self) -> None:
        """Close the browser and stop the loop thread; idempotent."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(
                timeout=3 * HOUSEKEEPING_TIMEOUT
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=HOUSEKEEPING_TIMEOUT)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        try:
            while True:
                # Short waits let dramatiq's time limit (an async exception) interrupt us.
                try:
                    return future.result(timeout=1.0)
                except concurrent.futures.TimeoutError:
                    continue
        except BaseException:
            future.cancel()
            raise

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._closed:
                raise RuntimeError("PdfRenderer is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_run_forever, args=(loop,), name="pdf-renderer", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self._stats, name, getattr(self._stats, name) + value)

    # -- the loop thread ----------------------------------------------------------------------

    async def _render(self, html: str, footer_html: str | None) -> bytes:
        await self._enter_slot()
        try:
            try:
                pdf = await self._attempt(html, footer_html)
            except BrowserBroken:
                self._count(retries=1)
                pdf = await self._attempt(html, footer_html)
        except BrowserBroken as exc:
            self._count(failures=1)
            raise RenderFailed(f"Chromium failed twice: {exc}") from exc
        except BaseException:
            self._count(failures=1)
            raise
        finally:
            await self._leave_slot()
        self._renders_on_browser += 1
        self._renders_on_context += 1
        self._count(renders=1)
        if self.memory_budget_mb > 0 and self._renders_on_browser % MEMORY_CHECK_EVERY == 1:
            self._in_background(self._measure_memory())
        return pdf

    async def _enter_slot(self) -> None:
        async with self._slot_changed:
            await self._slot_changed.wait_for(
                lambda: not self._maintaining and self._stats.in_flight < self.slots
            )
            if self._maintenance_due():
                # Recycling needs every page back: stop new renders, drain, then recycle.
                self._maintaining = True
                try:
                    await self._slot_changed.wait_for(lambda: self._stats.in_flight == 0)
                    await self._maintain()
                finally:
                    self._maintaining = False
                    self._slot_changed.notify_all()
            with self._stats_lock:
                self._stats.in_flight += 1
                self._stats.peak_in_flight = max(self._stats.peak_in_flight, self._stats.in_flight)

    async def _leave_slot(self) -> None:
        async with self._slot_changed:
            self._count(in_flight=-1)
            self._slot_changed.notify_all()

    def _maintenance_due(self) -> bool:
        return self._browser_due() or self._renders_on_context >= self.context_recycle_after

    def _browser_due(self) -> bool:
        over_budget = 0 < self.memory_budget_mb < self._stats.browser_memory_mb
        return over_budget or self._renders_on_browser >= self.browser_restart_after

    async def _maintain(self) -> None:
        if self._browser_due():
            await self._discard_browser()
        else:
            await self._discard_context()
            self._count(context_recycles=1)

    async def _attempt(self, html: str, footer_html: str | None) -> bytes:
        browser = await self._ready_browser()
        taken: list[Page] = []  # the page, once _print has one: its state is ours to judge
        try:
            pdf = await asyncio.wait_for(self._print(taken, html, footer_html), self.timeout)
        except TimeoutError:
            self._close_later(taken)
            if await self._responsive(browser):
                raise RenderFailed(f"rendering took longer than {self.timeout:g} s") from None
            await self._discard_browser(browser, kill=True)
            raise BrowserBroken("Chromium stopped responding") from None
        except PlaywrightError as exc:
            self._close_later(taken)
            if not self._alive(browser):
                await self._discard_browser(browser)
            raise BrowserBroken(exc.message) from exc
        except BaseException:
            self._close_later(taken)
            raise
        page = taken[0]
        if page.context is self._context and not page.is_closed():
            self._free_pages.append(page)
        return pdf

    async def _print(self, taken: list[Page], html: str, footer_html: str | None) -> bytes:
        page = await self._take_page()
        taken.append(page)
        await page.goto("about:blank")
        await page.set_content(html, wait_until="load")
        return await page.pdf(**pdf_options(footer_html))

    async def _ready_browser(self) -> Browser:
        async with self._launch_lock:
            if self._closed:
                raise RenderFailed("the renderer is closing")
            if self._browser is not None and not self._alive(self._browser):
                await self._discard_browser(self._browser)
            if self._browser is None:
                self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        # Playwright does not tell us the browser's PID: a unique switch lets us find it.
        self._marker = f"--reportd-renderer={secrets.token_hex(8)}"
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=self.chromium_path,
                args=[*CHROMIUM_FLAGS, self._marker],
                timeout=LAUNCH_TIMEOUT * 1000,
            )
        except PlaywrightError as exc:
            raise RenderFailed(f"cannot launch Chromium {self.chromium_path}: {exc}") from exc
        self._browser_pid = _find_browser_pid(self._marker)
        self._renders_on_browser = 0
        self._count(launches=1)
        return browser

    async def _take_page(self) -> Page:
        while self._free_pages:
            page = self._free_pages.pop()
            if not page.is_closed():
                return page
        if self._context is None:
            self._context = await self._new_context()
        return await self._context.new_page()

    async def _new_context(self) -> BrowserContext:
        assert self._browser is not None
        context = await self._browser.new_context(
            java_script_enabled=False, service_workers="block", accept_downloads=False
        )
        # Playwright's own timeouts stay out of the way of ours.
        context.set_default_timeout((self.timeout + HOUSEKEEPING_TIMEOUT) * 1000)
        await context.route("**/*", self._block_network)
        self._renders_on_context = 0
        return context

    async def _discard_context(self) -> None:
        context, self._context = self._context, None
        self._free_pages.clear()
        self._renders_on_context = 0
        if context is not None:
            await _quietly(context.close())

    async def _discard_browser(
        self, browser: Browser | None = None, *, restart: bool = True, kill: bool = False
    ) -> None:
        """Close the current browser, unless another render already replaced ``browser``.

        A hung browser is killed first: closing it politely would wait out every timeout.
        """
        if browser is not None and browser is not self._browser:
            return
        # Take everything before the first await: a replacement may launch meanwhile.
        old, self._browser = self._browser, None
        pid, self._browser_pid = self._browser_pid, None
        marker = self._marker
        self._renders_on_browser = 0
        with self._stats_lock:
            self._stats.browser_memory_mb = 0.0
        if kill and pid is not None and _running(pid, marker):
            _kill_tree(pid)
        await self._discard_context()
        if old is not None:
            self._count(restarts=1 if restart else 0)
            await _quietly(old.close())
            if pid is not None and _running(pid, marker):
                _kill_tree(pid)

    def _alive(self, browser: Browser) -> bool:
        pid = self._browser_pid if browser is self._browser else None
        return browser.is_connected() and (pid is None or _running(pid))

    async def _responsive(self, browser: Browser) -> bool:
        if not self._alive(browser):
            return False
        try:
            session = await asyncio.wait_for(browser.new_browser_cdp_session(), PROBE_TIMEOUT)
            await asyncio.wait_for(session.send("Browser.getVersion"), PROBE_TIMEOUT)
            await asyncio.wait_for(session.detach(), PROBE_TIMEOUT)
        except (TimeoutError, PlaywrightError):
            return False
        return True

    async def _measure_memory(self) -> None:
        pid = self._browser_pid
        if pid is None:
            return
        megabytes = await asyncio.to_thread(_tree_memory_mb, pid)
        if pid == self._browser_pid:  # not replaced while we measured
            with self._stats_lock:
                self._stats.browser_memory_mb = megabytes

    async def _block_network(self, route: Route) -> None:
        """Let inline ``data:`` URLs through and abort everything else, counting it."""
        try:
            if route.request.url.startswith("data:"):
                await route.continue_()
                return
            self._count(blocked_requests=1)
            await route.abort("blockedbyclient")
        except PlaywrightError:
            pass  # the page went away while its request was in flight

    def _close_later(self, pages: list[Page]) -> None:
        """Close pages whose state is unknown without making the caller wait for it."""
        for page in pages:
            self._in_background(_quietly(page.close()))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _shutdown(self) -> None:
        await self._discard_browser(restart=False)
        if self._background:
            await asyncio.wait(self._background, timeout=HOUSEKEEPING_TIMEOUT)
        if self._playwright is not None:
            await _quietly(self._playwright.stop())
            self._playwright = None


async def _quietly(operation: Coroutine[Any, Any, None]) -> None:
    """Run a best-effort cleanup: a dead or hung browser must not block its replacement."""
    try:
        await asyncio.wait_for(operation, HOUSEKEEPING_TIMEOUT)
    except (TimeoutError, PlaywrightError):
        pass


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


# -- the browser's process tree (service.runtime.proctree reads /proc; psutil is not needed) --


def _process_tree(root: int) -> list[int]:
    return [process.pid for process in proctree.tree(root)]


def _running(pid: int, marker: str = "") -> bool:
    """Whether ``pid`` is a live process (and, given a marker, still our browser).

    Checked before each render, so it reads this one process's files, not all of /proc.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] in "ZX":
            return False
        return not marker or marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _find_browser_pid(marker: str) -> int | None:
    """The browser process is the one launched with our marker; its children lack it."""
    for pid in proctree.live_processes():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv and not any(a.startswith(b"--type=") for a in argv):
            return pid
    return None


def _tree_memory_mb(root: int) -> float:
    """Sum of PSS (RSS where PSS is unreadable) of the tree; PSS counts shared pages once."""
    return sum(proctree.memory_kib(pid) for pid in _process_tree(root)) / 1024


def _kill_tree(root: int) -> None:
    """SIGKILL what is left of a browser that did not close."""
    for pid in _process_tree(root):
        try:
            os.kill(pid, 9)
        except OSError:
            pass
