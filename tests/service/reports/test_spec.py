"""One typed report spec: read from the console's JSON and written back unchanged, bad shapes
refused naming the field, the same spec from every edge, windows in calendar months."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner

from service.api.reporting import ReportBody
from service.cli import App, cli
from service.cli.report_options import report_json, report_options, report_spec
from service.config import Settings
from service.directory.accounts import find_account
from service.errors import InvalidInput
from service.reports.model import Classification, ReportFormat, ReportType, TimeUnit
from service.reports.spec import (
    ComputerFilter,
    CustomRange,
    RelativeRange,
    ReportSpec,
    TagFilter,
    period_of,
)
from service.scheduling.scheduler import request_run_now, tick
from service.scheduling.task_schema import GenerateReportTaskParameters, ScheduledTask
from storage.models import ReportRun
from storage.scoped import ComputerFilterType, TagFilterType

#: A report as the SDK writes it (``GenerateReportTaskParameters`` without recipients), with
#: reportd's attachCSV.
SDK_REPORT: dict[str, Any] = {
    "reportTemplateID": 7,
    "format": "pdf",
    "classification": "confidential",
    "timeRange": {"units": "month", "value": 1},
    "computerFilter": {"type": "computers-in-group-or-subgroup", "computerGroupID": 3},
    "tagFilter": {"type": "specific-tags", "tags": ["pci", "prod"]},
    "attachCSV": True,
    "skipIfEmpty": True,
}
#: The same report in typed form.
TYPED = ReportSpec(
    kind=ReportType.firewall,
    format=ReportFormat.pdf,
    classification=Classification.confidential,
    time_range=RelativeRange(units=TimeUnit.month, value=1),
    computer_filter=ComputerFilter(
        type=ComputerFilterType.computers_in_group_or_subgroup, computer_group_id=3
    ),
    tag_filter=TagFilter(type=TagFilterType.specific_tags, tags=("pci", "prod")),
    attach_csv=True,
    skip_if_empty=True,
)
#: Epoch milliseconds of 2026-03-01 and 2026-04-01, UTC.
MARCH_1, APRIL_1 = 1772323200000, 1775001600000


# --- JSON -> spec -> JSON ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        SDK_REPORT,
        {"reportTemplateID": 1},
        {"reportTemplateID": 12, "format": "csv", "timeRange": {"units": "hour", "value": 24}},
        {"reportTemplateID": 1, "timeRange": {"startTime": MARCH_1, "endTime": APRIL_1}},
        {"reportTemplateID": 2, "computerFilter": {"type": "computer", "computerID": 9}},
        {"reportTemplateID": 2, "tagFilter": {"type": "untagged"}},
        {"reportTemplateID": 5, "skipIfEmpty": True},
    ],
)
def test_given_the_console_json_when_read_and_written_back_then_it_is_unchanged(given) -> None:
    spec = ReportSpec.from_api(copy.deepcopy(given))

    assert spec.to_api() == given
    assert ReportSpec.from_api(spec.to_api()) == spec


def test_given_the_sdk_json_when_read_then_every_field_is_typed() -> None:
    spec = ReportSpec.from_api(SDK_REPORT)

    assert spec == TYPED
    assert spec.report_template_id == 7 and spec.kind is ReportType.firewall
    assert spec.report_filter.computer_group_id == 3
    assert spec.report_filter.tags == frozenset({"pci", "prod"})
    # A stored run keeps every field, so its spec reads back the same whatever the defaults.
    stored = spec.spec.to_api()
    assert ReportSpec.stored("firewall", {k: v for k, v in stored.items()}) == spec


def test_given_a_stored_run_without_its_template_id_when_read_then_its_type_names_the_kind() -> (
    None
):
    # Runs of the CLI and the API stored their parameters without reportTemplateID.
    old = {"format": "csv", "classification": "blank", "timeRange": {"units": "day", "value": 7}}

    spec = ReportSpec.stored("attack", old)

    assert spec.kind is ReportType.attack and spec.format is ReportFormat.csv


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reportTemplateID": 99}, "reportTemplateID: reportTemplateID 99 is unknown; use 1"),
        ({"reportTemplateID": True}, "reportTemplateID: a report template ID is a whole number"),
        ({"format": "rtf"}, "format 'rtf': reportd makes pdf, csv"),
        ({"format": "docx"}, "format: Input should be"),
        ({"classification": "cosmic"}, "classification: Input should be"),
        ({"timeRange": {"units": "year", "value": 1}}, "timeRange.units: Input should be"),
        ({"timeRange": {"units": "day", "value": 99999999999}}, "timeRange.value: Input should"),
        ({"timeRange": {"units": "day", "value": 0}}, "timeRange.value: Input should be greater"),
        ({"timeRange": {"units": "day", "value": "7"}}, "timeRange.value: Input should be a valid"),
        (
            {"timeRange": {"startTime": APRIL_1, "endTime": MARCH_1}},
            f"timeRange: endTime {MARCH_1} is not after startTime {APRIL_1}",
        ),
        ({"timeRange": {"startTime": MARCH_1}}, "timeRange.endTime: Field required"),
        (
            {"timeRange": {"units": "day", "value": 1, "startTime": MARCH_1, "endTime": APRIL_1}},
            "timeRange.units: Extra inputs are not permitted",
        ),
        ({"computerFilter": {"type": "computer"}}, "computerFilter type computer needs computerID"),
        ({"computerFilter": {"type": "everything"}}, "computerFilter.type: Input should be"),
        (
            {"computerFilter": {"type": "computer", "computerID": 10**20}},
            "computerFilter.computerID: Input should be less than or equal",
        ),
        ({"tagFilter": {"type": "specific-tags"}}, "tagFilter type specific-tags needs tags"),
        ({"tagFilter": {"type": "specific-tags", "tags": [""]}}, "tagFilter.tags.0: String"),
        ({"attachCSV": "maybe"}, "attachCSV: Input should be a valid boolean"),
        ({"skipIfEmpty": "yes"}, "skipIfEmpty: Input should be a valid boolean"),
        ({"skipIfEmpty": 1}, "skipIfEmpty: Input should be a valid boolean"),
        ({"recipients": {"contactIDs": [1]}}, "recipients: Extra inputs are not permitted"),
    ],
)
def test_given_a_bad_shape_when_read_then_the_error_names_the_field(change, message) -> None:
    data = {**SDK_REPORT, **change}

    with pytest.raises(InvalidInput) as refused:
        ReportSpec.from_api(data, where="generateReportTaskParameters")

    assert message in str(refused.value)
    assert str(refused.value).startswith("generateReportTaskParameters")


def test_a_spec_is_frozen_and_hashable() -> None:
    with pytest.raises(ValueError, match="frozen"):
        TYPED.format = ReportFormat.csv  # type: ignore[misc]
    assert hash(TYPED) == hash(ReportSpec.from_api(SDK_REPORT))


# --- every edge builds the same spec -------------------------------------------------------


def cli_spec(*flags: str) -> ReportSpec:
    """The spec the CLI's report flags give (click parses them, as for ``reportd send``)."""
    built: list[ReportSpec] = []

    @click.command()
    @report_options
    def probe(**options: Any) -> None:
        built.append(report_spec(options))

    result = CliRunner().invoke(probe, list(flags), standalone_mode=False, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return built[0]


FLAGS = (
    *("--type", "firewall", "--last", "1m", "--classification", "confidential"),
    *("--group-tree", "3", "--tag", "pci", "--tag", "prod", "--attach-csv", "--skip-if-empty"),
)


@pytest.fixture
def cli_app(tmp_path: Path) -> App:
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    # Three groups: FLAGS filter on group 3, which a report may only name when it exists
    groups = tmp_path / "groups.json"
    names = [{"ID": i, "name": f"Group {i}"} for i in (1, 2, 3)]
    groups.write_text(json.dumps({"computerGroups": names}))
    for args in (
        ["db", "upgrade"],
        ["accounts", "create", "Edges Inc."],
        ["import", str(groups)],
        ["contacts", "add", "--name", "Kim", "--email", "kim@example.com", "--role", "Auditor"],
    ):
        result = CliRunner().invoke(cli, args, obj=app)
        assert result.exit_code == 0, result.output
    return app


def test_given_one_report_when_asked_by_api_cli_task_and_scheduler_then_the_spec_is_the_same(
    cli_app: App,
) -> None:
    # Given the same report asked for through the API's POST /reports body
    body = ReportBody.model_validate({**SDK_REPORT, "recipients": {"contactIDs": [1]}})
    # And by the CLI's flags (reportd send, render)
    from_flags = cli_spec(*FLAGS)
    # And by `reportd tasks add` with the same flags, stored, then read as the SDK's JSON
    added = CliRunner().invoke(
        cli,
        ["tasks", "add", "--name", "Edges", "--daily", "02:00", "--contact", "Kim", *FLAGS],
        obj=cli_app,
    )
    assert added.exit_code == 0, added.output
    shown = json.loads(CliRunner().invoke(cli, ["tasks", "show", "Edges"], obj=cli_app).output)
    task = ScheduledTask.model_validate(shown)
    # And by the scheduler, firing that task into a run that is read back
    assert task.id is not None
    with cli_app.transaction() as session:
        account = find_account(session, "Edges Inc.")
        request_run_now(session, account_id=account.id, task_id=task.id)
        fired = tick(session, now=datetime.now(UTC))
        run = session.get(ReportRun, fired[0].run_id)
        assert run is not None
        from_run = ReportSpec.stored(run.report_type, run.parameters)

    # Then every edge built the same spec
    assert body.spec == from_flags == task.generate_report_task_parameters.spec == from_run
    assert from_run == TYPED


def test_given_the_api_default_window_when_stored_then_the_run_keeps_seven_days() -> None:
    body = ReportBody.model_validate({"reportTemplateID": 1, "recipients": {"contactIDs": [1]}})

    stored = body.spec.to_api()

    assert stored["timeRange"] == {"units": "day", "value": 7}
    assert ReportSpec.stored("summary", stored).time_range == RelativeRange(units="day", value=7)


def test_given_from_and_to_flags_when_read_then_the_window_is_custom_in_the_given_zone() -> None:
    spec = cli_spec("--from", "2026-03-01", "--to", "2026-04-01")
    tokyo = report_json(
        {**dict.fromkeys(OPTION_NAMES), "from_": "2026-03-01", "to": "2026-04-01", "tags": ()},
        zone="Asia/Tokyo",
    )

    assert spec.time_range == CustomRange(start_time=MARCH_1, end_time=APRIL_1)
    assert spec.period(end=datetime(2030, 1, 1, tzinfo=UTC)) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert tokyo["timeRange"] == {
        "startTime": MARCH_1 - 9 * 3600 * 1000,
        "endTime": APRIL_1 - 9 * 3600 * 1000,
    }


OPTION_NAMES = (
    "report_type last from_ to report_format attach_csv skip_if_empty classification computer"
    " group group_tree policy policy_tree all_computers tags untagged all_tags"
).split()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--last", "99999999999d"), "value: Input should be less than or equal to 3660"),
        (("--last", "0d"), "value: Input should be greater than or equal to 1"),
        (("--last", "7y"), "'7y': use a count and a unit"),
        (("--from", "2026-03-01"), "--from and --to go together"),
        (("--from", "2026-04-01", "--to", "2026-03-01"), "--from/--to: value: endTime"),
        (("--from", "yesterday", "--to", "2026-03-01"), "--from 'yesterday': use YYYY-MM-DD"),
        (("--last", "7d", "--from", "2026-03-01", "--to", "2026-04-01"), "not both"),
        (("--group", "1", "--policy", "2"), "use at most one of --computer"),
        (("--group", "0"), "Input should be greater than or equal to 1"),
        (("--tag", "pci", "--untagged"), "use one of --tag, --untagged and --all-tags"),
        (("--type", "alert", "--tag", ""), "--tag: tags.0: String should have at least 1"),
    ],
)
def test_given_bad_report_flags_when_read_then_the_error_names_the_flag(flags, message) -> None:
    # (a flag's own form and range are click's refusals, the rest the spec's)
    with pytest.raises((InvalidInput, click.BadParameter)) as refused:
        cli_spec(*flags)

    assert message in str(refused.value)


