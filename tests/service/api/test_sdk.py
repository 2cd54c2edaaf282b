"""The official SDK (deep-security-api 20.0.463), unchanged, as the client of reportd."""

from __future__ import annotations

import deepsecurity  # type: ignore[import-untyped]
import pytest
from deepsecurity.rest import ApiException  # type: ignore[import-untyped]
from sqlalchemy import select

from service.reports.locales import SUPPORTED_LOCALES
from storage.models import Contact, SystemEvent
from tests.service.api.conftest import VERSION, ApiWorld


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


def test_the_sdk_lists_searches_and_describes_contacts_in_all_ten_languages(
    api_world: ApiWorld,
) -> None:
    # Given a contact in each of reportd's ten languages, made through reportd's own field
    made: dict[str, int] = {}
    with api_world.http("Full Access") as http:
        for language in SUPPORTED_LOCALES:
            answer = http.post(
                "/contacts",
                json={
                    "name": f"Polyglot {language}",
                    "emailAddress": f"polyglot.{language.lower()}@example.com",
                    "reportdLocale": language,
                    "roleID": None,
                },
            )
            assert answer.status_code == 200, answer.text
            made[language] = answer.json()["ID"]
    api = deepsecurity.ContactsApi(api_world.sdk("Full Access"))
    try:
        # When the official SDK lists, searches and describes them
        listed = {c.id: c for c in api.list_contacts(VERSION).contacts}
        criteria = deepsecurity.SearchCriteria(field_name="name", string_value="Polyglot%")
        found = api.search_contacts(
            VERSION, search_filter=deepsecurity.SearchFilter(search_criteria=[criteria])
        ).contacts
        described = {language: api.describe_contact(i, VERSION) for language, i in made.items()}

        # Then none raises, and locale is what the SDK reads: ja-JP for Japanese, else en-US
        assert set(made.values()) <= set(listed)
        assert sorted(c.id for c in found) == sorted(made.values())
        for language, contact in described.items():
            assert contact.locale == ("ja-JP" if language == "ja-JP" else "en-US"), language
        # And the language itself travels in reportdLocale
        with api_world.http("Full Access") as http:
            for language, contact_id in made.items():
                body = http.get(f"/contacts/{contact_id}").json()
                assert body["reportdLocale"] == language
    finally:
        for contact_id in made.values():
            api.delete_contact(contact_id, VERSION)


def test_a_language_set_through_reportds_field_survives_an_sdk_create_and_modify(
    api_world: ApiWorld,
) -> None:
    # Given a contact created through the SDK, its language then set through reportdLocale
    api = deepsecurity.ContactsApi(api_world.sdk("Full Access"))
    created = api.create_contact(
        deepsecurity.Contact(
            name="Lea Roth",
            email_address="lea.roth@example.de",
            role_id=api_world.a.roles["Auditor"],
        ),
        VERSION,
    )
    with api_world.http("Full Access") as http:
        answer = http.post(f"/contacts/{created.id}", json={"reportdLocale": "de-DE"})
        assert answer.status_code == 200 and answer.json()["locale"] == "en-US"
        # When an SDK client reads it and sends back what it read (locale en-US)
        read = api.describe_contact(created.id, VERSION)
        read.description = "changed through the SDK"
        api.modify_contact(created.id, read, VERSION)
        # Then the language stays German; only another locale changes it
        assert http.get(f"/contacts/{created.id}").json()["reportdLocale"] == "de-DE"
        api.modify_contact(created.id, deepsecurity.Contact(locale="ja-JP"), VERSION)
        assert http.get(f"/contacts/{created.id}").json()["reportdLocale"] == "ja-JP"
        # And reportdLocale wins over locale when both are given
        both = http.post(
            f"/contacts/{created.id}", json={"locale": "en-US", "reportdLocale": "fr-FR"}
        )
        assert both.json()["reportdLocale"] == "fr-FR"
    with api_world.sessions() as session:
        stored = session.get(Contact, created.id)
        assert stored is not None and stored.locale == "fr-FR"
    api.delete_contact(created.id, VERSION)


def test_an_api_key_cannot_change_its_own_role(api_world: ApiWorld) -> None:
    with api_world.http("Full Access") as http:
        own = api_world.a.key_ids["Full Access"]
        refused = http.post(f"/apikeys/{own}", json={"roleID": api_world.a.roles["Auditor"]})
        assert refused.status_code == 403, refused.text
        assert "own role" in refused.json()["message"]
