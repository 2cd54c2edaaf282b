"""A console scheduled task of type generate-report, in the shape of the console API's JSON.

Names, enums and types follow the Deep Security / Workload Security SDK (``deepsecurity.models``
20.0): attributes in snake_case, JSON in the SDK's ``attribute_map`` names (``reportTemplateID``,
``ID``, ...), enum values exactly as the SDK spells them, including its month ``"feburary"``
(``"february"`` is accepted on input and written back the SDK's way). Times are epoch
milliseconds, as in the SDK.

reportd extensions, which the SDK does not have (a console client never sends them):

- ``ScheduleDetails.endTime`` (epoch ms): no occurrence after it;
- ``HourlyScheduleParameters.startTime`` (epoch ms): the SDK's hourly schedule has no start, so
  without it an hourly schedule cannot count ``recurrenceCount`` runs;
- ``ScheduledTask.misfirePolicy``: what happens to occurrences missed while reportd was down
  (see ``service.scheduling.recurrences.plan_firing``);
- in ``generateReportTaskParameters``, what ``service.reports.spec`` adds to the report's JSON
  (``attachCSV``, a ``timeRange`` from ``startTime`` to ``endTime``).

Invalid input raises pydantic's ``ValidationError`` (a ``ValueError``), naming the field.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.fields import Interval, Name, RecurrenceCount, time_zone
from service.reports.spec import MAX_MILLIS, ReportSpec

#: Epoch milliseconds, as the SDK's ``startTime``, ``lastRunTime`` and so on.
EpochMillis = Annotated[int, Field(ge=0, le=MAX_MILLIS)]


def from_epoch_millis(millis: int) -> datetime:
    """The aware UTC datetime of an SDK time."""
    return datetime.fromtimestamp(millis / 1000, UTC)


def to_epoch_millis(moment: datetime) -> int:
    """The SDK time of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment} is naive; an SDK time needs an aware datetime")
    return round(moment.timestamp() * 1000)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a ``ValueError`` that names it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name)") from None


