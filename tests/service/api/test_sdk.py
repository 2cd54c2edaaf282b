"""The official SDK (deep-security-api 20.0.463), unchanged, as the client of reportd."""

from __future__ import annotations

from collections.abc import Iterator

import deepsecurity  # type: ignore[import-untyped]
import pytest
from deepsecurity.rest import ApiException  # type: ignore[import-untyped]
from sqlalchemy import select

from storage.models import Contact, SystemEvent
from tests.service.api.conftest import VERSION, ApiWorld


@pytest.fixture(autouse=True)
def sdk_readable_locales(api_world: ApiWorld) -> Iterator[None]:
    """The SDK reads only en-US and ja-JP contacts (a documented limit): the sample's de-DE
    contact is switched to en-US for these tests, and back afterwards."""
    with api_world.sessions.begin() as session:
        contacts = session.scalars(select(Contact).where(Contact.locale == "de-DE")).all()
        for c in contacts:
            c.locale = "en-US"
        changed = [c.id for c in contacts]
    yield
    with api_world.sessions.begin() as session:
        for contact_id in changed:
            found = session.get(Contact, contact_id)
            if found is not None:
                found.locale = "de-DE"


def audit_names(world: ApiWorld) -> list[str]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(SystemEvent.name)
                .where(SystemEvent.account_id == world.a.account_id, SystemEvent.event_code >= 8000)
                .order_by(SystemEvent.id)
            )
        )


def test_contacts_create_list_search_modify_delete(api_world: ApiWorld) -> None:
    # Given the SDK's contacts API with a Full Access key
    api = deepsecurity.ContactsApi(api_world.sdk("Full Access"))
    auditor = api_world.a.roles["Auditor"]

    # When a contact is created, listed, searched, modified and deleted
    created = api.create_contact(
        deepsecurity.Contact(
            name="Mina Park",
            email_address="mina.park@example.com",
            locale="ja-JP",
            role_id=auditor,
            report_pdf_password_enabled=True,
            report_pdf_password="s3cret-pw",
        ),
        VERSION,
    )
    listed = api.list_contacts(VERSION).contacts
    criteria = deepsecurity.SearchCriteria(field_name="name", string_value="Mina%")
    found = api.search_contacts(
        VERSION, search_filter=deepsecurity.SearchFilter(search_criteria=[criteria])
    ).contacts
    modified = api.modify_contact(
        created.id, deepsecurity.Contact(description="on call", locale="en-US"), VERSION
    )
    described = api.describe_contact(created.id, VERSION)
    api.delete_contact(created.id, VERSION)

    # Then every step answered in the SDK's model, and the password never came back
    assert created.id and created.role_id == auditor and created.report_pdf_password is None
    assert "Mina Park" in [c.name for c in listed]
    assert [c.id for c in found] == [created.id]
    assert modified.description == "on call" and modified.email_address == "mina.park@example.com"
    assert described.locale == "en-US"
    with pytest.raises(ApiException) as gone:
        api.describe_contact(created.id, VERSION)
    assert gone.value.status == 404
    # And the audit trail has every change, without the password
    names = audit_names(api_world)
    assert names[-3:] == ["Contact Created", "Contact Updated", "Contact Deleted"]
    with api_world.sessions() as session:
        texts = session.scalars(select(SystemEvent.description)).all()
    assert not any("s3cret-pw" in text for text in texts)


