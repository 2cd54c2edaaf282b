"""Roles: the preset roles read-only; custom roles created, edited and deleted.

The rules are ``service.directory.role_admin``'s (the API's too): the User Rights role flags,
"can only manipulate users with equal or lesser rights" (no role changes at all), immutable
roles, and no role with a right beyond the viewer's own. The preset roles (the five every
account gets) are shown read-only here: a new role starts from the New Role Defaults rather
than from a copy of Full Access (seed 003).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console import role_form
from service.console.i18n import N_
from service.console.role_form import RoleForm
from service.console.web import ConsoleDep, FormDep, ViewerDep, render, see_other
from service.directory import role_admin
from service.directory.rights import PRECONFIGURED_ROLES
from service.directory.role_specs import rights_of, spec_of
from service.errors import Forbidden, InvalidInput
from storage.records import RoleRecord

router = APIRouter()

#: The names of the roles every account gets: shown read-only.
PRESET_NAMES = frozenset(role.name for role in PRECONFIGURED_ROLES)
NOTICES = {
    "created": N_("The role was created."),
    "saved": N_("The role was saved."),
    "deleted": N_("The role was deleted."),
}


def is_preset(record: RoleRecord) -> bool:
    return record.immutable or record.name in PRESET_NAMES


def _form_of(record: RoleRecord) -> RoleForm:
    return RoleForm(
        name=record.name,
        description=record.description,
        rights=rights_of(record),
        selection=spec_of(record).selection,
    )


@router.get("/roles")
def role_list(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    with app.transaction() as session:
        records = role_admin.list_for(session, viewer.principal)
    presets = [r for r in records if is_preset(r)]
    custom = [r for r in records if not is_preset(r)]
    return render(
        request,
        "roles/list.html",
        {
            "presets": presets,
            "custom": custom,
            "may_create": role_admin.may_create(viewer.principal),
            "level_names": dict(role_form.LEVELS),
        },
        viewer=viewer,
        current="roles",
        notices=NOTICES,
    )


def _form_page(
    request: Request,
    viewer: ViewerDep,
    app: ConsoleDep,
    form: RoleForm,
    *,
    record: RoleRecord | None,
    editable: bool,
    status: int = 200,
    may_delete: bool = False,
) -> Response:
    with app.transaction() as session:
        choices = role_admin.selection_choices(session, viewer.principal)
    return render(
        request,
        "roles/form.html",
        {
            "record": record,
            "form": form,
            "columns": form.columns,
            "selection": form.selection,
            "choices": choices,
            "editable": editable,
            "may_delete": may_delete,
            "preset": record is not None and is_preset(record),
            "labels": role_form,
        },
        viewer=viewer,
        status=status,
        current="roles",
        notices=NOTICES,
    )


@router.get("/roles/new")
def new_role(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    if not role_admin.may_create(viewer.principal):
        raise Forbidden("the role does not allow creating roles")
    return _form_page(request, viewer, app, RoleForm(), record=None, editable=True)


@router.post("/roles")
def create_role(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    form = RoleForm.posted(posted)
    try:
        with app.transaction() as session:
            created = role_admin.create_for(
                session,
                viewer.principal,
                name=form.name,
                description=form.description,
                spec=form.spec,
            )
    except (InvalidInput, Forbidden) as error:
        if isinstance(error, Forbidden) and not role_admin.may_create(viewer.principal):
            raise
        form.error = str(error)
        return _form_page(request, viewer, app, form, record=None, editable=True, status=422)
    return see_other(f"/roles/{created.id}", notice="created")


@router.get("/roles/{role_id}")
def show_role(request: Request, viewer: ViewerDep, app: ConsoleDep, role_id: int) -> Response:
    with app.transaction() as session:
        record = role_admin.get_for(session, viewer.principal, role_id)
        editable = not is_preset(record) and role_admin.may_change(
            session, viewer.principal, record
        )
        deletable = not is_preset(record) and role_admin.may_delete(
            session, viewer.principal, record
        )
    return _form_page(
        request,
        viewer,
        app,
        _form_of(record),
        record=record,
        editable=editable,
        may_delete=deletable,
    )


@router.post("/roles/{role_id}")
def save_role(
    request: Request, viewer: ViewerDep, app: ConsoleDep, role_id: int, posted: FormDep
) -> Response:
    with app.transaction() as session:
        record = role_admin.get_for(session, viewer.principal, role_id)
    if is_preset(record):
        raise Forbidden(f"role {record.name!r} is a preset role: create a new role instead")
    form = RoleForm.posted(posted)
    try:
        with app.transaction() as session:
            role_admin.modify_for(
                session,
                viewer.principal,
                role_id,
                change=lambda _current: form.spec,
                name=form.name,
                description=form.description,
            )
    except (InvalidInput, Forbidden) as error:
        with app.transaction() as session:
            if not role_admin.may_change(session, viewer.principal, record):
                raise
        form.error = str(error)
        return _form_page(request, viewer, app, form, record=record, editable=True, status=422)
    return see_other(f"/roles/{role_id}", notice="saved")


@router.get("/roles/{role_id}/delete")
def confirm_delete(request: Request, viewer: ViewerDep, app: ConsoleDep, role_id: int) -> Response:
    with app.transaction() as session:
        record = role_admin.get_for(session, viewer.principal, role_id)
        if is_preset(record) or not role_admin.may_delete(session, viewer.principal, record):
            raise Forbidden("the role cannot be deleted by you")
    return render(request, "roles/delete.html", {"record": record}, viewer=viewer, current="roles")


@router.post("/roles/{role_id}/delete")
def delete_role(
    request: Request, viewer: ViewerDep, app: ConsoleDep, role_id: int, posted: FormDep
) -> Response:
    with app.transaction() as session:
        record = role_admin.get_for(session, viewer.principal, role_id)
        if is_preset(record):
            raise Forbidden(f"role {record.name!r} is a preset role")
        role_admin.delete_for(session, viewer.principal, role_id)
    return see_other("/roles", notice="deleted")
