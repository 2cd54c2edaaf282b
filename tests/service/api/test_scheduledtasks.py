"""``/scheduledtasks`` with the official SDK as the client: generate-report tasks, run now."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import deepsecurity  # type: ignore[import-untyped]
import pytest
from deepsecurity.rest import ApiException  # type: ignore[import-untyped]
from sqlalchemy import func, select

from service.api.keys import new_key
from service.directory.accounts import create_role
from service.directory.rights import NEW_ROLE_DEFAULTS
from storage.db import transaction
from storage.models import Delivery, ReportRun, SystemEvent
from storage.tasks import ScheduledTaskRow
from tests.service.api.conftest import NOW, VERSION, ApiServer, ApiWorld, make_api_world

ZONE = "Asia/Tokyo"
VIEWER = "Task Viewer"
SUMMARY_TEMPLATE = 1


class RecordingDispatcher:
    """The app's dispatcher: remembers the runs handed to the workers."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def start_runs(self, run_ids: Sequence[int]) -> None:
        self.started.extend(run_ids)

    def enqueue_deliveries(self, delivery_ids: Sequence[int]) -> None:
        raise AssertionError("the scheduled tasks API queues runs, not deliveries")


@pytest.fixture(scope="module")
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, dispatcher: RecordingDispatcher
) -> Iterator[ApiWorld]:
    settings, sessions, a, b, app = make_api_world(
        Path(tmp_path_factory.mktemp("tasks")), dispatcher=dispatcher
    )
    with transaction(sessions) as session:
        rights = replace(
            NEW_ROLE_DEFAULTS,
            allow_web_service=True,
            other_rights={**NEW_ROLE_DEFAULTS.other_rights, "scheduledTaskRights": "view-only"},
        )
        role = create_role(session, account_id=a.account_id, name=VIEWER, rights=rights)
        session.flush()
        _, a.secrets[VIEWER] = new_key(
            session, account_id=a.account_id, role_id=role.id, name="key viewer"
        )
    with ApiServer(app) as server:
        yield ApiWorld(settings=settings, sessions=sessions, server=server, a=a, b=b)


def millis(days_from_now: int) -> int:
    return int((NOW + timedelta(days=days_from_now)).timestamp() * 1000)


def daily_task(name: str, contact_ids: list[int], zone: str = ZONE) -> deepsecurity.ScheduledTask:
    return deepsecurity.ScheduledTask(
        name=name,
        type="generate-report",
        enabled=True,
        schedule_details=deepsecurity.ScheduleDetails(
            time_zone=zone,
            recurrence_type="daily",
            daily_schedule_parameters=deepsecurity.DailyScheduleParameters(
                start_time=millis(1), frequency_type="everyday"
            ),
        ),
        generate_report_task_parameters=deepsecurity.GenerateReportTaskParameters(
            report_template_id=SUMMARY_TEMPLATE,
            format="pdf",
            recipients=deepsecurity.Recipients(contact_ids=contact_ids),
            time_range=deepsecurity.TimeRange(units="day", value=7),
        ),
    )


def task_json(name: str, contact_ids: list[int], zone: str = ZONE) -> dict[str, Any]:
    body: dict[str, Any] = deepsecurity.ApiClient().sanitize_for_serialization(
        daily_task(name, contact_ids, zone)
    )
    return body


def audit_codes(world: ApiWorld) -> list[int]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(SystemEvent.event_code)
                .where(
                    SystemEvent.account_id == world.a.account_id,
                    SystemEvent.event_code.between(8400, 8499),
                )
                .order_by(SystemEvent.id)
            )
        )


def status_of(call: Callable[[], object]) -> int:
    """The status of the ApiException the SDK call raises."""
    with pytest.raises(ApiException) as refused:
        call()
    return int(refused.value.status)


def run_count(world: ApiWorld) -> int:
    with world.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ReportRun)) or 0)


