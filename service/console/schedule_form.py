"""The schedule form: the console's recurrences as controls, and back to ``scheduleDetails``.

Once, hourly (minutes past the hour), daily (every day, weekdays, or every N days), weekly
(every N weeks on chosen days) and monthly (a day of the month, its last day, or "the last
Friday", in chosen months), from a start (a date and time in the task's zone), optionally up
to an end or for a number of runs. The form writes the SDK's ``ScheduleDetails`` JSON and the
schedule's own model (``service.scheduling.task_schema``) decides what it accepts, naming the
field: :data:`SCHEDULE_FIELDS` puts each refusal beside the control that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_time
from babel.lists import format_list
from pydantic import ValidationError
from starlette.datastructures import FormData

from service.console.i18n import N_
from service.console.labels import in_zone
from service.console.report_form import LOCAL_FORMAT, _number, read_local, show_local
from service.console.web import text
from service.errors import InvalidInput
from service.reports.spec import describe
from service.scheduling.recurrences import occurrences
from service.scheduling.task_schema import (
    DailyFrequency,
    DayOfWeek,
    MinutesPastTheHour,
    Month,
    MonthlyFrequency,
    RecurrenceType,
    ScheduleDetails,
    WeekOfMonth,
    zone_named,
)

#: Occurrences shown while a schedule is edited.
UPCOMING = 5
RECURRENCES: dict[str, str] = {
    RecurrenceType.none.value: N_("Once"),
    RecurrenceType.hourly.value: N_("Hourly"),
    RecurrenceType.daily.value: N_("Daily"),
    RecurrenceType.weekly.value: N_("Weekly"),
    RecurrenceType.monthly.value: N_("Monthly"),
}
DAILY: dict[str, str] = {
    DailyFrequency.everyday.value: N_("Every day"),
    DailyFrequency.weekdays.value: N_("Every weekday (Monday to Friday)"),
    DailyFrequency.custom.value: N_("Every few days"),
}
MONTHLY: dict[str, str] = {
    MonthlyFrequency.day_of_month.value: N_("On a day of the month"),
    MonthlyFrequency.last_day_of_month.value: N_("On the last day of the month"),
    MonthlyFrequency.custom.value: N_("On a weekday of a week of the month"),
}
WEEKS_OF_MONTH: dict[str, str] = {
    WeekOfMonth.first.value: N_("first"),
    WeekOfMonth.second.value: N_("second"),
    WeekOfMonth.third.value: N_("third"),
    WeekOfMonth.fourth.value: N_("fourth"),
    WeekOfMonth.last.value: N_("last"),
}
#: The SDK's days, Sunday first (its weeks start on Sunday), and Babel's index of each.
DAYS: tuple[tuple[DayOfWeek, int], ...] = (
    (DayOfWeek.sunday, 6),
    (DayOfWeek.monday, 0),
    (DayOfWeek.tuesday, 1),
    (DayOfWeek.wednesday, 2),
    (DayOfWeek.thursday, 3),
    (DayOfWeek.friday, 4),
    (DayOfWeek.saturday, 5),
)
_PARAMETERS = {
    RecurrenceType.none: "onceOnlyScheduleParameters",
    RecurrenceType.hourly: "hourlyScheduleParameters",
    RecurrenceType.daily: "dailyScheduleParameters",
    RecurrenceType.weekly: "weeklyScheduleParameters",
    RecurrenceType.monthly: "monthlyScheduleParameters",
}
#: JSON field below ``scheduleDetails`` -> the form field showing its error (longest match).
SCHEDULE_FIELDS: dict[str, str] = {
    "timeZone": "time_zone",
    "recurrenceType": "recurrence",
    "recurrenceCount": "count",
    "endTime": "end_at",
    **{name: "start_at" for name in _PARAMETERS.values()},
    **{f"{name}.startTime": "start_at" for name in _PARAMETERS.values()},
    "hourlyScheduleParameters.minutesPastTheHour": "minutes",
    "dailyScheduleParameters.frequencyType": "daily",
    "dailyScheduleParameters.customInterval": "every_days",
    "weeklyScheduleParameters.interval": "every_weeks",
    "weeklyScheduleParameters.days": "weekdays",
    "monthlyScheduleParameters.frequencyType": "monthly",
    "monthlyScheduleParameters.dayOfMonth": "day_of_month",
    "monthlyScheduleParameters.weekOfMonth": "week_of_month",
    "monthlyScheduleParameters.dayOfWeek": "day_of_week",
    "monthlyScheduleParameters.months": "months",
}


def day_names(locale: str) -> list[tuple[str, str]]:
    """(SDK day, its name in ``locale``), Sunday first."""
    names = Locale.parse(locale, sep="-").days["format"]["wide"]
    return [(day.value, str(names[index])) for day, index in DAYS]


def month_names(locale: str) -> list[tuple[str, str]]:
    """(SDK month, its name in ``locale``), January first."""
    names = Locale.parse(locale, sep="-").months["format"]["wide"]
    return [(month.value, str(names[month.number])) for month in Month]


@dataclass
class ScheduleForm:
    """What the schedule part of a task form holds, as typed."""

    time_zone: str = "UTC"
    recurrence: str = RecurrenceType.weekly.value
    start: str = ""
    end: str = ""
    count: str = ""
    minutes: str = "0"
    daily: str = DailyFrequency.everyday.value
    every_days: str = "2"
    every_weeks: str = "1"
    weekdays: list[str] = field(default_factory=lambda: [DayOfWeek.monday.value])
    monthly: str = MonthlyFrequency.day_of_month.value
    day_of_month: str = "1"
    week_of_month: str = WeekOfMonth.last.value
    day_of_week: str = DayOfWeek.friday.value
    months: list[str] = field(default_factory=list)

    @classmethod
    def posted(cls, form: FormData) -> ScheduleForm:
        return cls(
            time_zone=text(form, "time_zone") or "UTC",
            recurrence=text(form, "recurrence"),
            start=text(form, "start_at"),
            end=text(form, "end_at"),
            count=text(form, "count"),
            minutes=text(form, "minutes"),
            daily=text(form, "daily"),
            every_days=text(form, "every_days"),
            every_weeks=text(form, "every_weeks"),
            weekdays=[v for v in form.getlist("weekdays") if isinstance(v, str)],
            monthly=text(form, "monthly"),
            day_of_month=text(form, "day_of_month"),
            week_of_month=text(form, "week_of_month"),
            day_of_week=text(form, "day_of_week"),
            months=[v for v in form.getlist("months") if isinstance(v, str)],
        )

    @classmethod
    def of(cls, details: ScheduleDetails) -> ScheduleForm:
        """The form showing a stored schedule, its times in the schedule's zone."""
        zone = details.zone
        form = cls(
            time_zone=details.time_zone,
            recurrence=details.recurrence_type.value,
            start=show_local(details.start, zone),
            end=show_local(details.end, zone),
            count="" if details.recurrence_count is None else str(details.recurrence_count),
        )
        if details.hourly_schedule_parameters is not None:
            form.minutes = details.hourly_schedule_parameters.minutes_past_the_hour.value
        if details.daily_schedule_parameters is not None:
            daily = details.daily_schedule_parameters
            form.daily = daily.frequency_type.value
            form.every_days = str(daily.custom_interval or 2)
        if details.weekly_schedule_parameters is not None:
            weekly = details.weekly_schedule_parameters
            form.every_weeks = str(weekly.interval)
            form.weekdays = [day.value for day in weekly.days]
        if details.monthly_schedule_parameters is not None:
            monthly = details.monthly_schedule_parameters
            form.monthly = monthly.frequency_type.value
            form.day_of_month = str(monthly.day_of_month or 1)
            form.week_of_month = (monthly.week_of_month or WeekOfMonth.last).value
            form.day_of_week = (monthly.day_of_week or DayOfWeek.friday).value
            form.months = [month.value for month in monthly.months or ()]
        return form

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's zone (UTC while the chosen one is unknown: the model names it)."""
        try:
            return zone_named(self.time_zone)
        except ValueError:
            return ZoneInfo("UTC")

    def _time(self, value: str) -> Any:
        """Epoch milliseconds of a local date and time in the zone; else the text as typed."""
        moment = read_local(value, self.zone)
        return value.strip() if moment is None else round(moment.timestamp() * 1000)

    def to_api(self) -> dict[str, Any]:
        """The SDK's ``scheduleDetails`` of the form, as typed (the model decides)."""
        data: dict[str, Any] = {"timeZone": self.time_zone, "recurrenceType": self.recurrence}
        if self.count.strip():
            data["recurrenceCount"] = _number(self.count)
        if self.end.strip():
            data["endTime"] = self._time(self.end)
        try:
            recurrence = RecurrenceType(self.recurrence)
        except ValueError:
            return data  # the model names the unknown recurrenceType
        params: dict[str, Any] = {}
        if recurrence is not RecurrenceType.hourly or self.start.strip():
            params["startTime"] = self._time(self.start)
        params.update(self._parameters(recurrence))
        data[_PARAMETERS[recurrence]] = params
        return data

    def _parameters(self, recurrence: RecurrenceType) -> dict[str, Any]:
        """The recurrence's own parameters (all but its start)."""
        if recurrence is RecurrenceType.hourly:
            return {"minutesPastTheHour": self.minutes}
        if recurrence is RecurrenceType.daily:
            daily: dict[str, Any] = {"frequencyType": self.daily}
            if self.daily == DailyFrequency.custom.value:
                daily["customInterval"] = _number(self.every_days)
            return daily
        if recurrence is RecurrenceType.weekly:
            return {"interval": _number(self.every_weeks), "days": self.weekdays}
        if recurrence is RecurrenceType.monthly:
            monthly: dict[str, Any] = {"frequencyType": self.monthly}
            if self.monthly == MonthlyFrequency.day_of_month.value:
                monthly["dayOfMonth"] = _number(self.day_of_month)
            elif self.monthly == MonthlyFrequency.custom.value:
                monthly["weekOfMonth"] = self.week_of_month
                monthly["dayOfWeek"] = self.day_of_week
            if self.months:
                monthly["months"] = self.months
            return monthly
        return {}

    def details(self) -> ScheduleDetails:
        """The schedule, or ``InvalidInput`` naming the fields it refuses (below
        ``scheduleDetails``, as a task's refusals name them)."""
        try:
            return ScheduleDetails.model_validate(self.to_api())
        except ValidationError as error:
            raise InvalidInput(describe(error, where="scheduleDetails")) from None


