"""A spec's window as it was asked: what the report calls its period, and where a month ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.reports.builder import ReportRequest
from service.reports.model import PeriodSpan, ReportType, TimeUnit
from service.reports.spec import ReportSpec

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
SUMMARY = {"reportTemplateID": 1}


@pytest.mark.parametrize(
    ("time_range", "expected"),
    [
        ({"units": "month", "value": 1}, PeriodSpan(1, TimeUnit.month)),
        ({"units": "hour", "value": 24}, PeriodSpan(24, TimeUnit.hour)),
        ({"units": "day", "value": 7}, PeriodSpan(7, TimeUnit.day)),
        # a custom window is named by its length
        ({"startTime": 1_772_323_200_000, "endTime": 1_774_915_200_000}, None),
    ],
)
def test_given_a_time_range_when_read_then_the_spec_has_the_span_the_report_calls_its_period(
    time_range, expected
):
    # Given a spec with this window, When it is read, Then its span is the window as asked
    spec = ReportSpec.from_api({**SUMMARY, "timeRange": time_range})
    assert spec.span == expected


def test_given_a_stored_run_when_read_then_its_span_survives_storage():
    # Given a run of the last 3 months, stored as its JSON
    spec = ReportSpec.from_api({**SUMMARY, "timeRange": {"units": "month", "value": 3}})
    stored = ReportSpec.stored(ReportType.summary.value, spec.spec.to_api())

    # When it is read back into a request, Then the report still calls it 3 months
    request = ReportRequest(
        spec=stored, period_start=NOW - timedelta(days=90), period_end=NOW, generated_at=NOW
    )
    assert request.spec.span == PeriodSpan(3, TimeUnit.month)


def test_given_no_time_range_when_read_then_the_span_is_the_sdk_default_day():
    assert ReportSpec.from_api(SUMMARY).span == PeriodSpan(1, TimeUnit.day)


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # 31 March minus a month is the end of February, in a leap year or not
        (datetime(2026, 3, 31, 12, 0, tzinfo=UTC), datetime(2026, 2, 28, 12, 0, tzinfo=UTC)),
        (datetime(2028, 3, 31, 12, 0, tzinfo=UTC), datetime(2028, 2, 29, 12, 0, tzinfo=UTC)),
        (datetime(2026, 5, 31, 0, 0, tzinfo=UTC), datetime(2026, 4, 30, 0, 0, tzinfo=UTC)),
        (datetime(2026, 1, 31, 0, 0, tzinfo=UTC), datetime(2025, 12, 31, 0, 0, tzinfo=UTC)),
    ],
)
def test_given_the_last_month_at_a_month_end_when_computed_then_it_is_a_calendar_month(now, start):
    spec = ReportSpec.from_api({**SUMMARY, "timeRange": {"units": "month", "value": 1}})
    assert spec.period(end=now) == (start, now)