def test_create_list_describe_search_modify_run_now_delete(
    world: ApiWorld, dispatcher: RecordingDispatcher
) -> None:
    # Given the SDK's scheduled tasks API with a Full Access key, and two contacts
    api = deepsecurity.ScheduledTasksApi(world.sdk("Full Access"))
    contacts = sorted(world.a.contacts.values())[:2]

    # When a daily generate-report task is created, listed, described, searched and modified
    created = api.create_scheduled_task(daily_task("Nightly summary", contacts), VERSION)
    listed = api.list_scheduled_tasks(VERSION).scheduled_tasks
    described = api.describe_scheduled_task(created.id, VERSION)
    criteria = deepsecurity.SearchCriteria(field_name="name", string_value="Nightly%")
    found = api.search_scheduled_tasks(
        VERSION, search_filter=deepsecurity.SearchFilter(search_criteria=[criteria])
    ).scheduled_tasks
    modified = api.modify_scheduled_task(
        created.id, deepsecurity.ScheduledTask(name="Nightly summary (7d)"), VERSION
    )

    # Then each answer is the SDK's ScheduledTask as created
    assert created.id and created.type == "generate-report" and created.enabled
    assert created.schedule_details.time_zone == ZONE
    assert created.schedule_details.daily_schedule_parameters.frequency_type == "everyday"
    assert created.generate_report_task_parameters.recipients.contact_ids == contacts
    assert created.next_run_time == millis(1) and created.last_run_time is None
    assert [t.id for t in listed] == [created.id]
    assert described.to_dict() == created.to_dict()
    assert [t.id for t in found] == [created.id]
    assert modified.name == "Nightly summary (7d)"
    assert modified.schedule_details.to_dict() == created.schedule_details.to_dict()

    # When it is run now (the SDK's way: modify with runNow true)
    ran = api.modify_scheduled_task(created.id, deepsecurity.ScheduledTask(run_now=True), VERSION)

    # Then a run with a delivery per contact exists, was handed to the workers, and the
    # schedule is unchanged
    with world.sessions() as session:
        run = session.scalars(
            select(ReportRun).where(ReportRun.scheduled_task_id == created.id)
        ).one()
        deliveries = session.scalars(select(Delivery).where(Delivery.run_id == run.id)).all()
    assert sorted(d.contact_id or 0 for d in deliveries) == contacts
    assert run.triggered_by == f"task:{created.id}" and dispatcher.started == [run.id]
    assert ran.run_now is False and ran.last_run_time is not None
    assert ran.next_run_time == created.next_run_time
    with world.http("Full Access") as http:
        outcome = http.get(f"/reportruns/{run.id}").json()
    assert outcome["scheduledTaskID"] == created.id and outcome["total"] == len(contacts)

    # When it is deleted
    api.delete_scheduled_task(created.id, VERSION)

    # Then it is gone, its run stays, and every change was audited
    with pytest.raises(ApiException) as gone:
        api.describe_scheduled_task(created.id, VERSION)
    assert gone.value.status == 404
    with world.sessions() as session:
        assert session.get(ReportRun, run.id) is not None
    assert audit_codes(world) == [8400, 8401, 8403, 8402]


def test_a_view_only_key_reads_but_cannot_create_modify_run_or_delete(world: ApiWorld) -> None:
    # Given a task, and the SDK with a key whose role has scheduledTaskRights view-only
    full = deepsecurity.ScheduledTasksApi(world.sdk("Full Access"))
    task = full.create_scheduled_task(
        daily_task("Viewer sees", sorted(world.a.contacts.values())[:1]), VERSION
    )
    viewer = deepsecurity.ScheduledTasksApi(world.sdk(VIEWER))
    before = audit_codes(world)

    # When the viewer reads and tries to change
    seen = viewer.describe_scheduled_task(task.id, VERSION)
    listed = viewer.list_scheduled_tasks(VERSION).scheduled_tasks
    mine = daily_task("Mine", sorted(world.a.contacts.values())[:1])
    statuses = [
        status_of(lambda: viewer.create_scheduled_task(mine, VERSION)),
        status_of(
            lambda: viewer.modify_scheduled_task(
                task.id, deepsecurity.ScheduledTask(run_now=True), VERSION
            )
        ),
        status_of(lambda: viewer.delete_scheduled_task(task.id, VERSION)),
    ]

    # Then reading works, every change is 403, and nothing was written
    assert seen.id == task.id and task.id in [t.id for t in listed]
    assert statuses == [403, 403, 403]
    assert audit_codes(world) == before
    full.delete_scheduled_task(task.id, VERSION)


def test_an_auditor_key_gets_403(world: ApiWorld) -> None:
    # Given the SDK with an Auditor key (scheduledTaskRights hide, as seeded)
    api = deepsecurity.ScheduledTasksApi(world.sdk("Auditor"))
    task = daily_task("Auditor's", sorted(world.a.contacts.values())[:1])

    # When it creates or lists tasks
    with pytest.raises(ApiException) as create:
        api.create_scheduled_task(task, VERSION)
    with pytest.raises(ApiException) as listing:
        api.list_scheduled_tasks(VERSION)

    # Then both are 403
    assert (create.value.status, listing.value.status) == (403, 403)


