"""What a report run asks for: one typed, frozen value, built once at each edge.

The API (``POST /reports`` and a scheduled task's ``generateReportTaskParameters``), the CLI
(``reportd send``, ``render``, ``tasks add|edit``) and the scheduler build a :class:`ReportSpec`
from the console's JSON (the SDK's ``GenerateReportTaskParameters`` without ``recipients``)
or from their own flags, and store it in that same JSON; a run's spec is parsed once when the
run is read. Nothing after the edge reads the JSON's keys.

The JSON, in the SDK's names (``deepsecurity.models`` 20.0), with reportd's extensions:

- ``reportTemplateID`` (the kind, ``service.reports.kinds``), ``format``, ``classification``;
- ``timeRange``: ``units`` and ``value``, the SDK's relative window before the run's end (the
  task's occurrence, or now); or reportd's fixed window ``startTime`` and ``endTime`` (epoch
  milliseconds, as the SDK's times; the SDK's ``TimeRange`` ignores them when it reads);
- ``computerFilter`` and ``tagFilter`` as the SDK's (``smartFolderID`` names a smart folder);
- ``attachCSV`` (reportd): the CSV rows attached next to the PDF;
- ``skipIfEmpty`` (reportd): a recipient whose report holds nothing of its period is not
  mailed; the delivery is recorded ``skipped`` with the reason.

Invalid input is an ``InvalidInput`` naming the JSON field (``timeRange.value: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from service.errors import InvalidInput
from service.fields import ID, PeriodCount, TagLabel
from service.reports.kinds import BY_TEMPLATE_ID, BY_TYPE, kind_of, known_templates
from service.reports.model import Classification, PeriodSpan, ReportFormat, ReportType, TimeUnit
from service.reports.wallclock import first_showing, wall
from storage.scoped import FILTER_ID, ComputerFilterType, ReportFilter, TagFilterType

#: Latest time a window may name: the end of the year 9998, in epoch milliseconds.
MAX_MILLIS = round(datetime(9998, 12, 31, tzinfo=UTC).timestamp() * 1000)


StrictCount = PeriodCount
Millis = Annotated[int, Field(strict=True, ge=0, le=MAX_MILLIS)]
StrictID = ID
TagName = TagLabel


class _Shape(BaseModel):
    """A part of the console's JSON: camelCase aliases, unknown keys refused, frozen."""

    model_config = ConfigDict(
        populate_by_name=True, serialize_by_alias=True, extra="forbid", frozen=True
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON object as the console API writes it: camelCase, no nulls, no unset fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


class RelativeRange(_Shape):
    """The SDK's window: the ``value`` ``units`` before the run's end."""

    units: TimeUnit
    value: StrictCount

    @property
    def span(self) -> PeriodSpan:
        """The window as asked ("the last 1 month"): what a report calls it."""
        return PeriodSpan(value=self.value, unit=self.units)


class CustomRange(_Shape):
    """reportd's fixed window: from ``startTime`` up to ``endTime`` (epoch milliseconds)."""

    start_time: Millis = Field(alias="startTime")
    end_time: Millis = Field(alias="endTime")

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> CustomRange:
        if self.end_time <= self.start_time:
            raise ValueError(f"endTime {self.end_time} is not after startTime {self.start_time}")
        return self

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_time / 1000, UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.end_time / 1000, UTC)


def _range_form(value: Any) -> str:
    """Which window a ``timeRange`` is: one with a start or an end is a custom one."""
    if isinstance(value, CustomRange):
        return "custom"
    custom = {"startTime", "endTime", "start_time", "end_time"}
    # A window with both forms' fields is read as custom, so its units and value are named.
    return "custom" if isinstance(value, Mapping) and custom & set(value) else "relative"


TimeRange = Annotated[
    Annotated[RelativeRange, Tag("relative")] | Annotated[CustomRange, Tag("custom")],
    Discriminator(_range_form),
]
#: The SDK's default window when a task names none: the day before its occurrence.
LAST_DAY = RelativeRange(units=TimeUnit.day, value=1)
#: ``reportd send``'s and ``POST /reports``'s default window.
LAST_WEEK = RelativeRange(units=TimeUnit.day, value=7)


class ComputerFilter(_Shape):
    """The SDK's ``ComputerFilter``: which computers (within the clearance) a report covers."""

    type: ComputerFilterType
    computer_id: StrictID | None = Field(None, alias="computerID")
    computer_group_id: StrictID | None = Field(None, alias="computerGroupID")
    policy_id: StrictID | None = Field(None, alias="policyID")
    smart_folder_id: StrictID | None = Field(None, alias="smartFolderID")

    @model_validator(mode="after")
    def _type_needs_its_id(self) -> ComputerFilter:
        wanted = FILTER_ID.get(self.type)
        if wanted is not None and getattr(self, wanted) is None:
            alias = type(self).model_fields[wanted].alias
            raise ValueError(f"computerFilter type {self.type.value} needs {alias}")
        return self


class TagFilter(_Shape):
    """The SDK's ``TagFilter``: computers with given tags, untagged ones, or all."""

    type: TagFilterType
    #: Used by type specific-tags.
    tags: tuple[TagName, ...] | None = None

    @model_validator(mode="after")
    def _specific_needs_tags(self) -> TagFilter:
        if self.type is TagFilterType.specific_tags and not self.tags:
            raise ValueError("tagFilter type specific-tags needs tags")
        return self


ALL_COMPUTERS = ComputerFilter(type=ComputerFilterType.all_computers)
ALL_TAGS = TagFilter(type=TagFilterType.all)


