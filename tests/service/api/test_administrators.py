"""Administrators through the official SDK (unchanged) and the User Rights that govern them."""

from __future__ import annotations

import logging
from typing import Any

import deepsecurity  # type: ignore[import-untyped]
import httpx
import pytest
from deepsecurity.rest import ApiException  # type: ignore[import-untyped]
from sqlalchemy import select

from service.reports.locales import SUPPORTED_LOCALES
from storage.models import Membership, SystemEvent, User, UserToken
from tests.service.api.conftest import VERSION, ApiWorld

PASSWORD = "correct horse battery staple 42"


def audit_trail(world: ApiWorld) -> list[tuple[str, str, str]]:
    with world.sessions() as session:
        rows = session.execute(
            select(SystemEvent.name, SystemEvent.actor, SystemEvent.description)
            .where(SystemEvent.account_id == world.a.account_id, SystemEvent.event_code >= 8800)
            .order_by(SystemEvent.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def post(http: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(path, json=body)


def test_the_sdk_drives_list_create_describe_modify_search_and_delete(
    api_world: ApiWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Given the SDK's AdministratorsApi with a Full Access key
    api = deepsecurity.AdministratorsApi(api_world.sdk("Full Access"))
    auditor = api_world.a.roles["Auditor"]

    # When an administrator is created (with a password), listed, searched, described,
    # modified and deleted
    created = api.create_administrator(
        deepsecurity.Administrator(
            username="kenji",
            full_name="Kenji Watanabe",
            email_address="kenji.watanabe@example.jp",
            role_id=auditor,
            locale="ja-JP",
            time_zone="Asia/Tokyo",
            time_format="24",
            phone_number="+81 3 1234 5678",
            password=PASSWORD,
            report_pdf_password_enabled=True,
            report_pdf_password="kenji-report-pw",
        ),
        VERSION,
    )
    listed = api.list_administrators(VERSION).administrators
    criteria = deepsecurity.SearchCriteria(field_name="fullName", string_value="Kenji%")
    found = api.search_administrators(
        VERSION, search_filter=deepsecurity.SearchFilter(search_criteria=[criteria])
    ).administrators
    described = api.describe_administrator(created.id, VERSION)
    # An SDK client sends back what it read, with one change
    described.description = "night shift"
    modified = api.modify_administrator(created.id, described, VERSION)
    api.delete_administrator(created.id, VERSION)

    # Then every step answered in the SDK's model
    assert created.id and created.role_id == auditor and created.username == "kenji"
    assert created.full_name == "Kenji Watanabe" and created.locale == "ja-JP"
    assert created.active is True and created.mfa_type == "none"
    assert created.last_password_change is not None and created.created is not None
    assert created.unsuccessful_sign_in_attempts == 0
    assert created.id in [a.id for a in listed]
    assert [a.id for a in found] == [created.id]
    assert modified.description == "night shift" and modified.time_zone == "Asia/Tokyo"
    with pytest.raises(ApiException) as gone:
        api.describe_administrator(created.id, VERSION)
    assert gone.value.status == 404
    # And no password or hash came back, nor reached the trail or the logs
    for answer in (created, described, modified, *listed):
        assert answer.password is None and answer.report_pdf_password is None
    trail = audit_trail(api_world)
    assert [name for name, _, _ in trail[-3:]] == ["User Created", "User Updated", "User Removed"]
    assert trail[-3][1] == "apikey:key Full Access"
    text = " ".join(d for _, _, d in trail) + caplog.text
    assert PASSWORD not in text and "kenji-report-pw" not in text and "$argon2" not in text


def test_a_user_without_a_password_gets_a_set_password_token_and_nothing_leaks(
    api_world: ApiWorld,
) -> None:
    with api_world.http("Full Access") as http:
        answer = post(
            http,
            "/administrators",
            {
                "fullName": "Ines Duarte",
                "emailAddress": "ines.duarte@example.pt",
                "roleID": api_world.a.roles["Auditor"],
                "reportdLocale": "pt-BR",
            },
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["locale"] == "en-US" and body["reportdLocale"] == "pt-BR"
        assert "lastPasswordChange" not in body
        assert not any(
            "password" in key.lower() and key != "reportPDFPasswordEnabled"
            for key in body
            if key != "passwordNeverExpires"
        )
    with api_world.sessions() as session:
        user = session.get(User, body["ID"])
        assert user is not None and user.password_hash is None
        tokens = session.scalars(select(UserToken).where(UserToken.user_id == user.id)).all()
        assert len(tokens) == 1 and tokens[0].used is None
    with api_world.http("Full Access") as http:
        assert http.delete(f"/administrators/{body['ID']}").status_code == 204


def test_the_sdk_reads_administrators_in_all_ten_languages(api_world: ApiWorld) -> None:
    made = []
    with api_world.http("Full Access") as http:
        for language in SUPPORTED_LOCALES:
            answer = post(
                http,
                "/administrators",
                {
                    "fullName": f"Admin {language}",
                    "emailAddress": f"admin.{language.lower()}@example.com",
                    "roleID": api_world.a.roles["Auditor"],
                    "reportdLocale": language,
                },
            )
            assert answer.status_code == 200, answer.text
            made.append(answer.json()["ID"])
    api = deepsecurity.AdministratorsApi(api_world.sdk("Full Access"))
    try:
        listed = {a.id: a for a in api.list_administrators(VERSION).administrators}
        for user_id, language in zip(made, SUPPORTED_LOCALES, strict=True):
            assert listed[user_id].locale == ("ja-JP" if language == "ja-JP" else "en-US")
            # An SDK modify that sends back locale en-US keeps the stored language
            api.modify_administrator(user_id, deepsecurity.Administrator(locale="en-US"), VERSION)
            if language != "ja-JP":
                with api_world.sessions() as session:
                    user = session.get(User, user_id)
                    assert user is not None and user.locale == language
    finally:
        for user_id in made:
            api.delete_administrator(user_id, VERSION)


# --- rights -----------------------------------------------------------------------------------


def make_admin(world: ApiWorld, role: str, address: str) -> int:
    with world.http("Full Access") as http:
        answer = post(
            http,
            "/administrators",
            {
                "fullName": address.split("@")[0],
                "emailAddress": address,
                "roleID": world.a.roles[role],
            },
        )
        assert answer.status_code == 200, answer.text
        return int(answer.json()["ID"])


def test_a_restricted_key_cannot_create_promote_or_edit_beyond_its_own_rights(
    api_world: ApiWorld,
) -> None:
    # Given a key whose role creates and manages users with equal or less access
    roles = api_world.a.roles
    full_admin = make_admin(api_world, "Full Access", "full.admin@example.com")
    key_admin = make_admin(api_world, "Key Admin", "peer.admin@example.com")
    with api_world.http("Key Admin") as http:
        # It may create a user with its own role
        ok = post(
            http,
            "/administrators",
            {"fullName": "Peer", "emailAddress": "peer2@example.com", "roleID": roles["Key Admin"]},
        )
        assert ok.status_code == 200, ok.text
        # When it creates a user with more rights: 403
        create = post(
            http,
            "/administrators",
            {
                "fullName": "Boss",
                "emailAddress": "boss@example.com",
                "roleID": roles["Full Access"],
            },
        )
        # When it promotes a user of its own level to more rights: 403
        promote = post(http, f"/administrators/{key_admin}", {"roleID": roles["Full Access"]})
        # When it edits a user who has more rights (their address, their password): 403
        redirect = post(
            http, f"/administrators/{full_admin}", {"emailAddress": "attacker@example.com"}
        )
        password = post(http, f"/administrators/{full_admin}", {"password": PASSWORD})
        # When it deletes a user who has more rights: 403
        delete = http.delete(f"/administrators/{full_admin}")
        # But editing a user of its own level works
        edit = post(http, f"/administrators/{key_admin}", {"description": "peer"})
    for refused in (create, promote, redirect, password, delete):
        assert refused.status_code == 403, refused.text
        assert "beyond" in refused.json()["message"]
    assert edit.status_code == 200, edit.text
    with api_world.sessions() as session:
        boss = session.scalars(select(User).where(User.email_address == "boss@example.com"))
        assert boss.first() is None
        full = session.get(User, full_admin)
        assert full is not None and full.email_address == "full.admin@example.com"
        assert full.password_hash is None
        member = session.scalars(select(Membership).where(Membership.user_id == key_admin)).one()
        assert member.role_id == roles["Key Admin"]
    with api_world.http("Full Access") as http:
        for user_id in (full_admin, key_admin, ok.json()["ID"]):
            assert http.delete(f"/administrators/{user_id}").status_code == 204


def test_user_rights_presets_gate_each_operation(api_world: ApiWorld) -> None:
    # Given an administrator and keys whose roles have no user rights (change own password only)
    target = make_admin(api_world, "Auditor", "gated@example.com")
    roles = api_world.a.roles
    for role in ("Auditor", "Contact Manager"):
        with api_world.http(role) as http:
            answers = [
                http.get("/administrators"),
                http.get(f"/administrators/{target}"),
                post(http, "/administrators/search", {}),
                post(
                    http,
                    "/administrators",
                    {"fullName": "X", "emailAddress": "x@example.com", "roleID": roles["Auditor"]},
                ),
                post(http, f"/administrators/{target}", {"description": "x"}),
                http.delete(f"/administrators/{target}"),
            ]
        # Then every operation is refused, naming the right
        for answer in answers:
            assert answer.status_code == 403, (role, answer.text)
            assert "_user" in answer.json()["message"]
    with api_world.http("Full Access") as http:
        assert http.delete(f"/administrators/{target}").status_code == 204


def test_another_accounts_administrators_do_not_exist_for_a_key(api_world: ApiWorld) -> None:
    theirs = make_admin(api_world, "Auditor", "only.in.a@example.com")
    with api_world.http("Full Access", api_world.b) as http:
        assert http.get(f"/administrators/{theirs}").status_code == 404
        assert post(http, f"/administrators/{theirs}", {"description": "x"}).status_code == 404
        assert http.delete(f"/administrators/{theirs}").status_code == 404
        assert theirs not in [a["ID"] for a in http.get("/administrators").json()["administrators"]]
    with api_world.http("Full Access") as http:
        assert http.delete(f"/administrators/{theirs}").status_code == 204


def test_a_user_in_two_accounts_keeps_one_identity_that_neither_account_rewrites(
    api_world: ApiWorld,
) -> None:
    # Given a user of account A invited into account B (same address: the same identity)
    user_id = make_admin(api_world, "Auditor", "shared.admin@example.com")
    with api_world.http("Full Access", api_world.b) as http:
        joined = post(
            http,
            "/administrators",
            {
                "emailAddress": "shared.admin@example.com",
                "roleID": api_world.b.roles["Full Access"],
            },
        )
        assert joined.status_code == 200, joined.text
        assert (
            joined.json()["ID"] == user_id
            and joined.json()["roleID"] == api_world.b.roles["Full Access"]
        )
        # When B's key changes the user's address or name: 403, their identity is their own
        refused = post(http, f"/administrators/{user_id}", {"fullName": "Renamed"})
        assert refused.status_code == 403 and "other accounts" in refused.json()["message"]
        # But B's own description of them is B's to change, also by an SDK client that
        # sends back every field it read
        assert post(http, f"/administrators/{user_id}", {"description": "B's"}).status_code == 200
        api = deepsecurity.AdministratorsApi(api_world.sdk("Full Access", api_world.b))
        read = api.describe_administrator(user_id, VERSION)
        read.description = "B's, through the SDK"
        assert api.modify_administrator(user_id, read, VERSION).description == read.description
        # And removing them from B leaves them in A
        assert http.delete(f"/administrators/{user_id}").status_code == 204
    with api_world.http("Full Access") as http:
        still = http.get(f"/administrators/{user_id}").json()
        assert still["roleID"] == api_world.a.roles["Auditor"] and still["description"] == ""
        assert http.delete(f"/administrators/{user_id}").status_code == 204
    with api_world.sessions() as session:
        assert session.get(User, user_id) is None  # no account left: the identity is gone
