"""``/smartfolders``: CRUD and search, validation as 400s naming the field, rights, accounts;
a report or task naming a folder the account does not have is a 400."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from service.api.keys import new_key
from service.directory.accounts import create_role
from service.directory.rights import NEW_ROLE_DEFAULTS
from storage.db import transaction
from storage.models import ComputerGroup, Policy, SystemEvent
from tests.service.api.conftest import ApiWorld
from tests.service.api.test_scheduledtasks import task_json


def _id_of(world: ApiWorld, model: Any, name: str, account_id: int) -> int:
    with world.sessions() as session:
        return int(
            session.scalars(
                select(model.id).where(model.account_id == account_id, model.name == name)
            ).one()
        )


def test_a_folder_is_created_described_listed_searched_changed_and_deleted(
    api_world: ApiWorld,
) -> None:
    web = _id_of(api_world, ComputerGroup, "Web Servers", api_world.a.account_id)
    with api_world.http("Full Access") as http:
        # When a folder is created
        created = http.post(
            "/smartfolders",
            json={
                "name": "Ubuntu web",
                "description": "the web tier",
                "criteria": {
                    "platform": "Ubuntu",
                    "agentStatuses": ["active", "warning"],
                    "tags": ["pci"],
                    "computerGroupID": web,
                    "includeSubgroups": True,
                },
            },
        )
        assert created.status_code == 200, created.text
        folder = created.json()
        # Then it answers as stored, camelCase, and is listed, described and found
        assert folder["name"] == "Ubuntu web" and folder["description"] == "the web tier"
        assert folder["criteria"] == {
            "platform": "Ubuntu",
            "agentStatuses": ["active", "warning"],
            "tags": ["pci"],
            "computerGroupID": web,
            "includeSubgroups": True,
        }
        listed = http.get("/smartfolders").json()["smartFolders"]
        assert folder in listed
        assert {"PCI in Tokyo", "Agents needing attention"} <= {f["name"] for f in listed}
        assert http.get(f"/smartfolders/{folder['ID']}").json() == folder
        found = http.post(
            "/smartfolders/search",
            json={
                "searchCriteria": [
                    {"fieldName": "name", "stringTest": "equal", "stringValue": "Ubuntu web"}
                ]
            },
        ).json()["smartFolders"]
        assert found == [folder]

        # When it is modified: the given fields replace the stored ones
        changed = http.post(
            f"/smartfolders/{folder['ID']}",
            json={"name": "Ubuntu", "criteria": {"platform": "ubuntu"}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {
            "ID": folder["ID"],
            "name": "Ubuntu",
            "description": "the web tier",
            "criteria": {"platform": "ubuntu"},
        }

        # When it is deleted, it is gone
        assert http.delete(f"/smartfolders/{folder['ID']}").status_code == 204
        assert http.get(f"/smartfolders/{folder['ID']}").status_code == 404
        assert http.delete(f"/smartfolders/{folder['ID']}").status_code == 404
    with api_world.sessions() as session:
        codes = session.scalars(
            select(SystemEvent.event_code).where(
                SystemEvent.account_id == api_world.a.account_id,
                SystemEvent.event_code.between(8730, 8732),
            )
        ).all()
    assert sorted(codes) == [8730, 8731, 8732]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"criteria": {}}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "PCI in Tokyo"}, "name"),  # the sample's: names are unique in an account
        ({"name": "x", "criteria": {"agentStatuses": ["sleeping"]}}, "criteria.agentStatuses"),
        ({"name": "x", "criteria": {"includeSubgroups": True}}, "includeSubgroups"),
        ({"name": "x", "criteria": {"computerGroupID": 0}}, "criteria.computerGroupID"),
        ({"name": "x", "criteria": {"computerGroupID": 2**31}}, "criteria.computerGroupID"),
        ({"name": "x", "criteria": {"policyID": 999999}}, "criteria.policyID"),
        ({"name": "x", "criteria": {"os": "linux"}}, "criteria.os"),
        ({"name": "x", "extra": 1}, "extra"),
        ({"name": "x", "criteria": {"tags": [""]}}, "criteria.tags"),
    ],
)
def test_a_refused_folder_is_a_400_naming_the_field(
    api_world: ApiWorld, body: dict[str, Any], field: str
) -> None:
    with api_world.http("Full Access") as http:
        answer = http.post("/smartfolders", json=body)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["message"]


def test_a_group_or_policy_of_another_account_is_refused_and_its_folders_are_not_found(
    api_world: ApiWorld,
) -> None:
    b_group = _id_of(api_world, ComputerGroup, "Web Servers", api_world.b.account_id)
    b_policy = _id_of(api_world, Policy, "Web Server", api_world.b.account_id)
    with api_world.http("Full Access", api_world.b) as http:
        theirs = http.get("/smartfolders").json()["smartFolders"][0]
    with api_world.http("Full Access") as http:
        group = http.post(
            "/smartfolders", json={"name": "B's", "criteria": {"computerGroupID": b_group}}
        )
        policy = http.post(
            "/smartfolders", json={"name": "B's", "criteria": {"policyID": b_policy}}
        )
        described = http.get(f"/smartfolders/{theirs['ID']}")
        changed = http.post(f"/smartfolders/{theirs['ID']}", json={"name": "mine"})
        deleted = http.delete(f"/smartfolders/{theirs['ID']}")
        mine = http.get("/smartfolders").json()["smartFolders"]
    assert (group.status_code, policy.status_code) == (400, 400)
    assert "computerGroupID" in group.json()["message"]
    assert "policyID" in policy.json()["message"]
    assert (described.status_code, changed.status_code, deleted.status_code) == (404, 404, 404)
    assert theirs["ID"] not in {f["ID"] for f in mine}


def test_viewing_folders_needs_computer_views_and_changing_them_computer_edits(
    api_world: ApiWorld,
) -> None:
    # The Auditor views computers but edits none; "No Computers" views none at all
    blind = replace(
        NEW_ROLE_DEFAULTS, allow_web_service=True, all_computers=False, can_view_computers=False
    )
    with transaction(api_world.sessions) as session:
        role = create_role(
            session, account_id=api_world.a.account_id, name="No Computers", rights=blind
        )
        session.flush()
        _, api_world.a.secrets["No Computers"] = new_key(
            session, account_id=api_world.a.account_id, role_id=role.id, name="key blind"
        )
    with api_world.http("Auditor") as http:
        listed = http.get("/smartfolders")
        created = http.post("/smartfolders", json={"name": "Auditor's"})
        folder_id = listed.json()["smartFolders"][0]["ID"]
        changed = http.post(f"/smartfolders/{folder_id}", json={"name": "renamed"})
        deleted = http.delete(f"/smartfolders/{folder_id}")
    with api_world.http("No Computers") as http:
        hidden = http.get("/smartfolders")
    assert listed.status_code == 200
    assert (created.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert "can_edit_computer_properties" in created.json()["message"]
    assert hidden.status_code == 403 and "can_view_computers" in hidden.json()["message"]


def test_a_report_or_task_naming_a_folder_the_account_lacks_is_a_400(api_world: ApiWorld) -> None:
    with api_world.http("Full Access", api_world.b) as http:
        theirs = http.get("/smartfolders").json()["smartFolders"][0]["ID"]
    contact = min(api_world.a.contacts.values())
    with api_world.http("Full Access") as http:
        mine = http.get("/smartfolders").json()["smartFolders"][0]["ID"]

        def report(folder_id: int) -> Any:
            return http.post(
                "/reports",
                json={
                    "reportTemplateID": 1,
                    "computerFilter": {
                        "type": "computers-in-smart-folder",
                        "smartFolderID": folder_id,
                    },
                    "recipients": {"contactIDs": [contact]},
                },
            )

        def task(folder_id: int) -> Any:
            body = task_json(f"Folder {folder_id}", [contact])
            body["generateReportTaskParameters"]["computerFilter"] = {
                "type": "computers-in-smart-folder",
                "smartFolderID": folder_id,
            }
            return http.post("/scheduledtasks", json=body)

        refused = [report(theirs), report(999999), task(theirs)]
        accepted = [report(mine), task(mine)]
        missing_id = http.post(
            "/reports",
            json={
                "reportTemplateID": 1,
                "computerFilter": {"type": "computers-in-smart-folder"},
                "recipients": {"contactIDs": [contact]},
            },
        )
    for answer in refused:
        assert answer.status_code == 400, answer.text
        assert "smartFolderID" in answer.json()["message"]
    for answer in accepted:
        assert answer.status_code == 200, answer.text
    assert accepted[1].json()["generateReportTaskParameters"]["computerFilter"] == {
        "type": "computers-in-smart-folder",
        "smartFolderID": mine,
    }
    assert missing_id.status_code == 400 and "smartFolderID" in missing_id.json()["message"]


def test_a_folder_a_task_reports_on_is_a_409_naming_the_task_until_the_task_changes(
    api_world: ApiWorld,
) -> None:
    # Given a new folder and two scheduled tasks reporting on it
    contact = min(api_world.a.contacts.values())
    with api_world.http("Full Access") as http:
        folder = http.post("/smartfolders", json={"name": "Held by tasks"}).json()
        in_folder = {"type": "computers-in-smart-folder", "smartFolderID": folder["ID"]}
        tasks = []
        for name in ("Folder report B", "Folder report A"):
            body = task_json(name, [contact])
            body["generateReportTaskParameters"]["computerFilter"] = in_folder
            created = http.post("/scheduledtasks", json=body)
            assert created.status_code == 200, created.text
            tasks.append(created.json())

        # When the folder is deleted
        refused = http.delete(f"/smartfolders/{folder['ID']}")

        # Then it is a 409 naming both tasks (by name), and the folder stays
        assert refused.status_code == 409, refused.text
        second, first = tasks
        assert refused.json()["message"] == (
            f"smart folder 'Held by tasks' (ID {folder['ID']}) is used by scheduled tasks"
            f" {first['ID']} 'Folder report A', {second['ID']} 'Folder report B': change"
            " their computer filter or delete them first"
        )
        assert http.get(f"/smartfolders/{folder['ID']}").status_code == 200

        # And once one task reports on all computers and the other is deleted, it is deleted
        everything = {
            **first["generateReportTaskParameters"],
            "computerFilter": {"type": "all-computers"},
        }
        changed = http.post(
            f"/scheduledtasks/{first['ID']}", json={"generateReportTaskParameters": everything}
        )
        assert changed.status_code == 200, changed.text
        assert http.delete(f"/scheduledtasks/{second['ID']}").status_code == 204
        assert http.delete(f"/smartfolders/{folder['ID']}").status_code == 204
        http.delete(f"/scheduledtasks/{first['ID']}")
