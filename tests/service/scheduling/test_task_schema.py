"""The generate-report scheduled task in the console SDK's JSON shape."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from service.scheduling.task_schema import (
    Month,
    MonthlyScheduleParameters,
    ScheduleDetails,
    ScheduledTask,
    from_epoch_millis,
    to_epoch_millis,
)

#: What the SDK's ApiClient.sanitize_for_serialization writes for a ScheduledTask built with
#: deepsecurity.models 20.0.463 (camelCase attribute_map names, nulls left out).
SDK_TASK: dict[str, Any] = {
    "name": "Monthly attack report",
    "type": "generate-report",
    "scheduleDetails": {
        "timeZone": "Europe/London",
        "recurrenceType": "monthly",
        "recurrenceCount": 12,
        "monthlyScheduleParameters": {
            "startTime": 1767261600000,
            "frequencyType": "custom",
            "weekOfMonth": "last",
            "dayOfWeek": "friday",
            "months": ["january", "feburary", "march"],
        },
    },
    "enabled": True,
    "lastRunTime": 1767261600000,
    "runNow": False,
    "generateReportTaskParameters": {
        "reportTemplateID": 7,
        "format": "pdf",
        "classification": "confidential",
        "recipients": {
            "allAdministratorsAndContacts": False,
            "administratorIDs": [1],
            "contactIDs": [3, 4],
        },
        "timeRange": {"units": "month", "value": 1},
        "tagFilter": {"type": "specific-tags", "tags": ["web"]},
        "computerFilter": {"type": "computers-in-group", "computerGroupID": 12},
    },
    "ID": 42,
}


def sdk_task(**schedule: Any) -> dict[str, Any]:
    """SDK_TASK with its scheduleDetails replaced by ``schedule``."""
    task = copy.deepcopy(SDK_TASK)
    task["scheduleDetails"] = schedule
    return task


def daily(**extra: Any) -> dict[str, Any]:
    return {
        "timeZone": "America/New_York",
        "recurrenceType": "daily",
        "dailyScheduleParameters": {"startTime": 1767261600000, "frequencyType": "everyday"},
        **extra,
    }


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        ScheduledTask.model_validate(data)
    return str(caught.value)


def test_given_the_sdk_json_of_a_task_when_read_and_written_back_then_it_is_unchanged():
    task = ScheduledTask.model_validate(SDK_TASK)

    assert task.to_api() == SDK_TASK
    assert task.model_dump(mode="json", exclude_unset=True) == SDK_TASK  # aliases by default
    assert task.schedule_details.monthly_schedule_parameters is not None
    assert task.schedule_details.monthly_schedule_parameters.months == (
        Month.january,
        Month.february,
        Month.march,
    )
    assert task.generate_report_task_parameters.report_template_id == 7
    assert task.id == 42


def test_given_snake_case_names_when_a_task_is_built_in_python_then_it_serializes_in_camel_case():
    details = ScheduleDetails(
        time_zone="Asia/Tokyo",
        recurrence_type="monthly",
        monthly_schedule_parameters=MonthlyScheduleParameters(
            start_time=0, frequency_type="last-day-of-month"
        ),
    )

    assert details.to_api() == {
        "timeZone": "Asia/Tokyo",
        "recurrenceType": "monthly",
        "monthlyScheduleParameters": {"startTime": 0, "frequencyType": "last-day-of-month"},
    }


def test_given_the_correct_spelling_february_when_read_then_it_is_written_the_sdk_way():
    task = copy.deepcopy(SDK_TASK)
    task["scheduleDetails"]["monthlyScheduleParameters"]["months"] = ["february"]

    written = ScheduledTask.model_validate(task).to_api()

    assert written["scheduleDetails"]["monthlyScheduleParameters"]["months"] == ["feburary"]


def test_given_reportd_extensions_when_round_tripped_then_they_keep_their_camel_case_names():
    task = sdk_task(
        **daily(endTime=1767261600000 + 86_400_000),
    )
    task["misfirePolicy"] = "skip"

    assert ScheduledTask.model_validate(task).to_api() == task


def test_given_skip_if_empty_when_round_tripped_then_the_task_keeps_it():
    # reportd's own report parameter: a task may leave out recipients of empty reports
    task = sdk_task(**daily())
    task["generateReportTaskParameters"]["skipIfEmpty"] = True

    parsed = ScheduledTask.model_validate(task)

    assert parsed.generate_report_task_parameters.skip_if_empty is True
    assert parsed.to_api() == task


def test_given_an_unknown_time_zone_when_read_then_the_error_names_it():
    assert "unknown time zone 'Mars/Olympus_Mons'" in error_of(
        sdk_task(**daily(timeZone="Mars/Olympus_Mons"))
    )


def test_given_no_parameter_object_for_the_recurrence_type_when_read_then_the_error_names_it():
    schedule = daily()
    del schedule["dailyScheduleParameters"]

    assert "recurrenceType daily needs dailyScheduleParameters" in error_of(sdk_task(**schedule))


def test_given_a_parameter_object_of_another_recurrence_type_when_read_then_it_is_refused():
    schedule = daily(onceOnlyScheduleParameters={"startTime": 0})

    assert "onceOnlyScheduleParameters does not go with recurrenceType daily" in error_of(
        sdk_task(**schedule)
    )


def test_given_an_end_time_before_the_start_when_read_then_it_is_refused():
    assert "endTime 1767261599999 is before startTime 1767261600000" in error_of(
        sdk_task(**daily(endTime=1767261599999))
    )


def test_given_a_recurrence_count_of_zero_when_read_then_it_is_refused_as_ending_before_start():
    assert "recurrenceCount 0 ends the schedule before its start" in error_of(
        sdk_task(**daily(recurrenceCount=0))
    )


@pytest.mark.parametrize("minutes", ["7", "60", 3, "-5"])
def test_given_minutes_past_the_hour_outside_the_sdk_list_when_read_then_it_is_refused(minutes):
    schedule = {
        "timeZone": "UTC",
        "recurrenceType": "hourly",
        "hourlyScheduleParameters": {"minutesPastTheHour": minutes},
    }

    assert "minutesPastTheHour" in error_of(sdk_task(**schedule))


@pytest.mark.parametrize("minutes", ["0", "55", 15])
def test_given_minutes_past_the_hour_in_the_sdk_list_when_read_then_it_is_kept_as_text(minutes):
    schedule = {
        "timeZone": "UTC",
        "recurrenceType": "hourly",
        "hourlyScheduleParameters": {"minutesPastTheHour": minutes},
    }

    written = ScheduledTask.model_validate(sdk_task(**schedule)).to_api()

    assert written["scheduleDetails"]["hourlyScheduleParameters"] == {
        "minutesPastTheHour": str(minutes)
    }


def test_given_an_hourly_count_without_a_start_when_read_then_it_asks_for_the_extension():
    schedule = {
        "timeZone": "UTC",
        "recurrenceType": "hourly",
        "recurrenceCount": 3,
        "hourlyScheduleParameters": {"minutesPastTheHour": "0"},
    }

    assert "needs hourlyScheduleParameters.startTime" in error_of(sdk_task(**schedule))


def test_given_day_31_in_months_without_it_when_read_then_it_is_refused_as_never_running():
    schedule = {
        "timeZone": "UTC",
        "recurrenceType": "monthly",
        "monthlyScheduleParameters": {
            "startTime": 0,
            "frequencyType": "day-of-month",
            "dayOfMonth": 31,
            "months": ["april", "june"],
        },
    }

    assert "dayOfMonth 31 never occurs in april, june" in error_of(sdk_task(**schedule))


def test_given_day_29_in_february_only_when_read_then_it_is_accepted_for_leap_years():
    schedule = {
        "timeZone": "UTC",
        "recurrenceType": "monthly",
        "monthlyScheduleParameters": {
            "startTime": 0,
            "frequencyType": "day-of-month",
            "dayOfMonth": 29,
            "months": ["feburary"],
        },
    }

    ScheduledTask.model_validate(sdk_task(**schedule))


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"frequencyType": "day-of-month"}, "needs dayOfMonth"),
        ({"frequencyType": "custom", "dayOfWeek": "monday"}, "needs weekOfMonth and dayOfWeek"),
        ({"frequencyType": "custom", "weekOfMonth": "fifth", "dayOfWeek": "monday"}, "fifth"),
        ({"frequencyType": "day-of-month", "dayOfMonth": 32}, "dayOfMonth"),
        ({"frequencyType": "last-day-of-month", "months": []}, "months"),
    ],
)
def test_given_incomplete_monthly_parameters_when_read_then_the_error_says_what_is_missing(
    parameters, message
):
    schedule = {
        "timeZone": "UTC",
        "recurrenceType": "monthly",
        "monthlyScheduleParameters": {"startTime": 0, **parameters},
    }

    assert message in error_of(sdk_task(**schedule))


def test_given_a_custom_daily_frequency_without_an_interval_when_read_then_it_is_refused():
    schedule = daily()
    schedule["dailyScheduleParameters"]["frequencyType"] = "custom"

    assert "frequencyType custom needs customInterval" in error_of(sdk_task(**schedule))


def test_given_a_weekly_schedule_without_days_when_read_then_it_is_refused():
    schedule = {
        "timeZone": "UTC",
        "recurrenceType": "weekly",
        "weeklyScheduleParameters": {"startTime": 0, "interval": 1, "days": []},
    }

    assert "days" in error_of(sdk_task(**schedule))


def test_given_another_task_type_when_read_then_reportd_refuses_it():
    task = copy.deepcopy(SDK_TASK)
    task["type"] = "scan-for-malware"

    assert "type scan-for-malware: reportd runs only generate-report tasks" in error_of(task)


def test_given_a_misspelt_field_when_read_then_it_is_refused_rather_than_ignored():
    task = copy.deepcopy(SDK_TASK)
    task["misfirePolicies"] = "skip"

    assert "misfirePolicies" in error_of(task)


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("computerFilter", {"type": "computer"}, "computerFilter type computer needs computerID"),
        ("tagFilter", {"type": "specific-tags"}, "tagFilter type specific-tags needs tags"),
        ("recipients", {"allAdministratorsAndContacts": False}, "recipients name nobody"),
        ("timeRange", {"units": "year", "value": 1}, "units"),
        ("format", "docx", "format"),
        ("classification", "cosmic", "classification"),
    ],
)
def test_given_bad_report_parameters_when_read_then_the_error_names_the_field(
    section, value, message
):
    task = copy.deepcopy(SDK_TASK)
    task["generateReportTaskParameters"][section] = value

    assert message in error_of(task)


def test_given_epoch_milliseconds_when_converted_then_they_are_aware_utc_both_ways():
    moment = from_epoch_millis(1767261600000)

    assert moment == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert to_epoch_millis(moment) == 1767261600000
    with pytest.raises(ValueError, match="naive"):
        to_epoch_millis(datetime(2026, 1, 1))
