"""The flags that say which report: one set for ``reportd send``, ``render`` and ``tasks
add|edit``, read into the console's report JSON by one function.

Each flag's value is checked by the part of ``service.reports.spec`` it fills (the window by
``RelativeRange`` or ``CustomRange``, the filters by ``ComputerFilter`` and ``TagFilter``), so
the CLI accepts what the API accepts, and a refusal names the flag. Flags left out keep what the
base JSON says: the defaults for a new report, the stored task for ``tasks edit``.
``--smart-folder NAME|ID`` is looked up in the account by the ``folders`` the caller passes
(``smart_folder_ids``): a folder the account does not have is refused there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from service.cli.params import ID_PARAM, PERIOD, Text
from service.directory.smart_folders import find_folder
from service.errors import InvalidInput
from service.fields import Label
from service.reports.kinds import BY_TYPE, KINDS
from service.reports.model import Classification, ReportFormat, ReportType, TimeUnit
from service.reports.spec import (
    ComputerFilter,
    CustomRange,
    RelativeRange,
    ReportSpec,
    TagFilter,
    describe,
)
from storage.scoped import ComputerFilterType, TagFilterType

Command = TypeVar("Command", bound=Callable[..., Any])

#: "7d", "24h", "2w", "1m": the --last option's form.
LAST_PATTERN = re.compile(r"^\s*(\d+)\s*([hdwm])\s*$")
UNITS = {"h": TimeUnit.hour, "d": TimeUnit.day, "w": TimeUnit.week, "m": TimeUnit.month}
#: A new report's JSON before its flags: ``reportd send``'s defaults.
DEFAULTS: Mapping[str, Any] = {
    "reportTemplateID": BY_TYPE[ReportType.summary].template_id,
    "format": ReportFormat.pdf.value,
    "classification": Classification.blank.value,
    "timeRange": {"units": TimeUnit.day.value, "value": 7},
    "attachCSV": False,
}
#: The computer filter flags: (option name, filter type, its ID's field).
COMPUTER_FLAGS = (
    ("computer", ComputerFilterType.computer, "computer_id"),
    ("group", ComputerFilterType.computers_in_group, "computer_group_id"),
    ("group_tree", ComputerFilterType.computers_in_group_or_subgroup, "computer_group_id"),
    ("policy", ComputerFilterType.computers_using_policy, "policy_id"),
    ("policy_tree", ComputerFilterType.computers_using_policy_or_subpolicy, "policy_id"),
    ("smart_folder", ComputerFilterType.computers_in_smart_folder, "smart_folder_id"),
)
#: A smart folder's ID from what ``--smart-folder`` names (a name or an ID).
FolderIds = Callable[[str], int]
_FORMATS = sorted({f.value for kind in KINDS for f in kind.formats})


def report_options(command: Command) -> Command:
    """The options that say which report: type, window, format, CSV, skipping an empty one,
    and filters."""
    options = [
        click.option(
            "--type",
            "report_type",
            type=click.Choice([t.value for t in ReportType]),
            help="Report type (a new report: summary).",
        ),
        click.option(
            "--last", type=PERIOD, help="Window before the end: 24h, 7d, 2w, 1m (calendar months)."
        ),
        click.option("--from", "from_", metavar="TIME", help="Window start: 2026-03-01[ 08:00]."),
        click.option("--to", metavar="TIME", help="Window end (not included), with --from."),
        click.option("--format", "report_format", type=click.Choice(_FORMATS)),
        click.option("--attach-csv/--no-attach-csv", default=None, help="Attach the rows as CSV."),
        click.option(
            "--skip-if-empty/--no-skip-if-empty",
            default=None,
            help="Do not mail a recipient whose report holds nothing of its period (recorded"
            " skipped, with the reason).",
        ),
        click.option("--classification", type=click.Choice([c.value for c in Classification])),
        click.option("--computer", type=ID_PARAM, help="Only this computer (ID)."),
        click.option("--group", type=ID_PARAM, help="Only computers in this group (ID)."),
        click.option("--group-tree", type=ID_PARAM, help="Only this group and its sub-groups."),
        click.option("--policy", type=ID_PARAM, help="Only computers using this policy (ID)."),
        click.option("--policy-tree", type=ID_PARAM, help="Only this policy and its children."),
        click.option(
            "--smart-folder",
            metavar="NAME|ID",
            help="Only the computers of this smart folder (reportd smartfolders list).",
        ),
        click.option("--all-computers", is_flag=True, help="No computer filter (the default)."),
        click.option(
            "--tag", "tags", type=Text(Label), multiple=True, help="Only computers with this tag."
        ),
        click.option("--untagged", is_flag=True, help="Only computers without tags."),
        click.option("--all-tags", is_flag=True, help="No tag filter (the default)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def smart_folder_ids(session: Session, account_id: int) -> FolderIds:
    """``--smart-folder``'s lookup in the account (a name, or an ID)."""
    return lambda ref: find_folder(session, account_id, ref).id