def test_another_accounts_task_answers_404(world: ApiWorld) -> None:
    # Given a task of tenant B
    theirs = deepsecurity.ScheduledTasksApi(world.sdk("Full Access", world.b))
    task = theirs.create_scheduled_task(
        daily_task("B's task", sorted(world.b.contacts.values())[:1]), VERSION
    )
    mine = deepsecurity.ScheduledTasksApi(world.sdk("Full Access"))
    runs_before = run_count(world)

    # When tenant A describes, modifies, runs, deletes or lists it
    statuses = [
        status_of(lambda: mine.describe_scheduled_task(task.id, VERSION)),
        status_of(
            lambda: mine.modify_scheduled_task(
                task.id, deepsecurity.ScheduledTask(name="x"), VERSION
            )
        ),
        status_of(
            lambda: mine.modify_scheduled_task(
                task.id, deepsecurity.ScheduledTask(run_now=True), VERSION
            )
        ),
        status_of(lambda: mine.delete_scheduled_task(task.id, VERSION)),
    ]

    # Then each is 404, the list does not show it, and it is untouched and did not run
    assert statuses == [404, 404, 404, 404]
    assert task.id not in [t.id for t in mine.list_scheduled_tasks(VERSION).scheduled_tasks]
    assert theirs.describe_scheduled_task(task.id, VERSION).name == "B's task"
    assert run_count(world) == runs_before
    theirs.delete_scheduled_task(task.id, VERSION)


def test_recipients_of_another_account_are_refused_naming_the_field(world: ApiWorld) -> None:
    b_contact = min(world.b.contacts.values())
    with world.http("Full Access") as http:
        answer = http.post("/scheduledtasks", json=task_json("Leak", [b_contact]))
        admins = task_json("Leak", [min(world.a.contacts.values())])
        admins["generateReportTaskParameters"]["recipients"]["administratorIDs"] = [999999]
        admin_answer = http.post("/scheduledtasks", json=admins)
    assert answer.status_code == 400
    assert "contactIDs" in answer.json()["message"]
    assert admin_answer.status_code == 400
    assert "administratorIDs" in admin_answer.json()["message"]
    with world.sessions() as session:
        named = select(ScheduledTaskRow).where(ScheduledTaskRow.name == "Leak")
        assert session.scalars(named).first() is None


def test_bad_time_zone_is_a_400_naming_time_zone(world: ApiWorld) -> None:
    # Given the SDK and a task in a zone that does not exist
    api = deepsecurity.ScheduledTasksApi(world.sdk("Full Access"))
    bad = daily_task("Nowhere", sorted(world.a.contacts.values())[:1], zone="Mars/Olympus_Mons")
    before = audit_codes(world)

    # When it is created
    with pytest.raises(ApiException) as refused:
        api.create_scheduled_task(bad, VERSION)

    # Then the SDK gets 400 with a message naming timeZone, and nothing was written
    assert refused.value.status == 400
    assert "timeZone" in refused.value.body and "Mars/Olympus_Mons" in refused.value.body
    assert audit_codes(world) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "scan-for-malware"}, "type"),
        ({"misfirePolicy": "sometimes"}, "misfirePolicy"),
        ({"scheduleDetails": {"timeZone": "UTC", "recurrenceType": "daily"}}, "scheduleDetails"),
        (
            {
                "scheduleDetails": {
                    "timeZone": "UTC",
                    "recurrenceType": "daily",
                    "dailyScheduleParameters": {
                        "startTime": 10**18,
                        "frequencyType": "everyday",
                    },
                }
            },
            "startTime",
        ),
        ({"generateReportTaskParameters": {"format": "pdf"}}, "reportTemplateID"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    world: ApiWorld, change: dict[str, Any], field: str
) -> None:
    body = {**task_json("Invalid", sorted(world.a.contacts.values())[:1]), **change}
    with world.http("Full Access") as http:
        answer = http.post("/scheduledtasks", json=body)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["message"]


def test_a_described_task_sent_back_unchanged_is_accepted(world: ApiWorld) -> None:
    with world.http("Full Access") as http:
        created = http.post(
            "/scheduledtasks", json=task_json("Round trip", sorted(world.a.contacts.values())[:1])
        ).json()
        sent_back = http.post(f"/scheduledtasks/{created['ID']}", json=created)
        http.delete(f"/scheduledtasks/{created['ID']}")
    assert sent_back.status_code == 200, sent_back.text
    assert sent_back.json() == created


