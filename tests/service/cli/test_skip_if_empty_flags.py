"""``--skip-if-empty``: one flag of the shared report options, read into the spec by every
command that takes them (``send``, ``render``, ``tasks add|edit``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import App, cli
from service.config import Settings


@pytest.fixture
def cli_app(tmp_path: Path) -> App:
    """An account with one contact and no computers: its only rows are the audit trail's."""
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    for args in (
        ["db", "upgrade"],
        ["accounts", "create", "Quiet Inc."],
        ["contacts", "add", "--name", "Kim", "--email", "kim@example.com", "--role", "Auditor"],
    ):
        result = CliRunner().invoke(cli, args, obj=app)
        assert result.exit_code == 0, result.output
    return app


def reportd(app: App, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=app)
    assert result.exit_code == 0, result.output
    return result.output


def test_given_a_task_added_with_skip_if_empty_when_edited_without_it_then_it_mails_everyone(
    cli_app: App,
) -> None:
    # Given a task added with --skip-if-empty
    reportd(
        cli_app,
        *("tasks", "add", "--name", "Quiet", "--daily", "02:00", "--contact", "Kim"),
        "--skip-if-empty",
    )
    shown = json.loads(reportd(cli_app, "tasks", "show", "Quiet"))
    assert shown["generateReportTaskParameters"]["skipIfEmpty"] is True

    # When it is edited with --no-skip-if-empty, Then its report goes to every recipient again
    reportd(cli_app, "tasks", "edit", "Quiet", "--no-skip-if-empty")
    shown = json.loads(reportd(cli_app, "tasks", "show", "Quiet"))
    assert shown["generateReportTaskParameters"]["skipIfEmpty"] is False

    # And an edit of something else keeps what the task says
    reportd(cli_app, "tasks", "edit", "Quiet", "--skip-if-empty")
    reportd(cli_app, "tasks", "edit", "Quiet", "--last", "1m")
    shown = json.loads(reportd(cli_app, "tasks", "show", "Quiet"))
    assert shown["generateReportTaskParameters"]["skipIfEmpty"] is True


def test_given_an_empty_report_when_rendered_with_skip_if_empty_then_nothing_is_written(
    cli_app: App, tmp_path: Path
) -> None:
    # Given an account without computers, When Kim's Anti-Malware report is rendered with
    # --skip-if-empty
    output = tmp_path / "kim.pdf"
    said = reportd(
        cli_app,
        "render",
        "--contact",
        "Kim",
        "--type",
        "anti-malware",
        "--skip-if-empty",
        "-o",
        str(output),
    )

    # Then nothing is written, and the command says why: Kim would get no mail
    assert not output.exists()
    assert "nothing written: Kim would get no mail" in said
    assert "holds nothing of its period" in said
