"""The CLI refuses what the API refuses, naming the argument: huge IDs, periods and counts,
control characters, over-long names and passwords, unknown zones, unwritable outputs. Never
a traceback (issue 15, rows 1, 3, 6, 11 and 12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from service.cli import App, cli
from service.config import Settings
from service.directory.sample import sample_dataset
from storage.models import ApiKey, Contact
from storage.tasks import ScheduledTaskRow

HUGE = "99999999999999999999"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    tmp = tmp_path_factory.mktemp("params")
    app = App(settings=Settings(data_dir=tmp / "data"), account_name="Demo")
    assert run(app, "db", "upgrade").exit_code == 0
    assert run(app, "accounts", "create", "Demo").exit_code == 0
    sample = tmp / "sample.json"
    sample.write_text(json.dumps(sample_dataset(now=datetime.now(UTC), events_per_day=1)))
    assert run(app, "import", str(sample)).exit_code == 0
    return app


def run(app: App, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app, input=stdin)


def refused(result: Result, argument: str, problem: str) -> None:
    """Refused by click (exit 2) with a message naming ``argument``, not by a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {argument}" in result.output
    assert problem in result.output


def _count(app: App, model: type) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (("runs", "show", HUGE), "'RUN_ID'"),
        (("deliveries", "retry", HUGE), "'DELIVERY_ID'"),
        (("tasks", "show", HUGE), "'TASK'"),
        (("tasks", "history", HUGE), "'TASK'"),
        (("tasks", "delete", HUGE), "'TASK'"),
        (("contacts", "edit", HUGE, "--name", "x"), "'CONTACT'"),
        (("contacts", "delete", HUGE, "--yes"), "'CONTACT'"),
        (("roles", "show", HUGE), "'ROLE'"),
        (("scope", HUGE), "'CONTACT'"),
        (("users", "show", HUGE), "'USER'"),
        (("send", "--computer", HUGE, "--all"), "'--computer'"),
        (("send", "--contact", HUGE), "'--contact'"),
        (("render", "--contact", HUGE, "-o", "/tmp/x.pdf"), "'--contact'"),
        (("render", "--contact", "1", "--group", HUGE, "-o", "/tmp/x.pdf"), "'--group'"),
    ],
)
def test_a_huge_id_is_refused_naming_the_argument(
    app: App, args: tuple[str, ...], argument: str
) -> None:
    refused(run(app, *args), argument, "2147483647")


def test_render_refuses_a_window_beyond_the_apis_limit(app: App, tmp_path: Path) -> None:
    result = run(
        app, "render", "--contact", "1", "--last", "99999999999d", "-o", str(tmp_path / "x.pdf")
    )
    refused(result, "'--last'", "less than or equal to 3660")


def test_render_refuses_an_output_in_a_directory_that_does_not_exist(app: App) -> None:
    result = run(app, "render", "--contact", "1", "-o", "/nonexistent/x.pdf")
    refused(result, "'-o' / '--output'", "no such directory")


def test_export_refuses_an_empty_output_name(app: App) -> None:
    result = run(app, "export", "--output", "")
    refused(result, "'-o' / '--output'", "a file name is needed")


def test_tasks_add_refuses_the_window_and_count_the_api_refuses(app: App) -> None:
    before = _count(app, ScheduledTaskRow)
    last = run(
        app,
        "tasks",
        "add",
        "--name",
        "t",
        "--daily",
        "02:00",
        "--last",
        "99999999999d",
        "--contact",
        "1",
    )
    count = run(
        app,
        "tasks",
        "add",
        "--name",
        "t",
        "--daily",
        "02:00",
        "--count",
        "99999999999999",
        "--contact",
        "1",
    )
    refused(last, "'--last'", "3660")
    refused(count, "'--count'", "2147483647")
    assert _count(app, ScheduledTaskRow) == before


def test_a_300_character_name_is_refused_as_the_api_refuses_it(app: App) -> None:
    result = run(
        app, "contacts", "add", "--name", "a" * 300, "--email", "a@example.com", "--role", "Auditor"
    )
    refused(result, "'--name'", "at most 255 characters")


@pytest.mark.parametrize(
    "args",
    [
        ("contacts", "add", "--name", "a\x00b", "--email", "n@example.com", "--role", "Auditor"),
        (
            "contacts",
            "add",
            "--name",
            "nul",
            "--email",
            "n@example.com",
            "--role",
            "Auditor",
            "--description",
            "a\x00",
        ),
        ("apikeys", "create", "--role", "Full Access", "--name", "a\nb"),
        ("accounts", "create", "a\rb"),
        ("tasks", "add", "--name", "a\x00", "--daily", "02:00", "--contact", "1"),
    ],
)
def test_control_characters_in_names_and_descriptions_are_refused(
    app: App, args: tuple[str, ...]
) -> None:
    before = (_count(app, Contact), _count(app, ApiKey))
    refused(run(app, *args), "'", "control characters")
    assert (_count(app, Contact), _count(app, ApiKey)) == before


def test_a_time_zone_that_is_not_a_place_is_refused(app: App) -> None:
    result = run(
        app,
        "contacts",
        "add",
        "--name",
        "z",
        "--email",
        "z@example.com",
        "--role",
        "Auditor",
        "--time-zone",
        "localtime",
    )
    refused(result, "'--time-zone'", "unknown time zone")


def test_an_address_smtp_cannot_send_to_is_refused(app: App) -> None:
    result = run(
        app, "contacts", "add", "--name", "j", "--email", "jörg@example.com", "--role", "Auditor"
    )
    refused(result, "'--email'", "not a valid address")


@pytest.mark.parametrize(
    ("password", "problem"),
    [("漢" * 43, "at most 127 bytes"), ("secret\x00", "U+0000")],
)
def test_a_report_password_pdf_encryption_cannot_use_is_refused(
    app: App, password: str, problem: str
) -> None:
    # Given a contact added with a prompted report password PDF encryption cannot use
    result = run(
        app,
        "contacts", "add", "--name", f"p{len(password)}",
        "--email", f"p{len(password)}@example.com", "--role", "Auditor",
        "--password-protected", "--report-password",
        stdin=f"{password}\n{password}\n",
    )  # fmt: skip
    # Then it is refused, naming the field and the limit, and nothing is stored
    assert result.exit_code == 1, result.output
    assert "reportPDFPassword" in result.output and problem in result.output
    assert not isinstance(result.exception, AssertionError | TypeError | ValueError)


@pytest.mark.parametrize(
    "args",
    [
        ("send", "--all", "--group", "2147483647"),
        (
            "tasks",
            "add",
            "--name",
            "nothing",
            "--daily",
            "02:00",
            "--all",
            "--policy",
            "2147483647",
        ),
    ],
)
def test_a_filter_on_a_group_or_policy_that_does_not_exist_is_refused(
    app: App, args: tuple[str, ...]
) -> None:
    before = _count(app, ScheduledTaskRow)
    result = run(app, *args)
    assert result.exit_code == 1, result.output
    assert "computerFilter." in result.output and "2147483647" in result.output
    assert _count(app, ScheduledTaskRow) == before


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (("runs", "list", "--limit", HUGE), "'--limit'"),
        (("tasks", "next", "1", "--count", HUGE), "'--count'"),
    ],
)
def test_a_listing_longer_than_the_tables_limit_is_refused(
    app: App, args: tuple[str, ...], argument: str
) -> None:
    refused(run(app, *args), argument, "less than or equal to 10000")