class _ApiModel(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True, serialize_by_alias=True, extra="forbid", frozen=True
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON object as the console API writes it: camelCase, no nulls, no unset fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


class TaskType(StrEnum):
    """The SDK's scheduled task types; reportd runs only ``generate-report``."""

    scan_for_open_ports = "scan-for-open-ports"
    send_alert_summary = "send-alert-summary"
    discover_computers = "discover-computers"
    run_script = "run-script"
    send_policy = "send-policy"
    generate_report = "generate-report"
    synchronize_directory = "synchronize-directory"
    synchronize_users = "synchronize-users"
    scan_for_recommendations = "scan-for-recommendations"
    synchronize_vcenter = "synchronize-vcenter"
    scan_for_integrity_changes = "scan-for-integrity-changes"
    scan_for_malware = "scan-for-malware"
    check_for_security_updates = "check-for-security-updates"
    synchronize_cloud_account = "synchronize-cloud-account"
    check_for_software_updates = "check-for-software-updates"
    update_suspicious_objects_list = "update-suspicious-objects-list"


class RecurrenceType(StrEnum):
    none = "none"  # once only, at onceOnlyScheduleParameters.startTime
    hourly = "hourly"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class MinutesPastTheHour(StrEnum):
    """The SDK allows only multiples of five, as strings."""

    minute_00 = "0"
    minute_05 = "5"
    minute_10 = "10"
    minute_15 = "15"
    minute_20 = "20"
    minute_25 = "25"
    minute_30 = "30"
    minute_35 = "35"
    minute_40 = "40"
    minute_45 = "45"
    minute_50 = "50"
    minute_55 = "55"


class DailyFrequency(StrEnum):
    everyday = "everyday"
    weekdays = "weekdays"  # Monday to Friday
    custom = "custom"  # every customInterval days


class DayOfWeek(StrEnum):
    sunday = "sunday"
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"


class MonthlyFrequency(StrEnum):
    day_of_month = "day-of-month"
    last_day_of_month = "last-day-of-month"
    custom = "custom"  # the weekOfMonth dayOfWeek, e.g. the last friday


class WeekOfMonth(StrEnum):
    first = "first"
    second = "second"
    third = "third"
    fourth = "fourth"
    last = "last"


class Month(StrEnum):
    """Months as the SDK spells them: February is ``"feburary"``."""

    january = "january"
    february = "feburary"
    march = "march"
    april = "april"
    may = "may"
    june = "june"
    july = "july"
    august = "august"
    september = "september"
    october = "october"
    november = "november"
    december = "december"

    @classmethod
    def _missing_(cls, value: object) -> Month | None:
        return cls.february if value == "february" else None

    @property
    def number(self) -> int:
        """1 for January ... 12 for December."""
        return list(Month).index(self) + 1


class MisfirePolicy(StrEnum):
    """reportd extension: what to do with occurrences missed while nothing was running."""

    coalesce = "coalesce"  # one run, for the latest missed occurrence
    skip = "skip"  # no run for a missed occurrence unless it is within the grace period


class HourlyScheduleParameters(_ApiModel):
    minutes_past_the_hour: MinutesPastTheHour = Field(alias="minutesPastTheHour")
    #: reportd extension: runs are counted from here; the SDK's hourly schedule has no start.
    start_time: EpochMillis | None = Field(None, alias="startTime")

    @field_validator("minutes_past_the_hour", mode="before")
    @classmethod
    def _minutes_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class DailyScheduleParameters(_ApiModel):
    """Every day, weekday or ``customInterval`` days at the wall-clock time of ``startTime``."""

    start_time: EpochMillis = Field(alias="startTime")
    frequency_type: DailyFrequency = Field(alias="frequencyType")
    #: Days between runs; used only by frequencyType custom.
    custom_interval: Interval | None = Field(None, alias="customInterval")

    @model_validator(mode="after")
    def _custom_needs_interval(self) -> DailyScheduleParameters:
        if self.frequency_type is DailyFrequency.custom and self.custom_interval is None:
            raise ValueError("frequencyType custom needs customInterval (days between runs)")
        return self


class WeeklyScheduleParameters(_ApiModel):
    """Every ``interval`` weeks (weeks start on Sunday) on ``days``, at the time of startTime."""

    start_time: EpochMillis = Field(alias="startTime")
    interval: Interval = 1
    days: tuple[DayOfWeek, ...] = Field(min_length=1)


class MonthlyScheduleParameters(_ApiModel):
    """A day of each chosen month, at the wall-clock time of ``startTime``.

    ``day-of-month`` N runs only in months that have a day N (31 skips April; use
    ``last-day-of-month`` for month ends). ``months`` absent means every month.
    """

    start_time: EpochMillis = Field(alias="startTime")
    frequency_type: MonthlyFrequency = Field(alias="frequencyType")
    day_of_month: int | None = Field(None, alias="dayOfMonth", ge=1, le=31)
    week_of_month: WeekOfMonth | None = Field(None, alias="weekOfMonth")
    day_of_week: DayOfWeek | None = Field(None, alias="dayOfWeek")
    months: tuple[Month, ...] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _frequency_fields(self) -> MonthlyScheduleParameters:
        if self.frequency_type is MonthlyFrequency.day_of_month:
            if self.day_of_month is None:
                raise ValueError("frequencyType day-of-month needs dayOfMonth")
            months = self.months or tuple(Month)
            # A leap year gives each month its longest length.
            if all(calendar.monthrange(2024, m.number)[1] < self.day_of_month for m in months):
                chosen = ", ".join(m.value for m in months)
                raise ValueError(f"dayOfMonth {self.day_of_month} never occurs in {chosen}")
        if self.frequency_type is MonthlyFrequency.custom and (
            self.week_of_month is None or self.day_of_week is None
        ):
            raise ValueError("frequencyType custom needs weekOfMonth and dayOfWeek")
        return self


class OnceOnlyScheduleParameters(_ApiModel):
    start_time: EpochMillis = Field(alias="startTime")


ScheduleParameters = (
    HourlyScheduleParameters
    | DailyScheduleParameters
    | WeeklyScheduleParameters
    | MonthlyScheduleParameters
    | OnceOnlyScheduleParameters
)

#: The parameter field each recurrence type needs.
PARAMETERS_FIELD = {
    RecurrenceType.none: "once_only_schedule_parameters",
    RecurrenceType.hourly: "hourly_schedule_parameters",
    RecurrenceType.daily: "daily_schedule_parameters",
    RecurrenceType.weekly: "weekly_schedule_parameters",
    RecurrenceType.monthly: "monthly_schedule_parameters",
}


class ScheduleDetails(_ApiModel):
    """When a task runs; wall-clock times are read in ``timeZone``.

    See service.scheduling.recurrences.
    """

    time_zone: str = Field(alias="timeZone")
    recurrence_type: RecurrenceType = Field(alias="recurrenceType")
    #: Total runs, counted from the start.
    recurrence_count: RecurrenceCount | None = Field(None, alias="recurrenceCount")
    hourly_schedule_parameters: HourlyScheduleParameters | None = Field(
        None, alias="hourlyScheduleParameters"
    )
    daily_schedule_parameters: DailyScheduleParameters | None = Field(
        None, alias="dailyScheduleParameters"
    )
    weekly_schedule_parameters: WeeklyScheduleParameters | None = Field(
        None, alias="weeklyScheduleParameters"
    )
    monthly_schedule_parameters: MonthlyScheduleParameters | None = Field(
        None, alias="monthlyScheduleParameters"
    )
    once_only_schedule_parameters: OnceOnlyScheduleParameters | None = Field(
        None, alias="onceOnlyScheduleParameters"
    )
    #: reportd extension: epoch ms after which the schedule never fires (inclusive bound).
    end_time: EpochMillis | None = Field(None, alias="endTime")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        zone_named(name)
        return time_zone(name)

    @field_validator("recurrence_count", mode="before")
    @classmethod
    def _runs_at_least_once(cls, count: object) -> object:
        if isinstance(count, int) and not isinstance(count, bool) and count < 1:
            raise ValueError(f"recurrenceCount {count} ends the schedule before its start")
        return count

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleDetails:
        wanted = PARAMETERS_FIELD[self.recurrence_type]
        if getattr(self, wanted) is None:
            alias = type(self).model_fields[wanted].alias
            raise ValueError(f"recurrenceType {self.recurrence_type.value} needs {alias}")
        for name in PARAMETERS_FIELD.values():
            if name != wanted and getattr(self, name) is not None:
                alias = type(self).model_fields[name].alias
                raise ValueError(
                    f"{alias} does not go with recurrenceType {self.recurrence_type.value}"
                )
        start = self.parameters.start_time
        if self.end_time is not None and start is not None and self.end_time < start:
            raise ValueError(f"endTime {self.end_time} is before startTime {start}")
        if self.recurrence_count is not None and start is None:
            raise ValueError(
                "recurrenceCount on an hourly schedule needs hourlyScheduleParameters.startTime"
                " (a reportd extension): the SDK's hourly schedule has no start to count from"
            )
        return self

    @property
    def parameters(self) -> ScheduleParameters:
        """The parameter object of ``recurrence_type``."""
        found: ScheduleParameters = getattr(self, PARAMETERS_FIELD[self.recurrence_type])
        return found

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.time_zone)

    @property
    def start(self) -> datetime | None:
        """The first moment the schedule may fire; None for an hourly one without startTime."""
        start = self.parameters.start_time
        return None if start is None else from_epoch_millis(start)

    @property
    def end(self) -> datetime | None:
        return None if self.end_time is None else from_epoch_millis(self.end_time)