def _kind_of_template(value: Any) -> Any:
    """``reportTemplateID`` (a whole number) to its report type; a report type as it is."""
    if isinstance(value, ReportType):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"a report template ID is a whole number, not {value!r:.40}")
    kind = BY_TEMPLATE_ID.get(value)
    if kind is None:
        raise ValueError(f"reportTemplateID {value} is unknown; use {known_templates()}")
    return kind.report_type


Kind = Annotated[
    ReportType,
    BeforeValidator(_kind_of_template),
    PlainSerializer(lambda kind: BY_TYPE[kind].template_id, return_type=int),
    WithJsonSchema(
        {"type": "integer", "minimum": 1, "description": "The report template (its kind)."}
    ),
]


class ReportSpec(_Shape):
    """One report as a run asks for it: kind, format, classification, window and filters."""

    kind: Kind = Field(alias="reportTemplateID")
    format: ReportFormat = ReportFormat.pdf
    classification: Classification = Classification.blank
    time_range: TimeRange = Field(LAST_DAY, alias="timeRange")
    computer_filter: ComputerFilter = Field(ALL_COMPUTERS, alias="computerFilter")
    tag_filter: TagFilter = Field(ALL_TAGS, alias="tagFilter")
    attach_csv: bool = Field(False, alias="attachCSV")
    #: reportd's: a recipient whose report holds nothing of its period is not mailed; the
    #: delivery ends ``skipped``, with the reason (``service.reports.rendering.holds_nothing``).
    skip_if_empty: bool = Field(False, alias="skipIfEmpty", strict=True)

    @model_validator(mode="after")
    def _made_by_reportd(self) -> ReportSpec:
        formats = BY_TYPE[self.kind].formats
        if self.format not in formats:
            made = ", ".join(f.value for f in formats)
            raise ValueError(f"format {self.format.value!r}: reportd makes {made}")
        return self

    @classmethod
    def from_api(cls, data: Any, *, where: str = "") -> ReportSpec:
        """The spec of the console's JSON; ``where`` prefixes the field a message names."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidInput(describe(error, where=where)) from None

    @classmethod
    def stored(cls, report_type: str, parameters: Mapping[str, Any]) -> ReportSpec:
        """The spec of a stored run: its parameters, and its kind from the run's own type."""
        try:
            kind = kind_of(report_type)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        return cls.from_api({**parameters, "reportTemplateID": kind.template_id})

    @property
    def report_template_id(self) -> int:
        """The SDK's name of the kind: its ``reportTemplateID``."""
        return BY_TYPE[self.kind].template_id

    @property
    def spec(self) -> ReportSpec:
        """This spec alone, every field set (a request body's extra fields left behind)."""
        return ReportSpec(**{name: getattr(self, name) for name in ReportSpec.model_fields})

    @property
    def report_filter(self) -> ReportFilter:
        """The computer and tag filter as the scoped queries apply them."""
        computers, tags = self.computer_filter, self.tag_filter
        return ReportFilter(
            computer_filter=computers.type,
            computer_id=computers.computer_id,
            computer_group_id=computers.computer_group_id,
            policy_id=computers.policy_id,
            smart_folder_id=computers.smart_folder_id,
            tag_filter=tags.type,
            tags=frozenset(tags.tags or ()),
        )

    @property
    def span(self) -> PeriodSpan | None:
        """The window as asked, for the report to call it by ("1 Monat", not "4 Wochen" for
        the month before 31 March); None for a custom window (the report names its length)."""
        window = self.time_range
        return window.span if isinstance(window, RelativeRange) else None

    def period(self, *, end: datetime, time_zone: str = "UTC") -> tuple[datetime, datetime]:
        """The window the report covers (see :func:`period_of`)."""
        return period_of(self.time_range, end=end, time_zone=time_zone)


#: timedelta's keyword for the day and week units of a relative window.
_CALENDAR_UNIT = {TimeUnit.day: "days", TimeUnit.week: "weeks"}


def period_of(
    window: RelativeRange | CustomRange, *, end: datetime, time_zone: str = "UTC"
) -> tuple[datetime, datetime]:
    """A window in UTC: a custom one as given; a relative one ends at ``end`` (the occurrence
    of a task, or now), its calendar units read in ``time_zone`` (the task's zone; UTC for a
    one-off report), a start that falls in a clock change resolved by the wall-clock rule
    (``service.reports.wallclock``)."""
    if isinstance(window, CustomRange):
        return window.start, window.end
    if end.utcoffset() is None:
        raise ValueError(f"end={end} is naive; a report window needs an aware datetime")
    end = end.astimezone(UTC)
    zone = ZoneInfo(time_zone)
    try:
        if window.units is TimeUnit.hour:
            return end - timedelta(hours=window.value), end
        # Days and weeks on a naive wall clock are plain timedeltas (what relativedelta adds
        # for them, at a tenth of its cost: a scheduler pass computes thousands of windows).
        span: timedelta | relativedelta
        if window.units is TimeUnit.month:
            span = relativedelta(months=window.value)
        else:
            span = timedelta(**{_CALENDAR_UNIT[window.units]: window.value})
        return first_showing(wall(end, zone) - span, zone), end
    except (OverflowError, ValueError):
        raise InvalidInput(
            f"timeRange: {window.value} {window.units.value}s before {end:%Y-%m-%d} is"
            " before the year 1"
        ) from None


#: Parts of an error's location that are pydantic's, not the JSON's: the window's forms.
_NOT_FIELDS = frozenset({"relative", "custom"})


def describe(error: ValidationError, *, where: str = "", whole: str = "report") -> str:
    """One line per problem, naming the JSON field (``timeRange.value: ...``) below ``where``;
    a problem of the object as a whole is named ``whole``."""
    lines = []
    for problem in error.errors():
        path = [str(part) for part in problem["loc"] if part not in _NOT_FIELDS]
        field = ".".join([where, *path] if where else path) or whole
        lines.append(f"{field}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)