@dataclass(frozen=True)
class Upcoming:
    """The next occurrences of a schedule being edited (ISO instant, and as its zone's clock
    shows it in the viewer's language), or why there are none."""

    moments: tuple[tuple[str, str], ...]
    zone: str
    problem: str = ""


def upcoming(form: ScheduleForm, *, now: datetime, locale: str, count: int = UPCOMING) -> Upcoming:
    """The schedule's next ``count`` occurrences after ``now``, or its refusal."""
    try:
        details = form.details()
        found = tuple(occurrences(details, after=now, limit=count))
    except InvalidInput as error:
        return Upcoming((), form.time_zone, str(error))
    except (OverflowError, ValueError):
        return Upcoming((), form.time_zone, "scheduleDetails: beyond the dates reportd can compute")
    return Upcoming(
        tuple((m.isoformat(), in_zone(m, details.time_zone, locale)) for m in found),
        details.time_zone,
    )


def minutes_options() -> list[tuple[str, str]]:
    return [(m.value, f"{int(m.value):02d}") for m in MinutesPastTheHour]


def first_start(now: datetime, zone: ZoneInfo) -> str:
    """A new schedule's start: the next whole hour on the zone's clock."""
    wall = now.astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    return (wall + timedelta(hours=1)).strftime(LOCAL_FORMAT)


