"""Import and export: all or nothing, errors that name the record and field, a round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.dataset import json_schema
from service.directory.export import export_dataset
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.errors import ImportFormatError
from storage.models import Computer, ComputerGroup, Contact, Role, SecurityEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BOX = SecretBox("test-key")


def _load(session: Session, data: dict, account_name: str = "Import Inc.") -> int:
    account = create_account(session, name=account_name)
    import_dataset(session, account_id=account.id, dataset=parse_dataset(json.dumps(data)), box=BOX)
    return account.id


def _rows(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_sample_dataset_imports_completely(session: Session) -> None:
    data = sample_dataset(now=NOW)
    account_id = _load(session, data)
    computers = session.scalars(select(Computer).where(Computer.account_id == account_id)).all()
    assert len(computers) == len(data["computers"])
    events = session.scalar(select(func.count()).where(SecurityEvent.account_id == account_id))
    assert events == len(data["events"])


def test_export_then_import_into_a_new_account_gives_the_same_dataset(session: Session) -> None:
    first = _load(session, sample_dataset(now=NOW))
    exported = export_dataset(session, account_id=first).model_dump(mode="json")
    assert all(
        "reportPDFPassword" not in c or c["reportPDFPassword"] is None for c in exported["contacts"]
    )
    for contact in exported["contacts"]:
        if contact["reportPDFPasswordEnabled"]:
            contact["reportPDFPassword"] = "re-entered"
    second = create_account(session, name="Copy Inc.")
    import_dataset(
        session, account_id=second.id, dataset=parse_dataset(json.dumps(exported)), box=BOX
    )
    again = export_dataset(session, account_id=second.id).model_dump(mode="json")

    def shape(d: dict) -> dict:
        return {
            "computers": sorted(c["hostName"] for c in d["computers"]),
            "groups": sorted(g["name"] for g in d["computerGroups"]),
            "events": len(d["events"]),
            "contacts": sorted((c["name"], c["locale"]) for c in d["contacts"]),
            "roles": sorted(r["name"] for r in d["roles"]),
        }

    assert shape(again) == shape(exported)


def test_smart_folders_go_round_trip_with_their_group_and_policy_by_name(
    session: Session,
) -> None:
    # Given an account with the sample's folders and one on a policy tree
    first = _load(
        session,
        sample_dataset(now=NOW)
        | {
            "smartFolders": [
                *sample_dataset(now=NOW)["smartFolders"],
                {
                    "ID": 7,
                    "name": "Linux",
                    "criteria": {"policyID": 2, "includeSubpolicies": True, "platform": "ubuntu"},
                },
            ]
        },
    )

    # When it is exported and imported into another account (new IDs for everything)
    exported = export_dataset(session, account_id=first).model_dump(mode="json")
    for contact in exported["contacts"]:
        if contact["reportPDFPasswordEnabled"]:
            contact["reportPDFPassword"] = "re-entered"
    second = create_account(session, name="Folder Copy Inc.")
    import_dataset(
        session, account_id=second.id, dataset=parse_dataset(json.dumps(exported)), box=BOX
    )
    again = export_dataset(session, account_id=second.id).model_dump(mode="json")

    # Then the folders are the same, their group and policy the same by name
    def folders(d: dict) -> list[tuple[str, str, dict]]:
        groups = {g["ID"]: g["name"] for g in d["computerGroups"]}
        policies = {p["ID"]: p["name"] for p in d["policies"]}
        shaped = []
        for f in d["smartFolders"]:
            criteria = dict(f["criteria"])
            if criteria.get("computerGroupID") is not None:
                criteria["computerGroupID"] = groups[criteria["computerGroupID"]]
            if criteria.get("policyID") is not None:
                criteria["policyID"] = policies[criteria["policyID"]]
            shaped.append((f["name"], f["description"], criteria))
        return sorted(shaped)

    assert folders(again) == folders(exported)
    assert [name for name, _, _ in folders(again)] == [
        "Agents needing attention",
        "Linux",
        "PCI in Tokyo",
    ]
    assert (
        "Linux",
        "",
        {
            "platform": "ubuntu",
            "agentStatuses": [],
            "tags": [],
            "computerGroupID": None,
            "includeSubgroups": False,
            "policyID": "Linux Server",
            "includeSubpolicies": True,
        },
    ) in folders(again)


def test_a_folder_name_the_account_already_has_is_refused_on_import(session: Session) -> None:
    account_id = _load(session, sample_dataset(now=NOW))
    again = {"smartFolders": [{"name": "PCI in Tokyo"}]}
    with pytest.raises(ImportFormatError, match=r"smartFolders\[0\]\.name"):
        import_dataset(
            session, account_id=account_id, dataset=parse_dataset(json.dumps(again)), box=BOX
        )


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["computers"][3].update(groupID=99), r"computers\[3\]\.groupID"),
        (
            lambda d: d["computerGroups"][0].update(parentGroupID=3),
            r"computerGroups\[\d\]\.parentGroupID",
        ),
        (lambda d: d["contacts"][1].update(emailAddress="nope"), r"contacts\[1\]"),
        (lambda d: d["contacts"][0].update(locale="xx-YY"), r"contacts\[0\]"),
        (lambda d: d["contacts"][0].update(roleID=42), r"contacts\[0\]\.roleID"),
        (lambda d: d["events"][5].update(time="2026-11-20T10:00:00"), r"events\[5\]\.time"),
        (lambda d: d["events"][2].update(module="telepathy"), r"events\[2\]\.module"),
        (lambda d: d["computers"][1].update(hostName=""), r"computers\[1\]\.hostName"),
        (lambda d: d["computers"].append(dict(d["computers"][0])), r"computers\[\d+\]\.ID"),
        (lambda d: d.update(surprise=True), r"surprise"),
        (
            lambda d: d["smartFolders"][0]["criteria"].update(computerGroupID=99),
            r"smartFolders\[0\]\.criteria\.computerGroupID",
        ),
        (
            lambda d: d["smartFolders"][1]["criteria"].update(policyID=99),
            r"smartFolders\[1\]\.criteria\.policyID",
        ),
        (
            lambda d: d["smartFolders"][1].update(name=d["smartFolders"][0]["name"]),
            r"smartFolders\[1\]\.name",
        ),
        (
            lambda d: d["smartFolders"][0]["criteria"].update(agentStatuses=["asleep"]),
            r"smartFolders\.0\.criteria\.agentStatuses|smartFolders\[0\]\.criteria",
        ),
    ],
)
def test_a_malformed_file_names_the_record_and_field_and_writes_nothing(
    session: Session, mutate, where: str
) -> None:
    data = sample_dataset(now=NOW)
    mutate(data)
    before = {m: _rows(session, m) for m in (Computer, ComputerGroup, Contact, SecurityEvent)}
    account = create_account(session, name="Broken Inc.")
    savepoint = session.begin_nested()
    with pytest.raises(ImportFormatError, match=where):
        import_dataset(
            session, account_id=account.id, dataset=parse_dataset(json.dumps(data)), box=BOX
        )
    savepoint.rollback()
    assert {m: _rows(session, m) for m in before} == before


def test_a_file_that_is_not_json_is_a_clear_error() -> None:
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        parse_dataset(b"{ nope")
    with pytest.raises(ImportFormatError, match="JSON object"):
        parse_dataset(b"[1, 2]")


def test_the_published_json_schema_matches_the_format() -> None:
    published = Path(__file__).parents[3] / "docs" / "dataset.schema.json"
    assert json.loads(published.read_text()) == json_schema(), (
        "regenerate with: python -c 'import json,service.directory.dataset as d; "
        "print(json.dumps(d.json_schema(), indent=2))' > docs/dataset.schema.json"
    )


def test_user_rights_flags_that_contradict_the_preset_are_refused(session: Session) -> None:
    # Given a role whose preset is "change own password" but whose flags grant more
    data = sample_dataset(now=NOW)
    data["roles"].append(
        {
            "ID": 900,
            "name": "Confused",
            "userRights": "change-own-password",
            "rights": {
                "platformRights": {"administratorRights": {"canDeleteAdministrators": True}}
            },
        }
    )
    account = create_account(session, name="Confused Inc.")
    # Then the import names the role and says to use "custom"
    with pytest.raises(ImportFormatError, match=r"roles\[\d+\].*can_delete_users.*custom"):
        import_dataset(
            session, account_id=account.id, dataset=parse_dataset(json.dumps(data)), box=BOX
        )


def test_custom_user_rights_flags_are_read_from_the_file(session: Session) -> None:
    # Given a role with Custom User Rights, delegate authority on
    data = sample_dataset(now=NOW)
    data["roles"].append(
        {
            "ID": 901,
            "name": "Delegates",
            "userRights": "custom",
            "canOnlyManipulateUsersWithEqualOrLesserRights": True,
            "rights": {
                "platformRights": {
                    "administratorRights": {
                        "canViewAdministrators": True,
                        "canCreateNewAdministrators": True,
                    },
                    "administratorRoleRights": {"canViewAdministratorRoles": True},
                }
            },
        }
    )
    account_id = _load(session, data, "Delegates Inc.")
    role = session.scalars(
        select(Role).where(Role.account_id == account_id, Role.name == "Delegates")
    ).one()
    assert role.user_rights == "custom"
    assert role.can_view_users and role.can_create_new_users and role.can_view_roles
    assert not (role.can_delete_users or role.can_edit_user_properties or role.can_create_new_roles)
    assert role.can_only_manipulate_users_with_equal_or_lesser_rights
