"""``reportd smartfolders add|list|show|edit|remove``: the account's saved computer queries.

The operator's tool, over the rules of ``service.directory.smart_folders`` (unique names, the
criteria's group and policy of the account); every change is audited. A folder is named by
its name or its ID. ``reportd send --smart-folder`` and ``tasks add|edit --smart-folder``
report on one.
"""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.orm import Session

from service.cli import App, cli, pass_app
from service.directory import smart_folders
from service.directory.accounts import find_account
from service.directory.audit import AuditCode, record_cli
from service.directory.smart_folders import SmartFolderBody, find_folder
from service.errors import InvalidInput
from storage.criteria import AgentStatus, SmartFolderCriteria
from storage.smart_folders import SmartFolderRecord, list_folders


@cli.group()
def smartfolders() -> None:
    """Smart folders: saved computer queries a report can be filtered by."""


def _criteria_options(command: Any) -> Any:
    options = [
        click.option("--platform", help="The platform contains this text (any case)."),
        click.option(
            "--agent-status",
            "agent_statuses",
            multiple=True,
            type=click.Choice([s.value for s in AgentStatus]),
            help="The agent status is one of these (repeat).",
        ),
        click.option("--tag", "tags", multiple=True, help="The computer has this tag (repeat)."),
        click.option("--group", type=int, help="In this computer group (ID)."),
        click.option("--group-tree", type=int, help="In this group or one of its sub-groups."),
        click.option("--policy", type=int, help="Using this policy (ID)."),
        click.option("--policy-tree", type=int, help="Using this policy or one of its children."),
        click.option(
            "--criteria", "criteria_json", metavar="JSON", help="The criteria as the API's JSON."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _criteria(options: dict[str, Any]) -> dict[str, Any] | None:
    """The criteria JSON the flags describe; None when they describe none."""
    if options["criteria_json"] is not None:
        flags = ("platform", "group", "group_tree", "policy", "policy_tree")
        if (
            any(options[k] is not None for k in flags)
            or options["tags"]
            or options["agent_statuses"]
        ):
            raise InvalidInput("use --criteria or the criteria flags, not both")
        try:
            given = json.loads(options["criteria_json"])
        except json.JSONDecodeError as error:
            raise InvalidInput(f"--criteria: not valid JSON: {error}") from None
        if not isinstance(given, dict):
            raise InvalidInput('--criteria: a JSON object, e.g. \'{"platform": "linux"}\'')
        return given
    if options["group"] is not None and options["group_tree"] is not None:
        raise InvalidInput("use --group or --group-tree, not both")
    if options["policy"] is not None and options["policy_tree"] is not None:
        raise InvalidInput("use --policy or --policy-tree, not both")
    data: dict[str, Any] = {}
    if options["platform"] is not None:
        data["platform"] = options["platform"]
    if options["agent_statuses"]:
        data["agentStatuses"] = list(options["agent_statuses"])
    if options["tags"]:
        data["tags"] = list(options["tags"])
    if options["group"] is not None or options["group_tree"] is not None:
        data["computerGroupID"] = options["group"] or options["group_tree"]
        data["includeSubgroups"] = options["group_tree"] is not None
    if options["policy"] is not None or options["policy_tree"] is not None:
        data["policyID"] = options["policy"] or options["policy_tree"]
        data["includeSubpolicies"] = options["policy_tree"] is not None
    return data or None


def _body(name: str | None, description: str | None, criteria: dict[str, Any] | None) -> Any:
    data: dict[str, Any] = {"name": name, "description": description, "criteria": criteria}
    return SmartFolderBody.from_api({k: v for k, v in data.items() if v is not None})


def _account_id(app: App, session: Session) -> int:
    return find_account(session, app.account_name).id


def describe_criteria(criteria: SmartFolderCriteria) -> str:
    """The criteria in a line: ``platform~ubuntu tags=pci group=3+`` ("+": with sub-trees)."""
    parts = []
    if criteria.platform is not None:
        parts.append(f"platform~{criteria.platform}")
    if criteria.agent_statuses:
        parts.append("status=" + ",".join(s.value for s in criteria.agent_statuses))
    if criteria.tags:
        parts.append("tags=" + ",".join(criteria.tags))
    if criteria.computer_group_id is not None:
        parts.append(
            f"group={criteria.computer_group_id}{'+' if criteria.include_subgroups else ''}"
        )
    if criteria.policy_id is not None:
        parts.append(f"policy={criteria.policy_id}{'+' if criteria.include_subpolicies else ''}")
    return " ".join(parts) or "(every computer)"


def _line(folder: SmartFolderRecord) -> str:
    return f"{folder.id:>5}  {folder.name}  {describe_criteria(folder.criteria)}"


@smartfolders.command("list")
@pass_app
def smartfolders_list(app: App) -> None:
    """The account's smart folders: ID, name, criteria."""
    with app.transaction() as session:
        folders = list_folders(session, _account_id(app, session))
    for folder in folders:
        click.echo(_line(folder))


@smartfolders.command("show")
@click.argument("folder")
@pass_app
def smartfolders_show(app: App, folder: str) -> None:
    """FOLDER (name or ID) as the API's JSON."""
    with app.transaction() as session:
        found = find_folder(session, _account_id(app, session), folder)
    click.echo(json.dumps(smart_folders.to_api(found), indent=2, ensure_ascii=False))


@smartfolders.command("add")
@click.option("--name", required=True)
@click.option("--description", default="")
@_criteria_options
@pass_app
def smartfolders_add(app: App, /, name: str, description: str, **options: Any) -> None:
    """Add a folder; no criteria at all is every computer (of each recipient's clearance)."""
    with app.transaction() as session:
        account_id = _account_id(app, session)
        folder = smart_folders.create(
            session, account_id, _body(name, description, _criteria(options))
        )
        record_cli(
            session,
            account_id=account_id,
            code=AuditCode.smart_folder_created,
            description=smart_folders.created_note(folder),
        )
    click.echo(
        f"added smart folder {folder.id} {folder.name!r}: {describe_criteria(folder.criteria)}"
    )


@smartfolders.command("edit")
@click.argument("folder")
@click.option("--name")
@click.option("--description")
@_criteria_options
@pass_app
def smartfolders_edit(
    app: App, /, folder: str, name: str | None, description: str | None, **options: Any
) -> None:
    """Change FOLDER (name or ID): criteria flags replace all of its criteria."""
    with app.transaction() as session:
        account_id = _account_id(app, session)
        current = find_folder(session, account_id, folder)
        body = _body(name, description, _criteria(options))
        before, after = smart_folders.modify(session, account_id, current.id, body)
        record_cli(
            session,
            account_id=account_id,
            code=AuditCode.smart_folder_updated,
            description=smart_folders.changed_note(before, after),
        )
    click.echo(f"smart folder {after.id} {after.name!r}: {describe_criteria(after.criteria)}")


@smartfolders.command("remove")
@click.argument("folder")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_app
def smartfolders_remove(app: App, folder: str, yes: bool) -> None:
    """Remove FOLDER (name or ID); refused while scheduled tasks report on it."""
    with app.transaction() as session:
        account_id = _account_id(app, session)
        current = find_folder(session, account_id, folder)
        smart_folders.require_unused(session, account_id, current)  # before asking
        if not yes:
            click.confirm(f"remove smart folder {current.id} {current.name!r}?", abort=True)
        gone = smart_folders.delete(session, account_id, current.id)
        record_cli(
            session,
            account_id=account_id,
            code=AuditCode.smart_folder_deleted,
            description=smart_folders.subject(gone),
        )
    click.echo(f"removed smart folder {gone.id} {gone.name!r}")