@dataclass(frozen=True)
class ScheduleSummary:
    """A schedule in words' parts, for the templates to say (names already in the locale)."""

    recurrence: str
    zone: str
    #: The time of day of daily, weekly and monthly runs; the moment of a single run.
    at: str
    minutes: str = ""
    frequency: str = ""
    interval: int = 1
    #: The chosen weekdays or months as the locale lists them ("Monday and Thursday").
    days: str = ""
    day_of_month: int | None = None
    week_of_month: str = ""
    day_of_week: str = ""
    months: str = ""
    count: int | None = None
    end: str = ""


def summarize(details: ScheduleDetails, locale: str) -> ScheduleSummary:
    """``details`` in words' parts, times on the schedule's clock, in ``locale``."""
    babel = Locale.parse(locale, sep="-")
    zone = details.zone
    days = dict(day_names(locale))
    months = dict(month_names(locale))
    start = details.start
    if details.recurrence_type is RecurrenceType.none:
        at = "" if start is None else format_datetime(start, "medium", tzinfo=zone, locale=babel)
    else:
        at = "" if start is None else format_time(start, "short", tzinfo=zone, locale=babel)
    end = details.end
    summary = ScheduleSummary(
        recurrence=details.recurrence_type.value,
        zone=details.time_zone,
        at=str(at),
        count=details.recurrence_count,
        end="" if end is None else str(format_datetime(end, "medium", tzinfo=zone, locale=babel)),
    )
    hourly = details.hourly_schedule_parameters
    daily = details.daily_schedule_parameters
    weekly = details.weekly_schedule_parameters
    monthly = details.monthly_schedule_parameters
    if hourly is not None:
        return replace(summary, minutes=f"{int(hourly.minutes_past_the_hour.value):02d}")
    if daily is not None:
        return replace(
            summary, frequency=daily.frequency_type.value, interval=daily.custom_interval or 1
        )
    if weekly is not None:
        chosen = {day.value for day in weekly.days}
        return replace(
            summary,
            interval=weekly.interval,
            days=format_list(
                [name for value, name in days.items() if value in chosen], locale=babel
            ),
        )
    if monthly is not None:
        return replace(
            summary,
            frequency=monthly.frequency_type.value,
            day_of_month=monthly.day_of_month,
            week_of_month=(monthly.week_of_month or WeekOfMonth.last).value,
            day_of_week=days.get((monthly.day_of_week or DayOfWeek.friday).value, ""),
            months=format_list([months[m.value] for m in monthly.months or ()], locale=babel)
            if monthly.months
            else "",
        )
    return summary