def test_roles_create_list_search_modify_delete(api_world: ApiWorld) -> None:
    api = deepsecurity.AdministratorRolesApi(api_world.sdk("Full Access"))
    rights = deepsecurity.Rights(
        platform_rights=deepsecurity.PlatformRights(
            contact_rights=deepsecurity.ContactRights(can_view_contacts=True),
            computer_rights=deepsecurity.ComputerRights(can_edit_computer_properties=True),
        )
    )

    created = api.create_administrator_role(
        deepsecurity.Role(name="SDK Role", allow_web_service=True, rights=rights), VERSION
    )
    listed = api.list_administrator_roles(VERSION).roles
    criteria = deepsecurity.SearchCriteria(field_name="allowWebService", boolean_test=True)
    found = api.search_administrator_roles(
        VERSION, search_filter=deepsecurity.SearchFilter(search_criteria=[criteria])
    ).roles
    modified = api.modify_administrator_role(
        created.id, deepsecurity.Role(description="changed", all_computers=False), VERSION
    )
    api.delete_administrator_role(created.id, VERSION)

    platform = created.rights.platform_rights
    assert platform.contact_rights.can_view_contacts is True
    assert platform.contact_rights.can_create_new_contacts is False
    assert platform.computer_rights.can_edit_computer_properties is True
    assert platform.computer_rights.can_delete_computers is False
    assert "SDK Role" in [r.name for r in listed]
    assert created.id in [r.id for r in found]
    assert "Workload Security Read Only" in [r.name for r in found]
    assert modified.description == "changed" and modified.all_computers is False
    assert modified.rights.platform_rights.contact_rights.can_view_contacts is True
    with pytest.raises(ApiException) as gone:
        api.describe_administrator_role(created.id, VERSION)
    assert gone.value.status == 404
    assert audit_names(api_world)[-3:] == ["Role Created", "Role Updated", "Role Deleted"]


def test_immutable_role_cannot_be_changed(api_world: ApiWorld) -> None:
    api = deepsecurity.AdministratorRolesApi(api_world.sdk("Full Access"))
    read_only = api_world.a.roles["Workload Security Read Only"]
    with pytest.raises(ApiException) as refused:
        api.modify_administrator_role(read_only, deepsecurity.Role(description="x"), VERSION)
    assert refused.value.status == 403
    assert "immutable" in refused.value.body


def test_report_templates_and_the_current_key(api_world: ApiWorld) -> None:
    client = api_world.sdk("Auditor")
    templates = deepsecurity.ReportTemplatesApi(client).list_report_templates(VERSION)
    one = deepsecurity.ReportTemplatesApi(client).describe_report_template(1, VERSION)
    current = deepsecurity.APIKeysApi(client).describe_current_api_key(VERSION)

    assert len(templates.report_templates) == 13
    assert one.name == "Summary Report" and one.supported_formats == ["pdf", "csv"]
    assert current.key_name == "key Auditor" and current.secret_key is None
    assert current.role_id == api_world.a.roles["Auditor"]


def test_api_key_created_through_the_sdk_works_at_once(api_world: ApiWorld) -> None:
    api = deepsecurity.APIKeysApi(api_world.sdk("Full Access"))
    created = api.create_api_key(
        deepsecurity.ApiKey(key_name="sdk made", role_id=api_world.a.roles["Auditor"]), VERSION
    )
    assert created.secret_key

    config = deepsecurity.Configuration()
    config.host = api_world.server.base
    config.api_key = {"api-secret-key": created.secret_key}
    current = deepsecurity.APIKeysApi(deepsecurity.ApiClient(config)).describe_current_api_key(
        VERSION
    )
    listed = api.list_api_keys(VERSION).api_keys

    assert current.id == created.id
    assert all(k.secret_key is None for k in listed)
    # A disabled key is refused
    api.modify_api_key(created.id, deepsecurity.ApiKey(active=False), VERSION)
    with pytest.raises(ApiException) as refused:
        deepsecurity.APIKeysApi(deepsecurity.ApiClient(config)).describe_current_api_key(VERSION)
    assert refused.value.status == 401


def test_sdk_reads_only_en_and_ja_contacts(api_world: ApiWorld) -> None:
    """Documented limit: reportd stores any supported locale; the SDK's Contact refuses others."""
    with api_world.http("Full Access") as http:
        made = http.post(
            "/contacts",
            json={
                "name": "Zoé",
                "emailAddress": "zoe@example.fr",
                "locale": "fr-FR",
                "roleID": None,
            },
        )
        assert made.status_code == 200, made.text
        api = deepsecurity.ContactsApi(api_world.sdk("Full Access"))
        with pytest.raises(ValueError, match="locale"):
            api.describe_contact(made.json()["ID"], VERSION)
        assert http.delete(f"/contacts/{made.json()['ID']}").status_code == 204
