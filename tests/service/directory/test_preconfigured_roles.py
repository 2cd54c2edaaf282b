"""The five preconfigured roles and the new-role defaults follow the console's table, row by row.

The expected values are transcribed from the console's table here, independently of
service.directory.rights.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account, create_role
from storage.models import Role

A = True  # "Allowed" / "Yes"
N = False  # "Not allowed" / blank

# (column, Full Access, Auditor / Read Only, New Role Defaults): the seed's rows in order.
GENERAL_AND_COMPUTER_AND_POLICY_ROWS = [
    ("allow_user_interface", A, A, A),
    ("allow_web_service", A, A, N),
    # Computer Rights: every row "All Computers"
    ("all_computers", A, A, A),
    ("can_view_computers", A, A, A),
    ("can_edit_computer_properties", A, N, N),
    ("can_delete_computers", A, N, N),
    ("can_dismiss_alerts", A, N, N),
    ("can_tag_computers", A, N, N),
    ("can_view_other_computers", A, A, A),
    ("can_view_not_related_to_computers", A, A, A),
    ("can_create_new_computers", A, N, N),
    ("can_add_and_remove_computer_groups", A, N, N),
    ("can_import_computers", A, N, N),
    ("can_manage_v_centers", A, N, N),
    ("can_manage_cloud_accounts", A, N, N),
    # Policy Rights: every row "All Policies"
    ("all_policies", A, A, A),
    ("can_view_policies", A, A, A),
    ("can_edit_policy_properties", A, N, N),
    ("can_delete_policies", A, N, N),
    ("can_view_other_policies", A, A, A),
    ("can_create_new_policies", A, N, N),
    ("can_import_policies", A, N, N),
]

# User Rights: Full Access has "full control", Auditor and New Role "change own password only".
USER_RIGHTS = ("full-control", "change-own-password", "change-own-password")
FULL_CONTROL = dict.fromkeys(
    [
        "can_view_users",
        "can_create_new_users",
        "can_edit_user_properties",
        "can_delete_users",
        "can_view_roles",
        "can_create_new_roles",
        "can_edit_role_properties",
        "can_delete_roles",
    ],
    True,
)
CHANGE_OWN_PASSWORD = dict.fromkeys(
    [*FULL_CONTROL, "can_only_manipulate_users_with_equal_or_lesser_rights"], False
)

F, V, H = "full", "view-only", "hide"
# Other Rights: (feature, Full Access, Auditor / Read Only, New Role Defaults).
OTHER_RIGHTS_ROWS = [
    ("Scan Cache Configuration Administration", F, V, V),
    ("Agent Version Controls", F, V, V),
    ("Data Center Gateways", F, H, H),
    ("Alerts", F, V, V),
    ("Alert Configuration", F, V, V),
    ("IP Lists", F, V, V),
    ("Port Lists", F, V, V),
    ("Schedules", F, V, V),
    ("System Settings (Global)", F, H, H),
    ("Expert Settings", F, H, H),
    ("System Information", F, H, H),
    ("Diagnostics", F, V, V),
    ("Tagging", F, V, V),
    ("Tasks", F, H, H),
    ("Contacts", F, H, H),
    ("Licenses", F, H, H),
    ("Updates", F, H, H),
    ("Asset Values", F, V, V),
    ("Certificates", F, V, V),
    ("Relay Management", F, V, V),
    ("Proxy", F, V, V),
    ("Syslog Configurations", F, V, V),
    ("USB Device", F, V, V),
    ("Malware Scan Configuration", F, V, V),
    ("Identified File", F, V, V),
    ("Web Reputation Configuration", F, V, V),
    ("Activity Monitoring Configuration", F, V, V),
    ("Directory Lists", F, V, V),
    ("File Lists", F, V, V),
    ("File Extension Lists", F, V, V),
    ("Application Control Rulesets", F, H, H),
    ("Application Control Rule", F, H, H),
    ("Application Control Unrecognized Software", F, H, H),
    ("Application Control Software Inventory", F, H, H),
    ("Integrity Monitoring Rules", F, V, V),
    ("Log Inspection Rules", F, V, V),
    ("Log Inspection Decoders", F, V, V),
    ("Firewall Rules", F, V, V),
    ("Firewall Stateful Configurations", F, V, V),
    ("Intrusion Prevention Rules", F, V, V),
    ("Application Types", F, V, V),
    ("MAC Lists", F, V, V),
    ("Contexts", F, V, V),
    ("Tenant Account", F, H, H),
]


def _roles(session: Session) -> tuple[dict[str, Role], Role]:
    account = create_account(session, name="Seed 003 Inc.")
    new_role = create_role(session, account_id=account.id, name="Fresh role")
    roles = session.scalars(select(Role).where(Role.account_id == account.id)).all()
    return {role.name: role for role in roles}, new_role


def _other_rights_by_label(role: Role) -> dict[str, str]:
    from service.directory.rights import OTHER_RIGHTS_FEATURES

    return {label: role.other_rights[key] for key, label, _ in OTHER_RIGHTS_FEATURES}


def test_a_new_account_gets_exactly_the_five_preconfigured_roles(session: Session) -> None:
    roles, _ = _roles(session)
    assert set(roles) - {"Fresh role"} == {
        "Full Access",
        "Auditor",
        "Workload Security Read Only",
        "Deep Security Migration",
        "Trend Vision One",
    }
    assert roles["Workload Security Read Only"].immutable
    assert not roles["Auditor"].immutable
    assert not roles["Full Access"].immutable


@pytest.mark.parametrize("row", GENERAL_AND_COMPUTER_AND_POLICY_ROWS, ids=lambda r: r[0])
def test_computer_policy_and_general_rights_match_the_seed_row(session: Session, row) -> None:
    column, full, auditor, new = row
    roles, new_role = _roles(session)
    assert getattr(roles["Full Access"], column) is full
    assert getattr(roles["Auditor"], column) is auditor
    assert getattr(roles["Workload Security Read Only"], column) is auditor
    assert getattr(new_role, column) is new


def test_user_rights_match_the_seed_presets(session: Session) -> None:
    roles, new_role = _roles(session)
    targets = (roles["Full Access"], roles["Auditor"], new_role)
    for role, preset in zip(targets, USER_RIGHTS, strict=True):
        assert role.user_rights == preset
    for column, value in FULL_CONTROL.items():
        assert getattr(roles["Full Access"], column) is value
    for column, value in CHANGE_OWN_PASSWORD.items():
        assert getattr(roles["Auditor"], column) is value
        assert getattr(new_role, column) is value


def test_other_rights_match_the_seed_table_row_by_row(session: Session) -> None:
    roles, new_role = _roles(session)
    full = _other_rights_by_label(roles["Full Access"])
    auditor = _other_rights_by_label(roles["Auditor"])
    read_only = _other_rights_by_label(roles["Workload Security Read Only"])
    fresh = _other_rights_by_label(new_role)
    assert list(full) == [row[0] for row in OTHER_RIGHTS_ROWS]
    for label, full_level, auditor_level, new_level in OTHER_RIGHTS_ROWS:
        assert (full[label], auditor[label], read_only[label], fresh[label]) == (
            full_level,
            auditor_level,
            auditor_level,
            new_level,
        ), label