def _no_folders(ref: str) -> int:
    raise InvalidInput(f"--smart-folder {ref!r}: this command takes no smart folder")


def report_json(
    options: Mapping[str, Any],
    *,
    base: Mapping[str, Any] = DEFAULTS,
    zone: str = "UTC",
    folders: FolderIds = _no_folders,
) -> dict[str, Any]:
    """``base`` (the console's report JSON) with what the ``report_options`` flags change;
    ``--from`` and ``--to`` without an offset are read in ``zone``; ``--smart-folder`` is
    looked up by ``folders``."""
    data = dict(base)
    if options["report_type"]:
        data["reportTemplateID"] = BY_TYPE[ReportType(options["report_type"])].template_id
    if options["report_format"]:
        data["format"] = options["report_format"]
    if options["classification"]:
        data["classification"] = options["classification"]
    if options["attach_csv"] is not None:
        data["attachCSV"] = options["attach_csv"]
    if options["skip_if_empty"] is not None:
        data["skipIfEmpty"] = options["skip_if_empty"]
    window = _time_range(options, zone)
    if window is not None:
        data["timeRange"] = window
    computers = _computer_filter(options, folders)
    if computers is not None:
        data["computerFilter"] = computers
    tags = _tag_filter(options)
    if tags is not None:
        data["tagFilter"] = tags
    return data


def report_spec(
    options: Mapping[str, Any], *, zone: str = "UTC", folders: FolderIds = _no_folders
) -> ReportSpec:
    """The spec a one-off report's flags describe (``reportd send`` and ``render``)."""
    return ReportSpec.from_api(report_json(options, zone=zone, folders=folders))


def parse_last(text: str) -> RelativeRange:
    """``--last N{h,d,w,m}`` as the window it names, checked as the API checks it."""
    match = LAST_PATTERN.match(text)
    if not match:
        raise InvalidInput(f"--last {text!r}: use a count and a unit, e.g. 24h, 7d, 2w, 1m")
    count = int(match.group(1)) if len(match.group(1)) <= 18 else 10**18
    return _checked(RelativeRange, "--last", {"units": UNITS[match.group(2)], "value": count})


def parse_time(text: str, zone: str, flag: str) -> datetime:
    """``2026-03-01``, ``2026-03-01 08:00`` (in ``zone``) or ISO 8601 with an offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{flag} {text!r}: use YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or ISO 8601 with an offset"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def _time_range(options: Mapping[str, Any], zone: str) -> dict[str, Any] | None:
    start, end, last = options["from_"], options["to"], options["last"]
    if last and (start or end):
        raise InvalidInput("use --last or --from and --to, not both")
    if last:
        return parse_last(last).to_api()
    if not (start or end):
        return None
    if not (start and end):
        raise InvalidInput("--from and --to go together: the window's start and end")
    window = _checked(
        CustomRange,
        "--from/--to",
        {
            "startTime": _millis(parse_time(start, zone, "--from")),
            "endTime": _millis(parse_time(end, zone, "--to")),
        },
    )
    return window.to_api()


def _computer_filter(options: Mapping[str, Any], folders: FolderIds) -> dict[str, Any] | None:
    chosen = [
        (f"--{name.replace('_', '-')}", kind, field, options.get(name))
        for name, kind, field in COMPUTER_FLAGS
        if options.get(name) is not None
    ]
    if options["all_computers"]:
        chosen.append(("--all-computers", ComputerFilterType.all_computers, "", None))
    if len(chosen) > 1:
        raise InvalidInput(
            "use at most one of --computer, --group, --group-tree, --policy, --policy-tree,"
            " --smart-folder, --all-computers"
        )
    if not chosen:
        return None
    flag, kind, field, value = chosen[0]
    if kind is ComputerFilterType.computers_in_smart_folder:
        value = folders(str(value))
    ids = {ComputerFilter.model_fields[field].alias or field: value} if field else {}
    return _checked(ComputerFilter, flag, {"type": kind, **ids}).to_api()


def _tag_filter(options: Mapping[str, Any]) -> dict[str, Any] | None:
    given = [bool(options["tags"]), bool(options["untagged"]), bool(options["all_tags"])]
    if sum(given) > 1:
        raise InvalidInput("use one of --tag, --untagged and --all-tags")
    if options["tags"]:
        data = {"type": TagFilterType.specific_tags, "tags": tuple(options["tags"])}
        return _checked(TagFilter, "--tag", data).to_api()
    if options["untagged"]:
        return TagFilter(type=TagFilterType.untagged).to_api()
    if options["all_tags"]:
        return TagFilter(type=TagFilterType.all).to_api()
    return None


Part = TypeVar("Part", bound=BaseModel)


def _checked(model: type[Part], flag: str, data: dict[str, Any]) -> Part:
    """``model`` of ``data`` (its JSON names), or an error naming ``flag`` and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(f"{flag}: {describe(error, whole='value')}") from None


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
