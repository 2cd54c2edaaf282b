"""When a scheduled task fires: its occurrences, and what is due after downtime.

Pure functions: no database and no clock, ``now`` is always passed in. Datetimes going in must
be aware; those coming out are in UTC.

Wall-clock rule. Times of day, weekdays and dates are those of the task's zone. dateutil's
``rrule`` generates naive wall-clock times (given an aware start it keeps the tzinfo on every
result, so it yields a non-existent 02:30 on a spring-forward day and only the first 01:30 of a
fall-back day); each wall-clock time is then resolved to UTC here:

- daily, weekly, monthly: a run fires at the first instant the zone's clock shows its time or
  later. A time skipped by a spring-forward fires once that day, when the gap ends (daily 02:30
  in America/New_York fires at 03:00 EDT on 2026-03-08); a time shown twice on a fall-back day
  fires once, at its first showing (01:30 EDT on 2026-11-01, i.e. fold=0).
- hourly: a run fires each time the clock shows the minutes past the hour: none in a skipped
  hour, one in each showing of a repeated hour, so where clocks change by a whole hour there is
  one run per hour of elapsed time and "last 1 hour" windows neither overlap nor leave gaps.
- none: once, at startTime (an instant; no wall clock involved).

No run is before the start (startTime, to the second; its wall-clock time in the task's zone is
the time of day of daily, weekly and monthly runs) or after ``endTime``; ``recurrenceCount``
counts runs from the start. Weekly intervals count weeks starting on Sunday, as the SDK lists its
days. Monthly day-of-month N runs only in months that have a day N (like rrule's
``bymonthday`` and RFC 5545): day 31 skips April; ``last-day-of-month`` is the month's end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import islice

from dateutil.rrule import DAILY, FR, HOURLY, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, rrule

from service.reports.wallclock import every_showing, first_showing, wall
from service.scheduling.task_schema import (
    DailyFrequency,
    DailyScheduleParameters,
    DayOfWeek,
    HourlyScheduleParameters,
    MisfirePolicy,
    MonthlyFrequency,
    MonthlyScheduleParameters,
    RecurrenceType,
    ScheduleDetails,
    WeeklyScheduleParameters,
    WeekOfMonth,
)

#: With misfire policy "skip", a due occurrence at most this old still fires.
DEFAULT_MISFIRE_GRACE = timedelta(minutes=5)

#: More than any clock change: how far before a wall-clock time rrule generation may begin
#: and still miss nothing (a repeated hour after the start, a resumed listing).
_CLOCK_CHANGE_SLACK = timedelta(days=3)

_WEEKDAY = {
    DayOfWeek.sunday: SU,
    DayOfWeek.monday: MO,
    DayOfWeek.tuesday: TU,
    DayOfWeek.wednesday: WE,
    DayOfWeek.thursday: TH,
    DayOfWeek.friday: FR,
    DayOfWeek.saturday: SA,
}
_NTH = {
    WeekOfMonth.first: 1,
    WeekOfMonth.second: 2,
    WeekOfMonth.third: 3,
    WeekOfMonth.fourth: 4,
    WeekOfMonth.last: -1,
}


@dataclass(frozen=True)
class FiringPlan:
    """What to do with the occurrences due now; the caller records every one of them.

    ``fire`` is the occurrence to run (a run's report window is computed from it), or None.
    ``coalesced`` are earlier occurrences covered by that run; ``skipped`` get no run at all.
    """

    fire: datetime | None
    coalesced: tuple[datetime, ...] = ()
    skipped: tuple[datetime, ...] = ()

    @cached_property
    def due(self) -> tuple[datetime, ...]:
        """Every due occurrence, oldest first (computed once: a tick reads it per record)."""
        fired = () if self.fire is None else (self.fire,)
        return tuple(sorted(self.coalesced + self.skipped + fired))

    @property
    def latest(self) -> datetime | None:
        """The newest due occurrence: the caller's next ``last_fired``, fired or not."""
        return max(self.due, default=None)


def occurrences(
    details: ScheduleDetails,
    *,
    after: datetime,
    until: datetime | None = None,
    limit: int | None = None,
) -> Iterator[datetime]:
    """The schedule's occurrences strictly after ``after`` and up to ``until`` included, in UTC."""
    _require_aware(after=after, until=until)
    found = _occurrences(details, after=after)
    if until is not None:
        found = _up_to(found, until)
    return found if limit is None else islice(found, limit)


def next_occurrence(details: ScheduleDetails, *, after: datetime) -> datetime | None:
    """The first occurrence strictly after ``after``, or None when the schedule has ended."""
    return next(occurrences(details, after=after, limit=1), None)


def due_occurrences(
    details: ScheduleDetails, *, last_fired: datetime | None, now: datetime
) -> list[datetime]:
    """Every occurrence in (``last_fired``, ``now``]: more than one means runs were missed.

    ``last_fired`` is the ``FiringPlan.latest`` of the previous plan; for a task that never fired,
    its creation time (nothing before it is due) or None for every occurrence since the start.
    An hourly schedule without startTime has no start, so it needs ``last_fired``.
    """
    _require_aware(last_fired=last_fired, now=now)
    if last_fired is None and details.start is None:
        raise ValueError("an hourly schedule without startTime needs last_fired")
    return list(_up_to(_occurrences(details, after=last_fired), now))


def plan_firing(
    details: ScheduleDetails,
    misfire_policy: MisfirePolicy,
    *,
    last_fired: datetime | None,
    now: datetime,
    grace: timedelta = DEFAULT_MISFIRE_GRACE,
) -> FiringPlan:
    """Decide which of the due occurrences (see ``due_occurrences``) runs.

    - coalesce: one run, for the latest due occurrence; the earlier ones are coalesced into it.
    - skip: the latest due occurrence runs only if it is at most ``grace`` old (a scheduler tick
      on time); every other due occurrence is skipped, so after downtime nothing runs until the
      next occurrence.
    """
    due = due_occurrences(details, last_fired=last_fired, now=now)
    if not due:
        return FiringPlan(fire=None)
    *earlier, latest = due
    if misfire_policy is MisfirePolicy.coalesce:
        return FiringPlan(fire=latest, coalesced=tuple(earlier))
    if now - latest <= grace:
        return FiringPlan(fire=latest, skipped=tuple(earlier))
    return FiringPlan(fire=None, skipped=tuple(due))


def _require_aware(**moments: datetime | None) -> None:
    for name, moment in moments.items():
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name}={moment} is naive; scheduling needs aware datetimes")


