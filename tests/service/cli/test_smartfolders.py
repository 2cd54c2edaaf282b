"""``reportd smartfolders`` and ``--smart-folder``: folders named by name or ID, refused when
the account has no such folder, and a rendered report cut to the folder and the clearance."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from service.cli import App, cli
from service.config import Settings
from service.directory.sample import sample_dataset
from storage.models import ComputerGroup, SystemEvent


@pytest.fixture
def app(tmp_path: Path) -> App:
    """Two accounts with the sample (its two smart folders each); commands act on the first."""
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(sample_dataset(now=datetime.now(UTC), events_per_day=2)))
    for args in (
        ["db", "upgrade"],
        ["accounts", "create", "Other Corp"],
        ["--account", "Other Corp", "import", str(sample)],
        ["accounts", "create", "Demo Corp"],
        ["--account", "Demo Corp", "import", str(sample)],
    ):
        assert run(app, *args).exit_code == 0, args
    app.account_name = "Demo Corp"
    return app


def run(app: App, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app)


def ok(app: App, *args: str) -> str:
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    return result.output


def group_id(app: App, name: str) -> int:
    with app.sessions() as session:
        return max(
            session.scalars(select(ComputerGroup.id).where(ComputerGroup.name == name)).all()
        )


def test_a_folder_is_added_listed_shown_edited_and_removed(app: App) -> None:
    web = group_id(app, "Web Servers")
    added = ok(
        app,
        *("smartfolders", "add", "--name", "Web", "--description", "web tier"),
        *("--platform", "ubuntu", "--agent-status", "active", "--agent-status", "warning"),
        *("--tag", "pci", "--group-tree", str(web)),
    )
    assert "added smart folder" in added and "group=" in added

    listed = ok(app, "smartfolders", "list")
    assert {"Web", "PCI in Tokyo", "Agents needing attention"} <= {
        line.strip().split("  ")[1] for line in listed.splitlines()
    }
    shown = json.loads(ok(app, "smartfolders", "show", "Web"))
    assert shown["criteria"] == {
        "platform": "ubuntu",
        "agentStatuses": ["active", "warning"],
        "tags": ["pci"],
        "computerGroupID": web,
        "includeSubgroups": True,
    }
    assert json.loads(ok(app, "smartfolders", "show", str(shown["ID"]))) == shown

    ok(app, "smartfolders", "edit", "Web", "--name", "Ubuntu", "--criteria", '{"platform": "x"}')
    edited = json.loads(ok(app, "smartfolders", "show", str(shown["ID"])))
    assert edited["name"] == "Ubuntu" and edited["description"] == "web tier"
    assert edited["criteria"] == {"platform": "x"}

    ok(app, "smartfolders", "remove", "Ubuntu", "--yes")
    gone = run(app, "smartfolders", "show", "Ubuntu")
    assert gone.exit_code == 1 and "no smart folder 'Ubuntu'" in gone.output
    with app.sessions() as session:
        names = session.scalars(
            select(SystemEvent.name).where(SystemEvent.event_code.between(8730, 8732))
        ).all()
    assert names == ["Smart Folder Created", "Smart Folder Updated", "Smart Folder Deleted"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "PCI in Tokyo"], "already exists"),
        (["--name", "x", "--group", "999999"], "criteria.computerGroupID"),
        (["--name", "x", "--group", "1", "--group-tree", "1"], "not both"),
        (["--name", "x", "--criteria", "[1]"], "JSON object"),
        (["--name", "x", "--criteria", '{"includeSubpolicies": true}'], "policyID"),
        (["--name", "x", "--platform", "a", "--criteria", "{}"], "not both"),
    ],
)
def test_a_refused_folder_says_why(app: App, args: list[str], message: str) -> None:
    result = run(app, "smartfolders", "add", *args)
    assert result.exit_code == 1 and message in result.output


def test_a_task_names_its_folder_by_name_or_id_and_only_the_accounts(app: App) -> None:
    # Given the sample's folder, by name, on a new task
    ok(
        app,
        *("tasks", "add", "--name", "PCI", "--daily", "02:00", "--contact", "Alex Morgan"),
        *("--smart-folder", "PCI in Tokyo"),
    )
    folder = json.loads(ok(app, "smartfolders", "show", "PCI in Tokyo"))
    task = json.loads(ok(app, "tasks", "show", "PCI"))
    assert task["generateReportTaskParameters"]["computerFilter"] == {
        "type": "computers-in-smart-folder",
        "smartFolderID": folder["ID"],
    }

    # When it is edited to the other folder by ID, or to one the account lacks
    attention = json.loads(ok(app, "smartfolders", "show", "Agents needing attention"))
    ok(app, "tasks", "edit", "PCI", "--smart-folder", str(attention["ID"]))
    other = run(app, "--account", "Other Corp", "smartfolders", "list").output
    theirs = other.split()[0]  # an ID of the other account's folders
    app.account_name = "Demo Corp"  # --account stays on the app object
    refused = run(app, "tasks", "edit", "PCI", "--smart-folder", theirs)
    both = run(app, "tasks", "edit", "PCI", "--smart-folder", "PCI in Tokyo", "--group", "1")

    # Then the task names the folder; the other account's folder and two filters are refused
    task = json.loads(ok(app, "tasks", "show", "PCI"))
    assert (
        task["generateReportTaskParameters"]["computerFilter"]["smartFolderID"] == (attention["ID"])
    )
    assert refused.exit_code == 1 and f"no smart folder {theirs!r}" in refused.output
    assert both.exit_code == 1 and "at most one of" in both.output


def test_send_refuses_a_folder_the_account_lacks_before_anything_is_sent(app: App) -> None:
    result = run(app, "send", "--all-contacts", "--smart-folder", "Nope")
    assert result.exit_code == 1 and "no smart folder 'Nope'" in result.output
    assert "run " not in result.output


def test_a_rendered_report_holds_the_folders_computers_the_contact_may_see(
    app: App, tmp_path: Path
) -> None:
    # Given the sample's "PCI in Tokyo" (the frontend and the databases) and two contacts:
    # Alex sees everything, Hanako (Web Team) only the web servers' branch
    def rendered(contact: str) -> set[str]:
        out = tmp_path / f"{contact}.csv"
        ok(
            app,
            *("render", "--contact", contact, "--type", "computer", "--format", "csv"),
            *("--smart-folder", "PCI in Tokyo", "-o", str(out)),
        )
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        return {row[1][:4] for row in rows[1:] if row}  # (computer_id, computer, ...)

    # Then each gets the folder cut to their clearance
    assert rendered("Alex Morgan") == {"fron", "data"}
    assert rendered("hanako.sato@example.jp") == {"fron"}


def test_a_folder_a_task_reports_on_is_not_removed_and_the_error_names_the_task(
    app: App,
) -> None:
    # Given a scheduled task reporting on a folder, and another folder no task uses
    ok(
        app,
        *("tasks", "add", "--name", "Tokyo PCI", "--daily", "02:00", "--contact", "Alex Morgan"),
        *("--smart-folder", "PCI in Tokyo"),
    )
    task_id = json.loads(ok(app, "tasks", "show", "Tokyo PCI"))["ID"]

    # When both folders are removed (the used one without --yes: it is refused before asking)
    refused = run(app, "smartfolders", "remove", "PCI in Tokyo")
    ok(app, "smartfolders", "remove", "Agents needing attention", "--yes")

    # Then the used one stays, the error naming the task; the other is gone
    assert refused.exit_code == 1, refused.output
    assert "remove smart folder" not in refused.output  # no question asked
    assert f"is used by scheduled tasks {task_id} 'Tokyo PCI'" in refused.output
    assert "change their computer filter or delete them first" in refused.output
    assert json.loads(ok(app, "smartfolders", "show", "PCI in Tokyo"))["name"] == "PCI in Tokyo"
    assert run(app, "smartfolders", "show", "Agents needing attention").exit_code == 1

    # And once the task reports on all computers, the folder can be removed
    ok(app, "tasks", "edit", "Tokyo PCI", "--all-computers")
    ok(app, "smartfolders", "remove", "PCI in Tokyo", "--yes")
