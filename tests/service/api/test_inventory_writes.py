"""Creating, modifying and deleting computers, groups and policies: rights, selection, audit."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.keys import new_key
from service.directory.accounts import create_role
from service.directory.rights import NEW_ROLE_DEFAULTS, RoleRights
from storage.db import transaction
from storage.models import (
    Computer,
    ComputerGroup,
    Policy,
    RoleComputerGroup,
    RolePolicy,
    SystemEvent,
)
from tests.service.api.conftest import ApiWorld, Tenant

_names = itertools.count()

#: The write rights, without any view of computers outside the selection.
WEB_EDITOR = replace(
    NEW_ROLE_DEFAULTS,
    allow_web_service=True,
    all_computers=False,
    can_view_other_computers=False,
    can_edit_computer_properties=True,
    can_create_new_computers=True,
    can_delete_computers=True,
    can_add_and_remove_computer_groups=True,
    all_policies=False,
    can_view_other_policies=False,
    can_create_new_policies=True,
    can_edit_policy_properties=True,
    can_delete_policies=True,
)


@dataclass
class Ids:
    groups: dict[str, int]  # name -> id, tenant A
    policies: dict[str, int]
    b_group: int
    b_computer: int
    b_policy: int


def _by_name(
    session: Session, model: type[ComputerGroup] | type[Policy], account_id: int
) -> dict[str, int]:
    rows = session.execute(select(model.name, model.id).where(model.account_id == account_id))
    return {name: i for name, i in rows}


def _add_role(
    session: Session, tenant: Tenant, name: str, rights: RoleRights, web: int, policy: int
) -> None:
    role = create_role(session, account_id=tenant.account_id, name=name, rights=rights)
    role.computer_groups = [RoleComputerGroup(group_id=web)]
    role.policies = [RolePolicy(policy_id=policy)]
    session.flush()
    _, secret = new_key(session, account_id=tenant.account_id, role_id=role.id, name=f"key {name}")
    tenant.roles[name] = role.id
    tenant.secrets[name] = secret


@pytest.fixture(scope="module")
def ids(api_world: ApiWorld) -> Ids:
    a, b = api_world.a, api_world.b
    with transaction(api_world.sessions) as session:
        groups = _by_name(session, ComputerGroup, a.account_id)
        policies = _by_name(session, Policy, a.account_id)
        web, web_policy = groups["Web Servers"], policies["Web Server"]
        _add_role(session, a, "Web Editor", WEB_EDITOR, web, web_policy)
        # Sees every computer, but may change only its selection.
        _add_role(
            session,
            a,
            "Web Editor Sees All",
            replace(WEB_EDITOR, can_view_other_computers=True),
            web,
            web_policy,
        )
        b_groups = _by_name(session, ComputerGroup, b.account_id)
        b_computer = session.scalars(
            select(Computer.id).where(Computer.account_id == b.account_id)
        ).first()
        b_policy = _by_name(session, Policy, b.account_id)["Base Policy"]
    assert b_computer is not None
    return Ids(groups, policies, b_groups["Web Servers"], b_computer, b_policy)


def _computer_in(world: ApiWorld, group_id: int) -> int:
    with transaction(world.sessions) as session:
        found = session.scalars(
            select(Computer.id).where(
                Computer.account_id == world.a.account_id, Computer.group_id == group_id
            )
        ).first()
    assert found is not None
    return found


def _audit_codes(world: ApiWorld) -> list[int]:
    with transaction(world.sessions) as session:
        return list(
            session.scalars(
                select(SystemEvent.event_code).where(
                    SystemEvent.account_id == world.a.account_id,
                    SystemEvent.event_code.between(8700, 8799),
                )
            )
        )


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def test_full_access_creates_modifies_deletes_everything(api_world: ApiWorld, ids: Ids) -> None:
    before = len(_audit_codes(api_world))
    with api_world.http("Full Access") as http:
        group = _ok(http.post("/computergroups", json={"name": f"g{next(_names)}"}))
        sub = _ok(
            http.post(
                "/computergroups",
                json={"name": "sub", "parentGroupID": group["ID"], "description": "d"},
            )
        )
        assert sub["parentGroupID"] == group["ID"]
        policy = _ok(
            http.post("/policies", json={"name": "P", "parentID": ids.policies["Base Policy"]})
        )
        computer = _ok(
            http.post(
                "/computers",
                json={
                    "hostName": "new-host",
                    "displayName": "New",
                    "platform": "Ubuntu",
                    "groupID": sub["ID"],
                    "policyID": policy["ID"],
                },
            )
        )
        assert computer["groupID"] == sub["ID"] and computer["policyID"] == policy["ID"]
        assert _ok(http.get(f"/computers/{computer['ID']}"))["hostName"] == "new-host"

        moved = _ok(
            http.post(
                f"/computers/{computer['ID']}",
                json={"description": "changed", "groupID": group["ID"], "policyID": None},
            )
        )
        assert moved["description"] == "changed" and moved["groupID"] == group["ID"]
        assert moved.get("policyID") is None
        assert (
            _ok(http.post(f"/computergroups/{sub['ID']}", json={"name": "renamed"}))["name"]
            == "renamed"
        )
        assert (
            _ok(http.post(f"/policies/{policy['ID']}", json={"description": "x"}))["description"]
            == "x"
        )

        # A group with computers or sub-groups stays.
        assert http.delete(f"/computergroups/{group['ID']}").status_code == 400
        _ok(http.delete(f"/computers/{computer['ID']}"), 204)
        assert http.get(f"/computers/{computer['ID']}").status_code == 404
        _ok(http.delete(f"/computergroups/{sub['ID']}"), 204)
        _ok(http.delete(f"/computergroups/{group['ID']}"), 204)
        _ok(http.delete(f"/policies/{policy['ID']}"), 204)
        assert http.get(f"/policies/{policy['ID']}").status_code == 404
    codes = _audit_codes(api_world)[before:]
    assert sorted(set(codes)) == [8700, 8701, 8702, 8710, 8711, 8712, 8720, 8721, 8722]


def test_auditor_is_refused(api_world: ApiWorld, ids: Ids) -> None:
    computer = _computer_in(api_world, ids.groups["Web Servers"])
    with api_world.http("Auditor") as http:
        for method, path, body in (
            ("POST", "/computers", {"hostName": "h", "groupID": ids.groups["Web Servers"]}),
            ("POST", f"/computers/{computer}", {"description": "no"}),
            ("DELETE", f"/computers/{computer}", None),
            ("POST", "/computergroups", {"name": "g"}),
            ("DELETE", f"/computergroups/{ids.groups['Frontend']}", None),
            ("POST", "/policies", {"name": "p"}),
            ("POST", f"/policies/{ids.policies['Web Server']}", {"name": "p"}),
            ("DELETE", f"/policies/{ids.policies['Web Server']}", None),
        ):
            response = http.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert "message" in response.json()


def test_selection_limits_computer_writes(api_world: ApiWorld, ids: Ids) -> None:
    inside = _computer_in(api_world, ids.groups["Web Servers"])
    frontend = _computer_in(api_world, ids.groups["Frontend"])
    outside = _computer_in(api_world, ids.groups["Databases"])
    with api_world.http("Web Editor") as http:
        assert (
            _ok(http.post(f"/computers/{inside}", json={"displayName": "web"}))["displayName"]
            == "web"
        )
        # Within the selection (a sub-group) is fine; out of it is not.
        assert (
            _ok(http.post(f"/computers/{inside}", json={"groupID": ids.groups["Frontend"]}))[
                "groupID"
            ]
            == ids.groups["Frontend"]
        )
        _ok(http.post(f"/computers/{inside}", json={"groupID": ids.groups["Web Servers"]}))
        # Databases is not visible to it at all: 404, naming the field.
        response = http.post(f"/computers/{frontend}", json={"groupID": ids.groups["Databases"]})
        assert response.status_code == 404 and "groupID" in response.json()["message"]
        assert http.post(f"/computers/{frontend}", json={"groupID": None}).status_code == 403
        assert http.post(f"/computers/{outside}", json={"description": "x"}).status_code == 404
        assert http.delete(f"/computers/{outside}").status_code == 404
        created = _ok(
            http.post("/computers", json={"hostName": "w", "groupID": ids.groups["Frontend"]})
        )
        _ok(http.delete(f"/computers/{created['ID']}"), 204)
        assert http.post("/computers", json={"hostName": "w"}).status_code == 403
    with api_world.http("Web Editor Sees All") as http:
        assert http.get(f"/computers/{outside}").status_code == 200
        response = http.post(f"/computers/{outside}", json={"description": "x"})
        assert response.status_code == 403, response.text
        assert http.delete(f"/computers/{outside}").status_code == 403
        # Visible now, but still outside the selection.
        response = http.post(f"/computers/{inside}", json={"groupID": ids.groups["Databases"]})
        assert response.status_code == 403 and "groupID" in response.json()["message"]
    with api_world.http("Full Access") as http:
        assert _ok(http.get(f"/computers/{outside}")).get("description") != "x"
        assert _ok(http.get(f"/computers/{inside}"))["groupID"] == ids.groups["Web Servers"]


def test_selection_limits_groups_and_policies(api_world: ApiWorld, ids: Ids) -> None:
    with api_world.http("Web Editor") as http:
        group = _ok(
            http.post(
                "/computergroups", json={"name": "web sub", "parentGroupID": ids.groups["Frontend"]}
            )
        )
        assert http.post("/computergroups", json={"name": "top"}).status_code == 403
        assert (
            http.post(f"/computergroups/{ids.groups['Databases']}", json={"name": "x"}).status_code
            == 404
        )
        _ok(http.delete(f"/computergroups/{group['ID']}"), 204)
        policy = _ok(
            http.post("/policies", json={"name": "child", "parentID": ids.policies["Web Server"]})
        )
        assert http.post("/policies", json={"name": "base"}).status_code == 403
        response = http.post(f"/policies/{policy['ID']}", json={"parentID": None})
        assert response.status_code == 403
        assert http.delete(f"/policies/{ids.policies['Base Policy']}").status_code == 404
        _ok(http.delete(f"/policies/{policy['ID']}"), 204)


def test_cycles_are_refused(api_world: ApiWorld, ids: Ids) -> None:
    with api_world.http("Full Access") as http:
        for group, parent in (("Datacenter Tokyo", "Frontend"), ("Web Servers", "Web Servers")):
            response = http.post(
                f"/computergroups/{ids.groups[group]}", json={"parentGroupID": ids.groups[parent]}
            )
            assert response.status_code == 400
            assert "parentGroupID" in response.json()["message"]
        response = http.post(
            f"/policies/{ids.policies['Base Policy']}",
            json={"parentID": ids.policies["Web Server"]},
        )
        assert response.status_code == 400 and "parentID" in response.json()["message"]
        tree = _ok(http.get(f"/computergroups/{ids.groups['Datacenter Tokyo']}"))
        assert tree.get("parentGroupID") is None


def test_bad_fields_name_the_field(api_world: ApiWorld, ids: Ids) -> None:
    with api_world.http("Full Access") as http:
        for path, body, field in (
            ("/computers", {"displayName": "no host"}, "hostName"),
            ("/computers", {"hostName": ""}, "hostName"),
            ("/computers", {"hostName": "h", "groupID": 0}, "groupID"),
            ("/computers", {"hostName": "h", "bogus": 1}, "bogus"),
            ("/computergroups", {"description": "x"}, "name"),
            ("/policies", {"name": "x" * 300}, "name"),
        ):
            response = http.post(path, json=body)
            assert response.status_code == 400, (path, body, response.text)
            assert field in response.json()["message"]


def test_other_accounts_objects_are_404(api_world: ApiWorld, ids: Ids) -> None:
    with api_world.http("Full Access") as http:
        assert http.post(f"/computers/{ids.b_computer}", json={"hostName": "x"}).status_code == 404
        assert http.delete(f"/computers/{ids.b_computer}").status_code == 404
        assert http.post(f"/computergroups/{ids.b_group}", json={"name": "x"}).status_code == 404
        assert http.delete(f"/computergroups/{ids.b_group}").status_code == 404
        assert http.post(f"/policies/{ids.b_policy}", json={"name": "x"}).status_code == 404
        assert http.delete(f"/policies/{ids.b_policy}").status_code == 404
        response = http.post("/computers", json={"hostName": "h", "groupID": ids.b_group})
        assert response.status_code == 404 and "groupID" in response.json()["message"]
        response = http.post("/policies", json={"name": "p", "parentID": ids.b_policy})
        assert response.status_code == 404 and "parentID" in response.json()["message"]
    with api_world.http("Full Access", api_world.b) as http:
        assert _ok(http.get(f"/computers/{ids.b_computer}"))["hostName"] != "x"