def _up_to(found: Iterator[datetime], until: datetime) -> Iterator[datetime]:
    for moment in found:
        if moment > until:
            return
        yield moment


def _occurrences(details: ScheduleDetails, *, after: datetime | None) -> Iterator[datetime]:
    """Occurrences after ``after`` (all, if None), ascending; start, count and end applied."""
    start = details.start
    if start is not None:
        start = start.replace(microsecond=0)
    found = _from_start(details, start, after)
    if details.recurrence_count is not None:
        found = islice(found, details.recurrence_count)
    if details.end is not None:
        found = _up_to(found, details.end)
    return (moment for moment in found if after is None or moment > after)


def _from_start(
    details: ScheduleDetails, start: datetime | None, after: datetime | None
) -> Iterator[datetime]:
    """Every occurrence from the start; may begin near ``after`` when nothing counts runs."""
    if details.recurrence_type is RecurrenceType.none:
        assert start is not None  # validated: once-only parameters have a startTime
        yield start
        return
    zone = details.zone
    resume = None
    if after is not None and details.recurrence_count is None:
        resume = wall(after.astimezone(UTC), zone) - _CLOCK_CHANGE_SLACK
    if start is None:
        assert resume is not None  # validated: recurrenceCount needs an hourly startTime
        start_wall = resume
    else:
        start_wall = wall(start, zone)
    hourly = details.recurrence_type is RecurrenceType.hourly
    if hourly:
        # The clock may show an hour again after the start (fall-back): begin reading it earlier.
        start_wall -= _CLOCK_CHANGE_SLACK
    previous = None
    for clock in _rule(details, start_wall, resume):
        for moment in every_showing(clock, zone) if hourly else [first_showing(clock, zone)]:
            # A wall-clock time in a long gap can resolve onto the next one: fire once.
            if (start is None or moment >= start) and moment != previous:
                previous = moment
                yield moment


def _rule(details: ScheduleDetails, start_wall: datetime, resume: datetime | None) -> rrule:
    """The rrule of naive wall-clock times; ``resume`` skips whole periods before it, if any."""
    params = details.parameters
    at: dict[str, object] = {
        "byhour": start_wall.hour,
        "byminute": start_wall.minute,
        "bysecond": start_wall.second,
    }
    interval = 1
    period: timedelta | None
    match params:
        case HourlyScheduleParameters():
            freq, period = HOURLY, timedelta(hours=1)
            at = {"byminute": int(params.minutes_past_the_hour), "bysecond": 0}
        case DailyScheduleParameters():
            freq, period = DAILY, timedelta(days=1)
            if params.frequency_type is DailyFrequency.custom:
                interval = params.custom_interval or 1
            elif params.frequency_type is DailyFrequency.weekdays:
                at["byweekday"] = (MO, TU, WE, TH, FR)
        case WeeklyScheduleParameters():
            freq, period, interval = WEEKLY, timedelta(weeks=1), params.interval
            at["byweekday"] = tuple(_WEEKDAY[day] for day in params.days)
        case MonthlyScheduleParameters():
            freq, period = MONTHLY, None  # months differ in length: always from the start
            at.update(_monthly_days(params))
        case _:
            raise AssertionError(f"no rule for {params!r}")
    if resume is not None and period is not None and resume > start_wall:
        # Whole multiples of the interval keep the phase of "every N days/weeks".
        step = period * interval
        start_wall += (resume - start_wall) // step * step
    return rrule(freq, dtstart=start_wall, interval=interval, wkst=SU, cache=False, **at)


def _monthly_days(params: MonthlyScheduleParameters) -> dict[str, object]:
    days: dict[str, object] = {}
    if params.months is not None:
        days["bymonth"] = tuple(month.number for month in params.months)
    if params.frequency_type is MonthlyFrequency.day_of_month:
        days["bymonthday"] = params.day_of_month
    elif params.frequency_type is MonthlyFrequency.last_day_of_month:
        days["bymonthday"] = -1
    else:
        assert params.day_of_week is not None and params.week_of_month is not None
        days["byweekday"] = _WEEKDAY[params.day_of_week](_NTH[params.week_of_month])
    return days
