"""The Chromium renderer, against the real Debian Chromium; text is read back with poppler."""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import shutil
import signal
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

from service.config import Settings
from service.delivery.pdf import PdfRenderer, find_chromium
from service.errors import RenderFailed
from tests.conftest import need

pytestmark = pytest.mark.chromium

PAGE_COUNTER_CSS = """
@page { size: A4; margin: 20mm 15mm;
  @bottom-center { content: "page " counter(page) " of " counter(pages); font-size: 9pt; } }
body { font-family: sans-serif; }
"""


def chromium_or_none() -> str | None:
    try:
        return find_chromium()
    except FileNotFoundError:
        return None


def new_renderer(**options: Any) -> PdfRenderer:
    chromium = chromium_or_none()
    need("Chromium", chromium is not None, "install Debian's chromium package")
    need("pdftotext", shutil.which("pdftotext") is not None, "install poppler-utils")
    return PdfRenderer(chromium_path=chromium or "", **options)


@pytest.fixture(scope="module")
def renderer() -> Iterator[PdfRenderer]:
    """This module's own renderer (shadowing the session one): its counters are ours to read."""
    with new_renderer(timeout=30.0, slots=2) as shared:
        yield shared


@pytest.fixture
def make_renderer() -> Iterator[Callable[..., PdfRenderer]]:
    """Renderers with their own browser, for tests that break or recycle it; closed after."""
    made: list[PdfRenderer] = []

    def make(**options: Any) -> PdfRenderer:
        made.append(new_renderer(**options))
        return made[-1]

    yield make
    for one in made:
        one.close()


def text_of(pdf: bytes) -> str:
    """Text as poppler (Evince, Okular, pdftotext) extracts it."""
    assert pdf.startswith(b"%PDF-")
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode()


def html_page(body: str, head: str = "") -> str:
    return f"<html><head><style>{PAGE_COUNTER_CSS}</style>{head}</head><body>{body}</body></html>"


def table(rows: int) -> str:
    cells = "".join(f"<tr><td>host-{i:04d}</td><td>event {i}</td></tr>" for i in range(rows))
    return f"<table>{cells}</table>"