def test_create_with_run_now_runs_a_schedule_that_has_ended(
    world: ApiWorld, dispatcher: RecordingDispatcher
) -> None:
    # Given a once-only task whose time has passed, created with runNow
    body = task_json("Once, now", sorted(world.a.contacts.values())[:1])
    body["scheduleDetails"] = {
        "timeZone": "UTC",
        "recurrenceType": "none",
        "onceOnlyScheduleParameters": {"startTime": millis(-1)},
    }
    body["runNow"] = True

    # When it is created
    with world.http("Full Access") as http:
        created = http.post("/scheduledtasks", json=body)
        http.delete(f"/scheduledtasks/{created.json()['ID']}")

    # Then it ran once, was handed to the workers, and has no next run
    assert created.status_code == 200, created.text
    task = created.json()
    assert "nextRunTime" not in task and task["lastRunTime"] and task["runNow"] is False
    with world.sessions() as session:
        run_id = session.scalars(
            select(ReportRun.id).where(ReportRun.triggered_by == f"task:{task['ID']}")
        ).all()[-1]
    assert dispatcher.started[-1] == run_id


def test_a_broken_task_shows_why_and_the_sdk_still_reads_it(world: ApiWorld) -> None:
    # Given a task the scheduler marked broken
    api = deepsecurity.ScheduledTasksApi(world.sdk("Full Access"))
    created = api.create_scheduled_task(
        daily_task("Broken one", sorted(world.a.contacts.values())[:1]), VERSION
    )
    with transaction(world.sessions) as session:
        row = session.get(ScheduledTaskRow, created.id)
        assert row is not None
        row.broken_reason, row.broken_since = "firing failed: ValueError: no", NOW

    # When it is read as JSON and through the SDK
    described = api.describe_scheduled_task(created.id, VERSION)
    listed = api.list_scheduled_tasks(VERSION).scheduled_tasks
    with world.http("Full Access") as http:
        answer = http.get(f"/scheduledtasks/{created.id}").json()
        http.delete(f"/scheduledtasks/{created.id}")

    # Then the JSON says why and since when, and the SDK reads the task as before
    assert answer["brokenReason"] == "firing failed: ValueError: no"
    assert answer["brokenSince"] == int(NOW.timestamp() * 1000)
    assert described.id == created.id and described.name == "Broken one"
    assert described.schedule_details.to_dict() == created.schedule_details.to_dict()
    assert created.id in [t.id for t in listed]


def test_tasks_stored_before_todays_checks_are_listed_broken_and_repaired_by_an_edit(
    world: ApiWorld,
) -> None:
    # Given a task stored with an unknown misfire policy and one with a recurrenceCount the
    # field table now refuses (stored by an older version, never marked by the scheduler)
    contacts = sorted(world.a.contacts.values())[:1]
    with world.http("Full Access") as http:
        odd = http.post("/scheduledtasks", json=task_json("Odd policy", contacts)).json()
        many = http.post("/scheduledtasks", json=task_json("Too many runs", contacts)).json()
    with transaction(world.sessions) as session:
        odd_row = session.get(ScheduledTaskRow, odd["ID"])
        many_row = session.get(ScheduledTaskRow, many["ID"])
        assert odd_row is not None and many_row is not None
        odd_row.misfire_policy = "sometimes"
        many_row.schedule_details = {**many_row.schedule_details, "recurrenceCount": 2**31}

    # When the tasks are listed and described
    with world.http("Full Access") as http:
        listed = http.get("/scheduledtasks")
        odd_described = http.get(f"/scheduledtasks/{odd['ID']}")
        many_described = http.get(f"/scheduledtasks/{many['ID']}")

        # Then each is shown with what reads, broken with the reason and no next run
        assert listed.status_code == 200, listed.text
        shown = {t["ID"]: t for t in listed.json()["scheduledTasks"]}
        assert shown[odd["ID"]] == odd_described.json()
        assert shown[many["ID"]] == many_described.json()
        odd_task, many_task = odd_described.json(), many_described.json()
        assert odd_task["brokenReason"] == (
            "stored schedule does not read: misfirePolicy: 'sometimes' is not one of coalesce, skip"
        )
        assert "misfirePolicy" not in odd_task and "nextRunTime" not in odd_task
        assert odd_task["scheduleDetails"] == odd["scheduleDetails"]
        assert many_task["brokenReason"].startswith(
            "stored schedule does not read: scheduleDetails.recurrenceCount"
        )
        assert many_task["misfirePolicy"] == "coalesce" and "nextRunTime" not in many_task
        assert "brokenSince" not in many_task

        # And editing either with valid values repairs it
        fixed_odd = http.post(f"/scheduledtasks/{odd['ID']}", json={"misfirePolicy": "skip"})
        fixed_many = http.post(
            f"/scheduledtasks/{many['ID']}",
            json={"scheduleDetails": {**many["scheduleDetails"], "recurrenceCount": 5}},
        )
        for fixed in (fixed_odd, fixed_many):
            assert fixed.status_code == 200, fixed.text
            assert "brokenReason" not in fixed.json() and "nextRunTime" in fixed.json()
        http.delete(f"/scheduledtasks/{odd['ID']}")
        http.delete(f"/scheduledtasks/{many['ID']}")