# --- windows: calendar months, month ends, a clock change ----------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def months(count: int) -> RelativeRange:
    return RelativeRange(units=TimeUnit.month, value=count)


@pytest.mark.parametrize(
    ("end", "count", "start"),
    [
        (datetime(2026, 3, 31, 10), 1, datetime(2026, 2, 28, 10)),  # February is shorter
        (datetime(2024, 3, 31, 10), 1, datetime(2024, 2, 29, 10)),  # a leap year's February
        (datetime(2026, 5, 31, 0), 3, datetime(2026, 2, 28, 0)),
        (datetime(2026, 4, 30, 12), 1, datetime(2026, 3, 30, 12)),  # not March's end
        (datetime(2026, 3, 1, 0), 1, datetime(2026, 2, 1, 0)),
        (datetime(2026, 1, 15, 8), 12, datetime(2025, 1, 15, 8)),
    ],
)
def test_given_the_last_n_months_when_computed_then_they_are_calendar_months(
    end, count, start
) -> None:
    assert period_of(months(count), end=end.replace(tzinfo=UTC)) == (
        start.replace(tzinfo=UTC),
        end.replace(tzinfo=UTC),
    )


def test_given_the_last_month_over_a_clock_change_when_computed_then_the_wall_clock_matches() -> (
    None
):
    # Given a window ending 15 April 10:00 in Berlin (summer time since 29 March)
    end = datetime(2026, 4, 15, 10, tzinfo=BERLIN)

    start, stop = period_of(months(1), end=end, time_zone="Europe/Berlin")

    # Then it starts 15 March 10:00 Berlin (winter time): a calendar month, an hour short
    assert start == datetime(2026, 3, 15, 10, tzinfo=BERLIN)
    assert stop - start == timedelta(days=31, hours=-1)