class Recipients(_ApiModel):
    all_administrators_and_contacts: bool | None = Field(None, alias="allAdministratorsAndContacts")
    administrator_ids: tuple[int, ...] | None = Field(None, alias="administratorIDs")
    contact_ids: tuple[int, ...] | None = Field(None, alias="contactIDs")

    @model_validator(mode="after")
    def _somebody(self) -> Recipients:
        if not (self.all_administrators_and_contacts or self.administrator_ids or self.contact_ids):
            raise ValueError("recipients name nobody to send the report to")
        return self


class GenerateReportTaskParameters(ReportSpec):
    """The SDK's ``GenerateReportTaskParameters``: the report (``service.reports.spec``) and who
    gets it. reportd reads ``attachCSV``, ``skipIfEmpty`` and a custom ``timeRange`` here too."""

    recipients: Recipients


class ScheduledTask(_ApiModel):
    """A generate-report scheduled task, as the console API reads and writes it."""

    name: Name
    type: TaskType
    enabled: bool = True
    run_now: bool | None = Field(None, alias="runNow")
    last_run_time: EpochMillis | None = Field(None, alias="lastRunTime")
    next_run_time: EpochMillis | None = Field(None, alias="nextRunTime")
    id: int | None = Field(None, alias="ID")
    schedule_details: ScheduleDetails = Field(alias="scheduleDetails")
    generate_report_task_parameters: GenerateReportTaskParameters = Field(
        alias="generateReportTaskParameters"
    )
    #: reportd extension, see service.scheduling.recurrences.plan_firing.
    misfire_policy: MisfirePolicy = Field(MisfirePolicy.coalesce, alias="misfirePolicy")

    @field_validator("type")
    @classmethod
    def _generate_report_only(cls, task_type: TaskType) -> TaskType:
        if task_type is not TaskType.generate_report:
            raise ValueError(f"type {task_type.value}: reportd runs only generate-report tasks")
        return task_type
