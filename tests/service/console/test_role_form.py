"""The role form covers the whole rights model, in the console's table order."""

from __future__ import annotations

from dataclasses import fields

from starlette.datastructures import FormData

from service.console.role_form import FLAGS, OTHER_RIGHTS, RoleForm
from service.directory.rights import (
    NEW_ROLE_DEFAULTS,
    OTHER_RIGHTS_FEATURES,
    RoleRights,
    UserRightsPreset,
)


def test_every_right_has_a_control_and_every_feature_its_row_in_order():
    assert [key for key, _ in OTHER_RIGHTS] == [key for key, _, _ in OTHER_RIGHTS_FEATURES]
    controls = FLAGS | {"all_computers", "all_policies", "user_rights", "other_rights"}
    assert controls == {f.name for f in fields(RoleRights)}


def test_a_posted_form_with_a_preset_sets_the_presets_flags():
    form = FormData(
        [
            ("name", "Helpers"),
            ("computers", "all"),
            ("policies", "all"),
            ("can_view_computers", "on"),
            ("user_rights", UserRightsPreset.create_manage_equal_or_less.value),
            ("can_view_roles", "on"),  # ignored: the preset decides
            *[(f"other.{key}", level.value) for key, _, level in OTHER_RIGHTS_FEATURES],
        ]
    )

    posted = RoleForm.posted(form)

    assert posted.rights.can_view_users and posted.rights.can_create_new_users
    assert not posted.rights.can_view_roles
    assert posted.rights.can_only_manipulate_users_with_equal_or_lesser_rights
    assert posted.rights.other_rights == NEW_ROLE_DEFAULTS.other_rights
