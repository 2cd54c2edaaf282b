"""Clearance resolution is pure and fails closed."""

from __future__ import annotations

import pytest

from service.directory.clearance import scope_for
from service.directory.rights import AUDITOR, NEW_ROLE_DEFAULTS, RoleRights
from storage.records import RoleRecord


def _role(rights: RoleRights | dict, account_id: int = 1, **selection) -> RoleRecord:
    columns = rights.as_columns() if isinstance(rights, RoleRights) else rights
    return RoleRecord(
        id=10,
        account_id=account_id,
        name="r",
        description="",
        immutable=False,
        rights=columns,
        computer_group_ids=frozenset(selection.get("groups", ())),
        computer_ids=frozenset(selection.get("computers", ())),
        policy_ids=frozenset(selection.get("policies", ())),
    )


def test_an_auditor_sees_every_computer_policy_and_unrelated_event() -> None:
    scope = scope_for(_role(AUDITOR), 1)
    assert scope.all_computers and scope.all_policies and scope.not_related_to_computers


def test_a_restricted_role_sees_its_selection_only() -> None:
    rights = RoleRights(
        all_computers=False,
        can_view_other_computers=False,
        all_policies=False,
        can_view_other_policies=False,
    )
    scope = scope_for(_role(rights, groups={3}, computers={7}, policies={2}), 1)
    assert not scope.all_computers and scope.group_ids == {3} and scope.computer_ids == {7}
    assert not scope.all_policies and scope.policy_ids == {2}


def test_viewing_non_selected_computers_widens_a_selection_to_all() -> None:
    rights = RoleRights(all_computers=False, can_view_other_computers=True)
    assert scope_for(_role(rights, groups={3}), 1).all_computers


def test_without_the_view_right_nothing_is_seen_even_with_all_computers() -> None:
    scope = scope_for(_role(RoleRights(can_view_computers=False)), 1)
    assert not scope.all_computers and not scope.group_ids and not scope.computer_ids


def test_a_missing_role_gives_the_empty_scope() -> None:
    assert scope_for(None, 1).is_empty


def test_a_role_of_another_account_gives_the_empty_scope() -> None:
    assert scope_for(_role(NEW_ROLE_DEFAULTS, account_id=2), 1).is_empty


@pytest.mark.parametrize(
    "breakage",
    [
        lambda r: r.pop("all_computers"),
        lambda r: r.update(all_computers="yes"),
        lambda r: r.update(can_view_other_computers=None),
        lambda r: r.update(can_view_not_related_to_computers=1),
        lambda r: r.clear(),
    ],
)
def test_a_malformed_role_gives_the_empty_scope(breakage) -> None:
    rights = NEW_ROLE_DEFAULTS.as_columns()
    breakage(rights)
    assert scope_for(_role(rights), 1).is_empty


def test_a_malformed_selection_gives_the_empty_scope() -> None:
    rights = RoleRights(all_computers=False, can_view_other_computers=False)
    assert scope_for(_role(rights, groups={"3"}), 1).is_empty
