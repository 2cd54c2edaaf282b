"""Every report type, printed by real Chromium, holds only what the contact's clearance allows.

Also: hostile computer names and event details from the database reach nothing and show as text.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.delivery.pdf import PdfRenderer
from service.directory.accounts import create_account
from service.directory.clearance import scope_for
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.reports.builder import ReportRequest, build_report
from service.reports.model import ReportType
from service.reports.rendering import render_footer_html, render_report_html
from service.reports.spec import ReportSpec
from storage.models import Contact
from storage.records import load_role
from storage.scoped import Scope

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEB_TEAM = {f"{stem}-{n:02d}" for stem in ("web", "fron") for n in range(1, 7)}
OTHERS = {f"{stem}-{n:02d}" for stem in ("data", "lapt") for n in range(1, 7)}


def _text(pdf: bytes) -> str:
    import io

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _render(
    session: Session, renderer: PdfRenderer, scope: Scope, kind: ReportType, account: str
) -> str:
    request = ReportRequest(
        spec=ReportSpec(kind=kind),
        period_start=NOW - timedelta(days=7),
        period_end=NOW,
        generated_at=NOW,
    )
    data = build_report(
        session, scope=scope, request=request, account_name=account, locale="en-US", time_zone="UTC"
    )
    return _text(renderer.render(render_report_html(data), render_footer_html(data)))


@pytest.fixture
def scopes(sqlite_session: Session) -> dict[str, Scope]:
    account = create_account(sqlite_session, name="Every Report Inc.")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(sqlite_session, account_id=account.id, dataset=data, box=SecretBox("k"))
    result = {}
    for contact in sqlite_session.scalars(select(Contact).where(Contact.account_id == account.id)):
        role = load_role(sqlite_session, account.id, contact.role_id)
        result[contact.email_address] = scope_for(role, account.id)
    return result


@pytest.mark.parametrize("kind", list(ReportType), ids=lambda k: k.value)
def test_each_report_type_shows_only_the_computers_the_clearance_allows(
    sqlite_session: Session, renderer: PdfRenderer, scopes: dict[str, Scope], kind: ReportType
) -> None:
    restricted = _render(sqlite_session, renderer, scopes["hanako.sato@example.jp"], kind, "A")
    everything = _render(sqlite_session, renderer, scopes["alex.morgan@example.com"], kind, "A")
    assert not any(name in restricted for name in OTHERS), kind
    shown_to_all = {name for name in WEB_TEAM | OTHERS if name in everything}
    if shown_to_all:  # the report lists computers at all (alerts may name none)
        assert shown_to_all & OTHERS, f"{kind}: the full clearance should see other computers"
        if shown_to_all & WEB_TEAM:
            assert any(name in restricted for name in WEB_TEAM), kind


class CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        CountingHandler.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def listener() -> Iterator[int]:
    CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_hostile_names_in_the_database_reach_nothing_and_show_as_text(
    sqlite_session: Session, renderer: PdfRenderer, listener: int
) -> None:
    hostile = [
        "<script>document.body.innerHTML='HACKED'+'NOW'</script>",
        f'<img src="http://127.0.0.1:{listener}/img">',
        '<iframe src="file:///etc/passwd"></iframe>',
        f"x</style><style>*{{background:url(http://127.0.0.1:{listener}/css)}}</style>",
        f'<link rel="stylesheet" href="http://127.0.0.1:{listener}/link">',
    ]
    data = sample_dataset(now=NOW)
    for computer, name in zip(data["computers"], hostile, strict=False):
        computer["displayName"] = name
    for event, detail in zip(data["events"], hostile, strict=False):
        event["details"] = detail
        event["name"] = detail
    account = create_account(sqlite_session, name="Hostile Inc.")
    import_dataset(
        sqlite_session,
        account_id=account.id,
        dataset=parse_dataset(json.dumps(data)),
        box=SecretBox("k"),
    )
    everything = Scope(
        account_id=account.id, all_computers=True, not_related_to_computers=True, all_policies=True
    )
    texts = [
        _render(sqlite_session, renderer, everything, kind, "Hostile")
        for kind in (
            ReportType.computer,
            ReportType.firewall,
            ReportType.anti_malware,
            ReportType.summary,
        )
    ]
    joined = "\n".join(texts)
    assert CountingHandler.requests == []
    assert "HACKEDNOW" not in joined
    assert "root:x:0:0" not in joined
    assert "<script>" in joined.replace("\n", "")  # shown, as text