@dataclass
class Snitch:
    """A real HTTP server on 127.0.0.1 that counts every connection and request it gets."""

    url: str
    connections: list[object] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def snitch() -> Iterator[Snitch]:
    seen = Snitch(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            seen.requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True

        def verify_request(self, request: object, client_address: object) -> bool:
            seen.connections.append(client_address)
            return True

    with Server(("127.0.0.1", 0), Handler) as server:
        seen.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        yield seen
        server.shutdown()


def test_given_missing_configured_chromium_when_finding_then_error_names_the_path():
    with pytest.raises(FileNotFoundError, match="/nowhere/chromium"):
        find_chromium("/nowhere/chromium")


def test_given_settings_when_building_renderer_then_it_takes_every_knob_without_launching():
    need("Chromium", chromium_or_none() is not None)
    settings = Settings(
        render_timeout=7.0,
        render_slots=3,
        context_recycle_after=4,
        browser_restart_after=9,
        browser_memory_budget_mb=900,
    )

    with PdfRenderer.from_settings(settings) as built:
        assert (built.timeout, built.slots) == (7.0, 3)
        assert (built.context_recycle_after, built.browser_restart_after) == (4, 9)
        assert built.memory_budget_mb == 900
        assert built.stats.launches == 0 and built.browser_pids() == []


def test_given_simple_html_when_rendered_then_pdf_has_its_words(renderer):
    pdf = renderer.render(html_page("<h1>Quarterly security summary</h1><p>All agents OK</p>"))

    text = text_of(pdf)
    assert "Quarterly security summary" in text
    assert "All agents OK" in text


def test_given_long_table_when_rendered_then_every_page_says_page_x_of_y(renderer):
    pdf = renderer.render(html_page(table(400)))

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    text = text_of(pdf)
    assert pages > 1
    for number in range(1, pages + 1):
        assert f"page {number} of {pages}" in text
    assert "host-0399" in text


def test_given_footer_html_when_rendered_then_chromium_numbers_the_pages(renderer):
    footer = (
        '<div style="font-size:9px;width:100%;text-align:center">'
        'Seite <span class="pageNumber"></span> von <span class="totalPages"></span></div>'
    )
    body = "<style>@page { margin: 15mm 15mm 20mm; }</style>" + table(150)

    text = text_of(renderer.render(f"<html><body>{body}</body></html>", footer_html=footer))

    assert "Seite 1 von " in text
    assert "Seite 2 von " in text


def test_given_japanese_and_chinese_text_when_rendered_then_glyphs_are_real_text(renderer):
    body = '<h1 lang="ja">日本語のレポート</h1><p lang="zh-CN">中文报告</p>'

    text = text_of(renderer.render(html_page(body)))

    assert "日本語のレポート" in text
    assert "中文报告" in text


def test_given_script_when_rendered_then_it_does_not_run(renderer):
    body = (
        "<p id=target>static text</p>"
        "<script>document.write('SCRIPT-RAN');"
        "document.getElementById('target').textContent = 'SCRIPT-CHANGED';</script>"
        "<noscript>scripts are off</noscript>"
    )

    text = text_of(renderer.render(html_page(body)))

    assert "static text" in text
    assert "SCRIPT-RAN" not in text and "SCRIPT-CHANGED" not in text
    assert "scripts are off" in text


def test_given_remote_resources_when_rendered_then_no_request_leaves_the_browser(renderer, snitch):
    url = snitch.url
    head = (
        f'<link rel=stylesheet href="{url}/z"><link rel=preconnect href="{url}">'
        f'<link rel=prefetch href="{url}/prefetch">'
        f"<style>@import url({url}/import); body {{ background: url({url}/y) }}</style>"
    )
    body = (
        f'<p>offline document</p><img src="{url}/x"><iframe src="{url}/frame"></iframe>'
        f'<object data="{url}/object"></object><video poster="{url}/poster"></video>'
    )

    blocked_before = renderer.stats.blocked_requests

    text = text_of(renderer.render(html_page(body, head)))
    time.sleep(0.3)  # a late request would still reach the server

    assert "offline document" in text
    # Chromium's private network rules would stop some of these too; the count shows ours did.
    assert renderer.stats.blocked_requests - blocked_before >= 6
    assert snitch.requests == []
    assert snitch.connections == []


def test_given_file_urls_when_rendered_then_local_files_stay_out(renderer):
    body = (
        '<p>before</p><iframe src="file:///etc/passwd"></iframe>'
        '<object data="file:///etc/passwd"></object><embed src="file:///etc/passwd">'
    )

    text = text_of(renderer.render(html_page(body)))

    assert "before" in text
    assert "root:x:0:0" not in text


def test_given_two_documents_on_reused_page_when_rendered_then_second_has_none_of_first(
    renderer,
):
    renderer.render(html_page("<p>FIRST-DOCUMENT-SECRET</p>" + table(80)))

    text = text_of(renderer.render(html_page("<p>second document</p>")))

    assert "second document" in text
    assert "FIRST-DOCUMENT-SECRET" not in text and "host-0079" not in text


def test_given_four_threads_when_rendering_then_all_succeed_within_the_slots(renderer):
    results: dict[int, str] = {}

    def render(number: int) -> None:
        results[number] = text_of(renderer.render(html_page(f"<p>document {number}</p>")))

    threads = [threading.Thread(target=render, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [0, 1, 2, 3]
    assert all(f"document {n}" in text for n, text in results.items())
    assert renderer.stats.peak_in_flight == renderer.slots == 2
    assert renderer.stats.in_flight == 0


def test_given_browser_killed_mid_render_when_rendering_then_it_relaunches_and_retries(
    make_renderer,
):
    renderer = make_renderer(timeout=30.0)
    renderer.render(html_page("<p>warm</p>"))
    outcome: list[bytes | BaseException] = []

    def render_long_document() -> None:
        try:
            outcome.append(renderer.render(html_page("<p>survivor</p>" + table(3000))))
        except BaseException as exc:  # noqa: B036 (handed to the test thread)
            outcome.append(exc)

    worker = threading.Thread(target=render_long_document)
    worker.start()
    while renderer.stats.in_flight == 0:
        time.sleep(0.01)
    time.sleep(0.2)
    killed = renderer.browser_pids()
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    worker.join(timeout=60)

    assert killed and isinstance(outcome[0], bytes), outcome
    assert "survivor" in text_of(outcome[0])
    stats = renderer.stats
    assert (stats.restarts, stats.retries, stats.launches) == (1, 1, 2)
    assert not set(killed) & set(renderer.browser_pids())


def test_given_browser_killed_between_renders_when_rendering_then_it_relaunches(make_renderer):
    renderer = make_renderer()
    renderer.render(html_page("<p>before</p>"))
    for pid in renderer.browser_pids():
        with contextlib.suppress(ProcessLookupError):  # a child may go with its parent first
            os.kill(pid, signal.SIGKILL)

    text = text_of(renderer.render(html_page("<p>after the crash</p>")))

    assert "after the crash" in text
    assert renderer.stats.restarts == 1


@pytest.mark.slow
def test_given_hung_browser_when_rendering_then_it_is_killed_relaunched_and_retried(
    make_renderer,
):
    # 5 s: the retry in a freshly launched browser must fit in the timeout on a loaded machine
    # (1 s failed there); the hang is still told from a slow document by the browser's silence.
    renderer = make_renderer(timeout=5.0)
    renderer.render(html_page("<p>warm</p>"))
    frozen = renderer.browser_pids()
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)

    text = text_of(renderer.render(html_page("<p>after the hang</p>")))

    assert "after the hang" in text
    stats = renderer.stats
    assert (stats.restarts, stats.retries, stats.failures) == (1, 1, 0)
    assert not set(frozen) & set(renderer.browser_pids())


def test_given_tiny_timeout_when_rendering_big_document_then_render_failed(make_renderer):
    renderer = make_renderer(timeout=0.001)

    with pytest.raises(RenderFailed, match="longer than 0.001 s"):
        renderer.render(html_page(table(3000)))

    # The browser answered, so the document was slow, not the browser hung: no relaunch.
    assert (renderer.stats.failures, renderer.stats.restarts) == (1, 0)


def test_given_small_limits_when_rendering_then_context_recycles_and_browser_restarts(
    make_renderer,
):
    renderer = make_renderer(context_recycle_after=2, browser_restart_after=3)
    renderer.render(html_page("<p>one</p>"))
    first_browser = renderer.browser_pids()

    for number in range(5):
        assert f"render {number}" in text_of(renderer.render(html_page(f"<p>render {number}</p>")))

    stats = renderer.stats
    assert stats.renders == 6
    assert stats.context_recycles >= 2 and stats.restarts == 1
    assert not set(first_browser) & set(renderer.browser_pids())


def test_given_memory_budget_exceeded_when_rendering_then_browser_restarts(make_renderer):
    renderer = make_renderer(memory_budget_mb=1)
    renderer.render(html_page("<p>one</p>"))
    deadline = time.monotonic() + 10
    while renderer.stats.browser_memory_mb == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the first render's memory check runs in the background
    assert renderer.stats.browser_memory_mb > 1

    renderer.render(html_page("<p>two</p>"))

    assert renderer.stats.restarts == 1


def test_given_headings_when_rendered_then_the_pdf_is_tagged_with_bookmarks(renderer):
    """Issue 14: bookmarks per section and a structure tree for screen readers."""
    pdf = renderer.render(html_page("<h1>Summary</h1><h2>Alerts</h2><p>none</p>"))

    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert document.Root.MarkInfo.Marked is True
        assert "/StructTreeRoot" in document.Root
        with document.open_outline() as outline:
            assert [item.title for item in outline.root] == ["Summary"]
