"""A one-off report asked for through the API reaches the contact (SMTP sink, real Chromium)
with the content ``reportd send`` produces for the same options."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from actors.embedded import EmbeddedDispatcher
from service.api.app import create_app
from service.api.keys import new_key
from service.cli.report_options import report_spec
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from service.delivery.request import new_report_run
from service.delivery.smtp_sink import SmtpSink
from storage.db import transaction
from storage.models import Role
from tests.actors.conftest import ALEX, World, make_world, pdf_text
from tests.service.api.conftest import ApiServer

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

#: The options of ``reportd send --contact ALEX`` that the API request below mirrors.
CLI_OPTIONS = {
    "report_type": "summary",
    "last": "7d",
    "from_": None,
    "to": None,
    "report_format": "pdf",
    "attach_csv": False,
    "skip_if_empty": None,
    "classification": "confidential",
    "computer": None,
    "group": None,
    "group_tree": None,
    "policy": None,
    "policy_tree": None,
    "all_computers": False,
    "tags": (),
    "untagged": False,
    "all_tags": False,
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with SmtpSink(tmp_path / "outbox") as sink:
        yield make_world(tmp_path, sink)


def wait_for(http: httpx.Client, run_id: int, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = http.get(f"/reportruns/{run_id}").json()
        if run.get("finished"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def comparable(text: str) -> str:
    """The text with numbers masked: the two runs start seconds apart."""
    return re.sub(r"\d+", "#", text)


def test_one_off_report_through_the_api_is_delivered_like_the_cli(
    world: World, renderer: PdfRenderer
) -> None:
    # Given an API key of the world's Full Access role and a server with an embedded worker
    with transaction(world.sessions) as session:
        role = session.query(Role).filter_by(account_id=world.account_id, name="Full Access").one()
        _, secret = new_key(session, account_id=world.account_id, role_id=role.id, name="e2e")
    alex = world.contacts[ALEX]
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as worker:
        # When the CLI's own parameters for `reportd send --contact ALEX` are sent first
        now = datetime.now(UTC)
        spec = report_spec(CLI_OPTIONS)
        start, end = spec.period(end=now)
        with transaction(world.sessions) as session:
            cli_run = new_report_run(
                session,
                account_id=world.account_id,
                spec=spec,
                recipients=Recipients(contact_ids=[alex]),
                triggered_by="cli:test",
                period_start=start,
                period_end=end,
                now=now,
            )
        worker.start_runs([cli_run.run_id])
        world.wait_finished(cli_run.run_id)

        # And the same report is posted through the API (its own audit event falls at the
        # period's end, outside the report)
        app = create_app(world.settings, dispatcher=worker)
        with ApiServer(app) as server:
            headers = {"api-secret-key": secret, "api-version": "v1"}
            with httpx.Client(base_url=server.base, headers=headers, timeout=30) as http:
                posted = http.post(
                    "/reports",
                    json={
                        "reportTemplateID": 1,
                        "classification": "confidential",
                        "timeRange": {"units": "day", "value": 7},
                        "recipients": {"contactIDs": [alex]},
                    },
                )
                assert posted.status_code == 200, posted.text
                run = wait_for(http, posted.json()["ID"])

    # Then the API's run shows Alex's delivery as sent
    deliveries = run["deliveries"]
    assert isinstance(deliveries, list) and len(deliveries) == 1
    assert deliveries[0]["state"] == "sent" and deliveries[0]["contactID"] == alex
    assert run["sent"] == 1 and run["triggeredBy"] == "apikey:e2e"
    # And Alex got two mails with the same report
    mails = world.mails_to(ALEX)
    assert len(mails) == 2
    cli_text, api_text = (pdf_text(m) for m in mails)
    assert "CONFIDENTIAL" in api_text.upper()
    assert comparable(api_text) == comparable(cli_text)
    assert mails[0]["Subject"] == mails[1]["Subject"]
