"""The key's role decides: the rights gates, the equal-or-lesser rule, accounts apart, 401s."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from service.api.keys import new_key
from storage.db import transaction
from storage.models import ApiKey, Contact, Role, SystemEvent
from tests.service.api.conftest import ApiWorld, Tenant

_names = itertools.count()


#: What each call needs, as (name, method, path, body maker).
def calls(t: Tenant) -> list[tuple[str, str, str, Any]]:
    return [
        ("list contacts", "GET", "/contacts", None),
        (
            "create contact",
            "POST",
            "/contacts",
            lambda: {"name": f"c{next(_names)}", "emailAddress": "x@example.com", "roleID": None},
        ),
        ("list roles", "GET", "/roles", None),
        (
            "create role",
            "POST",
            "/roles",
            lambda: {
                "name": f"r{next(_names)}",
                "allComputers": False,
                "rights": {"platformRights": {"computerRights": {"canViewOtherComputers": False}}},
            },
        ),
        ("list keys", "GET", "/apikeys", None),
        (
            "create key",
            "POST",
            "/apikeys",
            lambda: {"keyName": f"k{next(_names)}", "roleID": t.roles["Minimal API"]},
        ),
        ("current key", "GET", "/apikeys/current", None),
        ("templates", "GET", "/reporttemplates", None),
        ("computers", "GET", "/computers", None),
        (
            "report",
            "POST",
            "/reports",
            lambda: {
                "reportTemplateID": 1,
                "recipients": {"contactIDs": [t.contacts["alex.morgan@example.com"]]},
            },
        ),
        ("ingest", "POST", "/ingest", lambda: {"events": []}),
    ]


OK, NO = 200, 403
#: Expected status of each call in ``calls`` order, per role.
MATRIX = {
    "Full Access": [OK] * 11,
    "Auditor": [NO, NO, NO, NO, NO, NO, OK, OK, OK, NO, NO],
    "Workload Security Read Only": [NO, NO, NO, NO, NO, NO, OK, OK, OK, NO, NO],
    "Contact Manager": [OK, OK, NO, NO, NO, NO, OK, OK, OK, OK, NO],
    "Key Admin": [NO, NO, NO, NO, OK, OK, OK, OK, OK, NO, NO],
    "Role Admin": [NO, NO, OK, OK, OK, OK, OK, OK, OK, NO, NO],
}


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_which_calls_each_role_may_make(api_world: ApiWorld, role: str) -> None:
    got = []
    with api_world.http(role) as http:
        for _name, method, path, body in calls(api_world.a):
            response = http.request(method, path, json=body() if body else None)
            got.append(response.status_code)
            if response.status_code == NO:
                assert "does not allow" in response.json()["message"]
    assert dict(zip([c[0] for c in calls(api_world.a)], got, strict=True)) == dict(
        zip([c[0] for c in calls(api_world.a)], MATRIX[role], strict=True)
    )


def count(world: ApiWorld, model: Any) -> int:
    with world.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_restricted_key_cannot_give_a_contact_full_access(api_world: ApiWorld) -> None:
    before = count(api_world, Contact)
    with api_world.http("Contact Manager") as http:
        response = http.post(
            "/contacts",
            json={
                "name": "Sneaky",
                "emailAddress": "me@example.com",
                "roleID": api_world.a.roles["Full Access"],
            },
        )
    assert response.status_code == 403
    assert "beyond" in response.json()["message"]
    assert count(api_world, Contact) == before


def test_restricted_key_cannot_redirect_a_higher_contact(api_world: ApiWorld) -> None:
    alex = api_world.a.contacts["alex.morgan@example.com"]
    with api_world.http("Contact Manager") as http:
        response = http.post(f"/contacts/{alex}", json={"emailAddress": "me@example.com"})
        assert response.status_code == 403
        assert http.get(f"/contacts/{alex}").json()["emailAddress"] == "alex.morgan@example.com"


def test_restricted_key_cannot_widen_its_own_role(api_world: ApiWorld) -> None:
    own = api_world.a.roles["Role Admin"]
    widen = [
        {"allComputers": True},
        {"otherRights": {"contactRights": "full"}},
        {"rights": {"platformRights": {"contactRights": {"canViewContacts": True}}}},
        {"rights": {"platformRights": {"computerRights": {"canDeleteComputers": True}}}},
        {"canOnlyManipulateUsersWithEqualOrLesserRights": False, "allowUserInterface": True},
    ]
    with api_world.http("Role Admin") as http:
        before = http.get(f"/roles/{own}").json()
        for change in widen[:4]:
            response = http.post(f"/roles/{own}", json=change)
            assert response.status_code == 403, (change, response.text)
        assert http.get(f"/roles/{own}").json() == before
    with api_world.http("Contact Manager") as http:
        own = api_world.a.roles["Contact Manager"]
        assert http.post(f"/roles/{own}", json={"allComputers": True}).status_code == 403


def test_restricted_key_cannot_create_a_role_or_key_with_more_rights(api_world: ApiWorld) -> None:
    roles, keys = count(api_world, Role), count(api_world, ApiKey)
    with api_world.http("Role Admin") as http:
        assert http.post("/roles", json={"name": "Wider"}).status_code == 403  # all computers
    with api_world.http("Key Admin") as http:
        for role in ("Full Access", "Auditor", "Role Admin"):
            response = http.post(
                "/apikeys", json={"keyName": f"up {role}", "roleID": api_world.a.roles[role]}
            )
            assert response.status_code == 403, (role, response.text)
        own = api_world.a.key_ids["Key Admin"]
        lift = {"roleID": api_world.a.roles["Full Access"]}
        assert http.post(f"/apikeys/{own}", json=lift).status_code == 403
        assert http.post("/apikeys/current", json=lift).status_code == 403
    assert (count(api_world, Role), count(api_world, ApiKey)) == (roles, keys)


def test_the_clearance_scopes_computers_groups_and_policies(api_world: ApiWorld) -> None:
    with api_world.http("Full Access") as http:
        every = {c["ID"] for c in http.get("/computers").json()["computers"]}
    with api_world.http("Contact Manager") as http:
        mine = {c["ID"] for c in http.get("/computers").json()["computers"]}
        outside = sorted(every - mine)
        assert mine and outside and mine < every
        assert http.get(f"/computers/{outside[0]}").status_code == 404
        assert http.get(f"/computers/{sorted(mine)[0]}").status_code == 200
        groups = {g["name"] for g in http.get("/computergroups").json()["computerGroups"]}
        assert "Web Servers" in groups and "Office Berlin" not in groups
    with api_world.http("Minimal") as http:
        assert http.get("/computers").status_code == 401  # Minimal has no web service access


# --- accounts apart -------------------------------------------------------------------------


def other_account_paths(a: Tenant) -> list[tuple[str, str]]:
    contact = a.contacts["alex.morgan@example.com"]
    role, key = a.roles["Auditor"], a.key_ids["Auditor"]
    return [
        ("GET", f"/contacts/{contact}"),
        ("POST", f"/contacts/{contact}"),
        ("DELETE", f"/contacts/{contact}"),
        ("GET", f"/roles/{role}"),
        ("POST", f"/roles/{role}"),
        ("DELETE", f"/roles/{role}"),
        ("GET", f"/apikeys/{key}"),
        ("POST", f"/apikeys/{key}"),
        ("POST", f"/apikeys/{key}/secretkey"),
        ("DELETE", f"/apikeys/{key}"),
    ]


def test_another_accounts_objects_answer_404(api_world: ApiWorld) -> None:
    a, b = api_world.a, api_world.b
    with api_world.http("Full Access") as http_a:
        computer = http_a.get("/computers").json()["computers"][0]["ID"]
        group = http_a.get("/computergroups").json()["computerGroups"][0]["ID"]
        policy = http_a.get("/policies").json()["policies"][0]["ID"]
        run = http_a.post(
            "/reports",
            json={"reportTemplateID": 1, "recipients": {"allAdministratorsAndContacts": True}},
        ).json()["ID"]
    reads = [
        ("GET", f"/computers/{computer}"),
        ("GET", f"/computergroups/{group}"),
        ("GET", f"/policies/{policy}"),
        ("GET", f"/reportruns/{run}"),
    ]
    with api_world.http("Full Access", b) as http_b:
        for method, path in other_account_paths(a) + reads:
            body: dict[str, Any] | None = (
                {} if method == "POST" and not path.endswith("secretkey") else None
            )
            response = http_b.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
        # References to the other account's objects are unknown here too
        foreign_role = {"name": "F", "emailAddress": "f@example.com", "roleID": a.roles["Auditor"]}
        assert http_b.post("/contacts", json=foreign_role).status_code == 400
        foreign_contact = {
            "reportTemplateID": 1,
            "recipients": {"contactIDs": [min(a.contacts.values())]},
        }
        assert http_b.post("/reports", json=foreign_contact).status_code == 400
    with api_world.http("Full Access") as http_a:
        assert http_a.get(f"/contacts/{a.contacts['alex.morgan@example.com']}").status_code == 200


# --- authentication -------------------------------------------------------------------------


def test_unknown_disabled_expired_or_no_api_keys_get_401(api_world: ApiWorld) -> None:
    with transaction(api_world.sessions) as session:
        _, expired = new_key(
            session,
            account_id=api_world.a.account_id,
            role_id=api_world.a.roles["Full Access"],
            name="expired",
            expiry=datetime.now(UTC) - timedelta(minutes=1),
        )
    base = api_world.server.base
    import httpx

    for secret in (None, "nope", expired, api_world.a.secrets["No API"]):
        headers = {"api-version": "v1"} | ({"api-secret-key": secret} if secret else {})
        response = httpx.get(f"{base}/contacts", headers=headers)
        assert response.status_code == 401, secret
        assert set(response.json()) == {"message"}
    good = {"api-secret-key": api_world.a.secrets["Full Access"]}
    assert httpx.get(f"{base}/contacts", headers=good).status_code == 400  # no api-version
    wrong = good | {"api-version": "v2"}
    response = httpx.get(f"{base}/contacts", headers=wrong)
    assert response.status_code == 400 and "api-version" in response.json()["message"]


def test_validation_errors_name_the_field_and_write_nothing(api_world: ApiWorld) -> None:
    before = count(api_world, Contact)
    with api_world.http("Full Access") as http:
        bad_email = http.post(
            "/contacts", json={"name": "B", "emailAddress": "not-an-address", "roleID": None}
        )
        bad_type = http.post("/contacts", json={"name": "B", "emailAddress": 5, "roleID": None})
        unknown = http.post("/contacts", json={"name": "B", "nickname": "b"})
        bad_role = http.post("/roles", json={"name": "R", "otherRights": {"nope": "full"}})
    assert bad_email.status_code == 400 and "emailAddress" in bad_email.json()["message"]
    assert bad_type.status_code == 400 and "emailAddress" in bad_type.json()["message"]
    assert unknown.status_code == 400 and "nickname" in unknown.json()["message"]
    assert bad_role.status_code == 400 and "otherRights" in bad_role.json()["message"]
    assert count(api_world, Contact) == before


def test_changes_are_audited_with_actor_and_origin(api_world: ApiWorld) -> None:
    with api_world.http("Full Access") as http:
        made = http.post(
            "/contacts",
            json={
                "name": "Audited",
                "emailAddress": "audited@example.com",
                "roleID": None,
                "reportPDFPasswordEnabled": True,
                "reportPDFPassword": "hunter2-secret",
            },
        ).json()
        http.delete(f"/contacts/{made['ID']}")
    with api_world.sessions() as session:
        events = session.scalars(
            select(SystemEvent)
            .where(SystemEvent.account_id == api_world.a.account_id, SystemEvent.event_code >= 8100)
            .order_by(SystemEvent.id.desc())
            .limit(2)
        ).all()
    deleted, created = events
    assert (created.event_code, created.name) == (8100, "Contact Created")
    assert (deleted.event_code, deleted.name) == (8102, "Contact Deleted")
    assert created.actor == "apikey:key Full Access" and created.origin == "127.0.0.1"
    assert "audited@example.com" in created.description
    assert "hunter2" not in created.description and "reportPDFPassword=(set)" in created.description
    assert created.computer_id is None