def test_given_a_month_that_starts_in_a_skipped_hour_when_computed_then_it_starts_after_the_gap():
    # 29 March 02:30 does not exist in Berlin: the clock jumps from 02:00 to 03:00.
    start, _ = period_of(
        months(1), end=datetime(2026, 4, 29, 2, 30, tzinfo=BERLIN), time_zone="Europe/Berlin"
    )

    assert start == datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)


def test_given_the_cli_last_month_when_sent_then_the_window_is_the_calendar_month_in_utc() -> None:
    spec = cli_spec("--last", "1m")

    assert spec.period(end=datetime(2026, 3, 31, 10, tzinfo=UTC))[0] == datetime(
        2026, 2, 28, 10, tzinfo=UTC
    )


def test_given_a_task_json_with_attach_csv_and_a_custom_window_then_it_is_accepted() -> None:
    params = GenerateReportTaskParameters.model_validate(
        {
            "reportTemplateID": 1,
            "format": "pdf",
            "recipients": {"contactIDs": [1]},
            "attachCSV": True,
            "timeRange": {"startTime": MARCH_1, "endTime": APRIL_1},
        }
    )

    assert params.spec.attach_csv and isinstance(params.spec.time_range, CustomRange)
    assert "recipients" not in params.spec.to_api()
