"""The overview: the last 7 days' runs with their counts, dates in the viewer's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from playwright.sync_api import expect

from service.delivery.ledger import Recipients
from service.delivery.request import new_report_run
from service.reports.model import ReportType
from service.reports.spec import LAST_WEEK, ReportSpec
from storage.db import transaction


@pytest.fixture
def admin_in_tokyo(console_world):
    console_world.set_user("admin", time_zone="Asia/Tokyo")
    yield
    console_world.set_user("admin", time_zone="Europe/London")


def test_a_run_is_listed_with_its_counts_and_its_time_in_the_viewers_zone(
    console_world, signed_in, admin_in_tokyo
):
    # Given a Firewall Report run made yesterday at 23:30 UTC (already the next day in Tokyo)
    created = (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=23, minute=30, second=0, microsecond=0
    )
    with transaction(console_world.sessions) as session:
        run = new_report_run(
            session,
            account_id=console_world.account_id,
            spec=ReportSpec(kind=ReportType.firewall, time_range=LAST_WEEK),
            recipients=Recipients(all_contacts=True),
            triggered_by="console-test",
            period_start=created - timedelta(days=7),
            period_end=created,
            now=created,
        )

    # When an administrator whose zone is Asia/Tokyo opens the overview
    page = signed_in("admin")
    page.goto(console_world.url("/"))

    # Then the run is there by its name, with its recipients, at Tokyo's time
    row = page.get_by_role("row").filter(has_text="console-test")
    expect(row).to_contain_text("Firewall Report")
    expect(row.get_by_role("cell").nth(4)).to_have_text(str(len(run.delivery_ids)))
    tokyo = format_datetime(created, "medium", tzinfo=ZoneInfo("Asia/Tokyo"), locale="en_US")
    expect(row).to_contain_text(tokyo)
