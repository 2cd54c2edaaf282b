"""Scheduled tasks, sending a report now, runs and their ledger, retrying, the preview: in
Chromium, against a console that sends (an embedded worker and a real SMTP server)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from service.console.web import SESSION_COOKIE
from service.delivery.ledger import Recipients, create_run
from service.scheduling.scheduler import create_task, get_task
from storage.db import transaction
from storage.models import SystemEvent
from storage.smart_folders import folder_named
from storage.tasks import ScheduledTaskRow
from tests.service.console.conftest import axe
from tests.service.console.sending import SendingWorld, open_as, sending_world

ALEX, HANAKO, JONAS = "alex.morgan@example.com", "hanako.sato@example.jp", "jonas.weber@example.de"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SendingWorld]:
    yield from sending_world(tmp_path_factory.mktemp("sending"))


@pytest.fixture
def as_user(world: SendingWorld, new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    def make(user: str, **options: object) -> Page:
        return open_as(world, new_context(**options), user)

    return make


def run_id_of(page: Page) -> int:
    found = re.search(r"/runs/(\d+)", page.url)
    assert found is not None, page.url
    return int(found.group(1))


def test_every_page_renders_for_an_admin(world: SendingWorld, as_user: Callable[..., Page]) -> None:
    page = as_user("admin")
    task_id = make_task(world, "Axe weekly", {"contactIDs": [world.contact_id(ALEX)]})
    for path, heading in (
        ("/tasks", "Scheduled tasks"),
        ("/tasks/new", "New scheduled task"),
        (f"/tasks/{task_id}", "Axe weekly"),
        (f"/tasks/{task_id}/edit", "Edit Axe weekly"),
        (f"/tasks/{task_id}/delete", "Delete Axe weekly"),
        ("/reports/new", "Send a report"),
        ("/runs", "Runs"),
        ("/preview", "Preview a report"),
    ):
        page.goto(world.url(path))
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        assert axe(page) == [], path


def test_an_admin_creates_a_weekly_task_and_sees_its_next_runs(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given an administrator with Full Access on the new task form
    page = as_user("admin")
    page.goto(world.url("/tasks/new"))
    expect(page.get_by_role("heading", name="New scheduled task")).to_be_visible()

    # When they make it weekly on Tuesdays and Thursdays at 07:30 on Tokyo's clock
    page.get_by_label("Name", exact=True).fill("Weekly digest")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_label("Weekly", exact=True).check()
    page.get_by_label("Starts").fill("2030-01-07T07:30")
    page.get_by_label("Monday").uncheck()
    page.get_by_label("Tuesday").check()
    page.get_by_label("Thursday").check()

    # Then, while editing, the next five runs follow the fields without a reload
    runs = page.locator("#occurrences li")
    expect(runs).to_have_count(5)
    expect(runs.first).to_have_text(re.compile(r"^Tue, Jan 8, 2030, 7:30\s?AM$"))
    expect(runs.nth(1)).to_have_text(re.compile(r"^Thu, Jan 10, 2030, 7:30\s?AM$"))
    expect(page.locator("#occurrences")).to_contain_text("Asia/Tokyo")

    # When they pick the report and a recipient and create the task
    page.get_by_label("Report", exact=True).select_option(label="Firewall Report")
    page.get_by_label("Alex Morgan").check()
    page.get_by_role("button", name="Create the task").click()

    # Then the task's page shows its schedule in words and the same next runs
    expect(page.get_by_role("status")).to_have_text("The task was created.")
    expect(page.get_by_role("heading", name="Weekly digest")).to_be_visible()
    when = page.get_by_role("region", name="When")
    expect(when).to_contain_text("Every week on Tuesday and Thursday at 7:30")
    expect(when).to_contain_text("Tue, Jan 8, 2030, 7:30")
    expect(page.get_by_role("region", name="What and to whom")).to_contain_text("Alex Morgan")
    assert axe(page) == []
    # And the list shows it with its next run on Tokyo's clock
    page.get_by_role("link", name="All scheduled tasks").click()
    row = page.get_by_role("row", name=re.compile("Weekly digest"))
    expect(row).to_contain_text("Tue, Jan 8, 2030, 7:30")
    expect(row).to_contain_text("Firewall Report")


def test_without_javascript_the_next_runs_come_from_a_button(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given the new task form in a browser with JavaScript off
    page = as_user("admin", java_script_enabled=False)
    page.goto(world.url("/tasks/new"))

    # When a monthly "last Friday" schedule is chosen and "Show the next runs" pressed
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("Monthly", exact=True).check()
    page.get_by_label("Starts").fill("2030-01-01T09:00")
    page.get_by_label("Which day", exact=True).select_option("custom")
    page.get_by_label("Week (for “On a weekday…”)").select_option("last")
    page.get_by_label("Weekday", exact=True).select_option("friday")
    page.get_by_label("March").check()
    page.get_by_label("June").check()
    page.get_by_role("button", name="Show the next runs").click()

    # Then the form comes back as it was, with the last Fridays of March and June
    runs = page.locator("#occurrences li")
    expect(runs).to_have_count(5)
    expect(runs.first).to_have_text(re.compile(r"^Fri, Mar 29, 2030, 9:00\s?AM$"))
    expect(runs.nth(1)).to_have_text(re.compile(r"^Fri, Jun 28, 2030, 9:00\s?AM$"))
    expect(page.get_by_label("March")).to_be_checked()
    expect(page.get_by_label("Monthly", exact=True)).to_be_checked()


def test_a_refused_schedule_is_said_beside_its_field(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given the new task form, weekly with no day ticked and a window of 0 days
    page = as_user("admin")
    page.goto(world.url("/tasks/new"))
    page.get_by_label("Name", exact=True).fill("Nobody's days")
    page.get_by_label("Weekly", exact=True).check()
    page.get_by_label("Monday").uncheck()
    page.get_by_label("How many", exact=True).fill("0")
    page.get_by_label("Everyone: every contact").check()

    # When it is submitted
    page.get_by_role("button", name="Create the task").click()

    # Then nothing is stored and each refusal names its field beside it
    expect(page.get_by_role("alert")).to_contain_text("The task was not saved")
    expect(page.locator("#e-weekdays")).to_contain_text("weeklyScheduleParameters.days")
    expect(page.locator("#e-value")).to_contain_text("timeRange.value")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Nobody's days")
    assert axe(page) == []


def test_a_report_sent_now_reaches_every_recipient_while_the_page_watches(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given the send form, three contacts and an administrator ticked
    page = as_user("admin")
    page.goto(world.url("/reports/new"))
    for name in ("Alex Morgan", "Jonas Weber", "佐藤 花子", "Viv Viewer"):
        page.get_by_label(name).check()
    before = {address: world.mails_to(address) for address in (ALEX, HANAKO, JONAS)}

    # When it is sent
    page.get_by_role("button", name="Send now").click()

    # Then the browser is on the run's page, which follows the deliveries by itself
    heading = page.get_by_role("heading", name=re.compile(r"^Run \d+: Summary$"))
    expect(heading).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("on its way")
    run_id = run_id_of(page)
    page.evaluate("window.__sameDocument = true")
    states = page.locator("#ledger [data-state]")
    expect(states).to_have_count(4)
    expect(page.locator('#ledger [data-state="sent"]')).to_have_count(4, timeout=90_000)
    expect(page.locator("#ledger .progress")).to_contain_text("4 sent, 0 failed")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    # And once the run is finished the page stops asking
    expect(page.locator("#ledger[hx-trigger]")).to_have_count(0)
    # And the mails have arrived at the SMTP server, one per recipient
    for address in (ALEX, HANAKO, JONAS):
        assert world.mails_to(address) == before[address] + 1
    assert world.mails_to("viv@example.com") >= 1
    assert {d.state for d in world.deliveries(run_id)} == {"sent"}
    assert axe(page) == []


def test_the_runs_list_filters_and_a_ledger_shows_each_recipients_transitions(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a finished run to Hanako
    run_id = send_to(world, as_user("admin"), ["佐藤 花子"])

    # When the runs list is filtered by her address and the run opened
    page = as_user("admin")
    page.goto(world.url("/runs"))
    page.get_by_label("Recipient").fill("hanako.sato")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"recipient=hanako.sato"))
    link = page.get_by_role("link", name=f"Run {run_id}", exact=True)
    expect(link).to_be_visible()
    assert axe(page) == []
    link.click()

    # Then her delivery shows its Message-ID and, opened, every state it went through
    row = page.locator("#ledger tr[id^='delivery-']").filter(has_text=HANAKO)
    expect(row.locator(".mono")).to_have_text(re.compile(r"^<.+@.+>$"))
    row.get_by_text(re.compile(r"\d+ changes")).click()
    changes = row.locator("table.transitions tbody tr")
    expect(changes.first).to_contain_text("pending")
    expect(changes.first).to_contain_text("rendering")
    expect(changes.last).to_contain_text("sent")
    assert axe(page) == []

    # And a filter the list cannot read is said, not obeyed
    page.goto(world.url("/runs?from=yesterday"))
    expect(page.locator("#e-from")).to_have_text("Enter a date as YYYY-MM-DD.")


def send_to(world: SendingWorld, page: Page, names: list[str]) -> int:
    """Send a summary to ``names`` through the form and wait until the run is finished."""
    page.goto(world.url("/reports/new"))
    for name in names:
        page.get_by_label(name).check()
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#ledger")).to_be_visible()
    run_id = run_id_of(page)
    world.wait_for(lambda: all(d.state in ("sent", "failed") for d in world.deliveries(run_id)), 90)
    return run_id


def test_a_failed_delivery_is_sent_again_from_the_ledger(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a run whose mail to Jonas the SMTP server refused for good
    world.refused.add(JONAS)
    try:
        page = as_user("admin")
        run_id = send_to(world, page, ["Jonas Weber", "Alex Morgan"])
        page.goto(world.url(f"/runs/{run_id}"))
        row = page.locator("#ledger tr[id^='delivery-']").filter(has_text=JONAS)
        expect(row.locator("[data-state]")).to_have_attribute("data-state", "failed")
        expect(row).to_contain_text("550")
    finally:
        world.refused.discard(JONAS)
    sent_before = world.mails_to(JONAS)

    # When the administrator sends it again
    row.get_by_role("button", name="Send again").click()

    # Then it is queued, and reaches "sent" on the same page; the mail arrives
    expect(page.get_by_role("status").first).to_have_text("The delivery is queued again.")
    row = page.locator("#ledger tr[id^='delivery-']").filter(has_text=JONAS)
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "sent", timeout=90_000)
    assert world.mails_to(JONAS) == sent_before + 1
    row.get_by_text(re.compile(r"\d+ changes")).click()
    expect(row.locator("table.transitions")).to_contain_text("manual retry")


def session_cookie(page: Page) -> dict[str, str]:
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    return {SESSION_COOKIE: cookie["value"]}


def test_a_preview_is_the_recipients_pdf_inline(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given an administrator on the preview form
    page = as_user("admin")
    page.goto(world.url("/preview"))
    assert axe(page) == []
    hanako = world.contact_id(HANAKO)
    page.get_by_label("Whose report").select_option(f"contact:{hanako}")

    # When they ask for Hanako's firewall report of the last 3 days
    page.get_by_label("Report", exact=True).select_option(label="Firewall Report")
    page.get_by_label("How many", exact=True).fill("3")
    with page.expect_response(re.compile(r"/preview/report\.pdf")) as answer:
        page.get_by_role("button", name="Show the PDF").click()
    response = answer.value

    # Then the answer is her PDF, shown in the browser (Chromium's viewer), never cached
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["cache-control"] == "no-store"
    assert page.url == response.url
    pdf = httpx.get(response.url, cookies=session_cookie(page))
    assert pdf.content.startswith(b"%PDF-")


def test_a_preview_is_refused_for_a_recipient_beyond_the_viewers_rights(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a user whose role covers only the web servers, and Alex, whose clearance is
    # Full Access
    page = as_user("webmanager")
    alex = world.contact_id(ALEX)
    page.goto(world.url("/preview"))

    # Then Alex is not offered, and asking for his report anyway is refused
    options = page.locator("#f-recipient option").all_inner_texts()
    assert not any(ALEX in text for text in options)
    answer = httpx.get(
        world.url(f"/preview/report.pdf?recipient=contact:{alex}&template_id=1&value=7&units=day"),
        cookies=session_cookie(page),
    )
    assert answer.status_code == 403
    assert "%PDF" not in answer.text
    assert "Not allowed" in answer.text
    # And so is an administrator above them, and anyone without the right to see them
    ada = world.users["admin"]
    answer = httpx.get(
        world.url(f"/preview/report.pdf?recipient=administrator:{ada}&template_id=1"),
        cookies=session_cookie(page),
    )
    assert answer.status_code == 403
    nora = as_user("nocontacts")
    answer = httpx.get(
        world.url(f"/preview/report.pdf?recipient=contact:{world.contact_id(JONAS)}&template_id=1"),
        cookies=session_cookie(nora),
    )
    assert answer.status_code == 403


def test_the_task_and_run_forms_refuse_a_post_without_the_csrf_token(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a signed-in administrator, a task and a run
    page = as_user("admin")
    run_id = send_to(world, page, ["Alex Morgan"])
    delivery = world.deliveries(run_id)[0].id
    page.goto(world.url("/tasks"))
    cookies = session_cookie(page)

    # When each form is posted with the session cookie but without the token
    for path in (
        "/tasks",
        "/tasks/occurrences",
        "/reports",
        f"/deliveries/{delivery}/retry",
        "/tasks/1/run",
        "/tasks/1/disable",
        "/tasks/1/delete",
    ):
        answer = httpx.post(world.url(path), data={"name": "x"}, cookies=cookies)
        # Then it is refused, and nothing is done
        assert answer.status_code == 403, path
        assert "The form has expired" in answer.text, path


def test_hostile_names_are_shown_as_text_on_the_task_and_run_pages(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a contact and a task whose names are markup
    hostile = '"><img src=x onerror=alert(1)>'
    world.add_contact(hostile, "hostile@example.com", role="Auditor")
    page = as_user("admin")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(world.url("/tasks/new"))
    page.get_by_label("Name", exact=True).fill("<script>alert('task')</script>")
    page.get_by_label(hostile).check()
    page.get_by_role("button", name="Create the task").click()
    expect(page.get_by_role("heading", name="<script>alert('task')</script>")).to_be_visible()
    expect(page.get_by_role("region", name="What and to whom")).to_contain_text(hostile)

    # When the task runs now and its run's page is shown
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#ledger")).to_contain_text(hostile)
    page.goto(world.url("/runs"))
    expect(page.get_by_role("link", name="<script>alert('task')</script>").first).to_be_visible()
    page.goto(world.url("/tasks"))
    expect(page.get_by_role("link", name="<script>alert('task')</script>")).to_be_visible()

    # Then the names are text: no script ran, no image was made of them
    assert dialogs == []
    assert page.locator("img").count() == 0
    assert "<script>alert" not in page.content()


def make_task(world: SendingWorld, name: str, recipients: dict[str, object]) -> int:
    """A daily task stored through the service, as the API would."""
    with transaction(world.sessions) as session:
        task = create_task(
            session,
            account_id=world.account_id,
            task={
                "name": name,
                "scheduleDetails": {
                    "timeZone": "Europe/Paris",
                    "recurrenceType": "daily",
                    "dailyScheduleParameters": {
                        "startTime": 1_893_456_000_000,  # 2030-01-01
                        "frequencyType": "weekdays",
                    },
                },
                "generateReportTaskParameters": {
                    "reportTemplateID": 3,
                    "format": "pdf",
                    "recipients": recipients,
                },
            },
            now=datetime.now(UTC),
        )
    return task.id


def test_a_task_is_disabled_enabled_and_run_now_and_its_history_kept(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a weekday task to Alex, on its page
    task_id = make_task(world, "Weekday alerts", {"contactIDs": [world.contact_id(ALEX)]})
    page = as_user("admin")
    page.goto(world.url(f"/tasks/{task_id}"))
    when = page.get_by_role("region", name="When")
    expect(when).to_contain_text("Every weekday at 1:00")

    # When it is disabled, then enabled again
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("The task is disabled")
    expect(page.get_by_role("region", name="When")).to_contain_text("None while disabled")
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("The task is enabled")
    expect(page.get_by_role("region", name="When")).to_contain_text("Tue, Jan 1, 2030")

    # And it is run now
    page.get_by_role("button", name="Run now").click()

    # Then its run's page follows the delivery to Alex to "sent"
    expect(page.get_by_role("heading", name=re.compile(r"^Run \d+: Alert Report$"))).to_be_visible()
    run_id = run_id_of(page)
    expect(page.locator('#ledger [data-state="sent"]')).to_have_count(1, timeout=90_000)
    # And the task's history and latest runs show that run
    page.get_by_role("link", name="Weekday alerts").first.click()
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("fired")
    expect(history).to_contain_text("run now")
    expect(history.get_by_role("link", name=f"Run {run_id}")).to_be_visible()
    expect(page.get_by_role("region", name="Latest runs")).to_contain_text(f"Run {run_id}")
    # And its edit form shows the stored task as it is
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Weekday alerts")
    expect(page.get_by_label("Daily", exact=True)).to_be_checked()
    expect(page.get_by_label("Which days")).to_have_value("weekdays")
    expect(page.get_by_label("Alex Morgan")).to_be_checked()
    expect(page.locator("#occurrences li").first).to_contain_text("Jan 1, 2030")
    assert axe(page) == []


def test_a_broken_task_says_why_in_the_list_and_on_its_page_until_run_now(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a task the scheduler marked broken
    task_id = make_task(world, "Broken alerts", {"contactIDs": [world.contact_id(ALEX)]})
    with transaction(world.sessions) as session:
        row = session.get(ScheduledTaskRow, task_id)
        assert row is not None
        row.broken_reason = "firing failed: ValueError: <b>no</b>"
        row.broken_since = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
        row.next_run = None
    page = as_user("admin")

    # When the task list and the task's page are shown
    page.goto(world.url("/tasks?q=Broken+alerts"))

    # Then both say it is broken, why (as text) and since when, in the task's zone
    row_of_task = page.get_by_role("row", name=re.compile("Broken alerts"))
    expect(row_of_task).to_contain_text("None while broken")
    expect(row_of_task).to_contain_text("Not fired since Mon, Mar 2, 2026, 8:00 AM")
    expect(row_of_task).to_contain_text("firing failed: ValueError: <b>no</b>")
    assert axe(page) == []
    page.get_by_role("link", name="Broken alerts").click()
    when = page.get_by_role("region", name="When")
    expect(when).to_contain_text("Edit the task or run it now to try again.")
    expect(when).to_contain_text("Not fired since Mon, Mar 2, 2026, 8:00 AM")  # Paris's clock

    # And a run now clears the mark
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Run \d+: Alert Report$"))).to_be_visible()
    with transaction(world.sessions) as session:
        assert not get_task(session, account_id=world.account_id, task_id=task_id).broken


def test_tasks_whose_stored_fields_do_not_read_are_listed_broken_and_their_pages_open(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a task stored with an unknown misfire policy and one with a recurrenceCount the
    # field table refuses today, neither yet seen by the scheduler
    odd_id = make_task(world, "Unread policy", {"contactIDs": [world.contact_id(ALEX)]})
    many_id = make_task(world, "Unread count", {"contactIDs": [world.contact_id(ALEX)]})
    with transaction(world.sessions) as session:
        odd, many = session.get(ScheduledTaskRow, odd_id), session.get(ScheduledTaskRow, many_id)
        assert odd is not None and many is not None
        odd.misfire_policy = "sometimes"
        many.schedule_details = {**many.schedule_details, "recurrenceCount": 2**31}
    page = as_user("admin")

    # When the task list is shown
    page.goto(world.url("/tasks?q=Unread"))

    # Then both are listed broken with the reason and no next run
    for name, reason in (
        ("Unread policy", "misfirePolicy: 'sometimes' is not one of coalesce, skip"),
        ("Unread count", "scheduleDetails.recurrenceCount"),
    ):
        row_of_task = page.get_by_role("row", name=re.compile(name))
        expect(row_of_task).to_contain_text("None while broken")
        expect(row_of_task).to_contain_text(f"stored schedule does not read: {reason}")
    # And each one's page and edit form open (the edit form offers defaults for what does
    # not read, so saving it repairs the task)
    cookies = session_cookie(page)
    for task_id, name in ((odd_id, "Unread policy"), (many_id, "Unread count")):
        shown = httpx.get(world.url(f"/tasks/{task_id}"), cookies=cookies)
        edited = httpx.get(world.url(f"/tasks/{task_id}/edit"), cookies=cookies)
        assert shown.status_code == 200 and edited.status_code == 200, task_id
        assert "stored schedule does not read" in shown.text
        assert f'value="{name}"' in edited.text


def test_a_task_is_deleted_after_its_confirmation_without_javascript_and_audited(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a task, and an administrator whose browser runs no JavaScript
    task_id = make_task(world, "Doomed weekly", {"contactIDs": [world.contact_id(ALEX)]})
    page = as_user("admin", java_script_enabled=False)
    page.goto(world.url(f"/tasks/{task_id}"))

    # When they choose Delete, the confirmation page asks first and passes axe
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete Doomed weekly")).to_be_visible()
    assert "will no longer run" in page.content()
    # And Cancel leaves the task as it was
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Doomed weekly")).to_be_visible()
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete the task").click()

    # Then the list says so and no longer has it; its page is gone
    expect(page.get_by_role("status")).to_contain_text("The task was deleted.")
    expect(page.get_by_role("link", name="Doomed weekly")).to_have_count(0)
    with transaction(world.sessions) as session:
        gone = session.get(ScheduledTaskRow, task_id)
        assert gone is None
        event = session.scalars(
            select(SystemEvent)
            .where(SystemEvent.event_code == 8402)
            .order_by(SystemEvent.id.desc())
        ).first()
        # And the deletion is audited as the API's DELETE audits it: who, and which task
        assert event is not None
        assert event.description == f"scheduled task 'Doomed weekly' (ID {task_id})"
        assert event.actor == "user:ada@example.com"
    answer = httpx.get(world.url(f"/tasks/{task_id}"), cookies=session_cookie(page))
    assert answer.status_code == 404


def test_a_view_only_user_reads_tasks_and_runs_but_changes_nothing(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a task and a user whose role has Tasks at View-Only
    task_id = make_task(world, "Read-only daily", {"allAdministratorsAndContacts": True})
    page = as_user("taskviewer")

    # Then the menu offers tasks and runs but not sending, and the pages have no forms
    page.goto(world.url("/tasks"))
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Scheduled tasks")).to_be_visible()
    expect(menu.get_by_role("link", name="Runs")).to_be_visible()
    expect(menu.get_by_role("link", name="Send a report")).to_have_count(0)
    expect(page.get_by_role("link", name="New scheduled task")).to_have_count(0)
    page.get_by_role("link", name="Read-only daily").click()
    expect(page.get_by_role("heading", name="Read-only daily")).to_be_visible()
    for button in ("Run now", "Disable", "Edit"):
        expect(page.get_by_role("button", name=button)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    assert axe(page) == []

    # When the user forges the forms' posts with a valid session and token
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    for path in (
        f"/tasks/{task_id}/run",
        f"/tasks/{task_id}/disable",
        f"/tasks/{task_id}/delete",
        "/tasks",
        "/reports",
    ):
        answer = httpx.post(
            world.url(path), data={"csrf_token": token or ""}, cookies=session_cookie(page)
        )
        # Then each is refused, and the form pages too
        assert answer.status_code == 403, path
    for path in (
        "/tasks/new",
        f"/tasks/{task_id}/edit",
        f"/tasks/{task_id}/delete",
        "/reports/new",
    ):
        assert httpx.get(world.url(path), cookies=session_cookie(page)).status_code == 403, path
    with transaction(world.sessions) as session:
        assert get_task(session, account_id=world.account_id, task_id=task_id).enabled


def test_a_user_without_task_rights_gets_no_task_or_run_pages(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a user whose role hides Tasks
    page = as_user("viewer")
    page.goto(world.url("/"))
    menu = page.get_by_role("navigation", name="Main menu")
    # Then the menu has none of the pages, and each refuses the user
    for name in ("Scheduled tasks", "Send a report", "Runs"):
        expect(menu.get_by_role("link", name=name)).to_have_count(0)
    for path in ("/tasks", "/runs", "/reports/new", "/runs/1", "/tasks/1"):
        page.goto(world.url(path))
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_run_still_delivering_polls_with_javascript_and_offers_a_refresh_without(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given a run nobody has started yet (made straight in the ledger, no worker told)
    with transaction(world.sessions) as session:
        run_id = create_run(
            session,
            account_id=world.account_id,
            report_type="summary",
            parameters={"reportTemplateID": 1},
            recipients=Recipients(contact_ids=[world.contact_id(ALEX)]),
            triggered_by="test",
            period_start=datetime.now(UTC) - timedelta(days=1),
            period_end=datetime.now(UTC),
            now=datetime.now(UTC),
        ).run_id

    # Then its page asks for its ledger again and again, and says it is delivering
    page = as_user("admin")
    page.goto(world.url(f"/runs/{run_id}"))
    ledger = page.locator("#ledger")
    expect(ledger).to_have_attribute("hx-trigger", "every 2s")
    expect(ledger.locator("[data-state]")).to_have_attribute("data-state", "pending")
    with page.expect_request(re.compile(rf"/runs/{run_id}/ledger")):
        pass
    # And without JavaScript the same page offers a plain link that reloads it
    plain = as_user("admin", java_script_enabled=False)
    plain.goto(world.url(f"/runs/{run_id}"))
    plain.get_by_role("link", name="Refresh").click()
    expect(plain.locator("#ledger .progress")).to_contain_text("1 still on their way")


def test_the_send_and_preview_forms_say_what_is_wrong_beside_the_field(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given the send form with nobody ticked and a fixed window whose end is before its start
    page = as_user("admin")
    page.goto(world.url("/reports/new"))
    page.get_by_label("From a date to a date").check()
    page.get_by_label("From", exact=True).fill("2030-02-01T00:00")
    page.get_by_label("Up to").fill("2030-01-01T00:00")

    # When it is sent
    page.get_by_role("button", name="Send now").click()

    # Then nothing is sent and each problem is beside its field
    expect(page.get_by_role("alert")).to_contain_text("The report was not sent")
    expect(page.locator("#e-recipients")).to_have_text(
        "Choose at least one recipient, or everyone."
    )
    expect(page.locator("#e-report_end")).to_contain_text("is not after startTime")
    expect(page.get_by_label("From a date to a date")).to_be_checked()
    assert axe(page) == []

    # And the preview form without a recipient says so, in the page, not as a PDF
    page.goto(world.url("/preview/report.pdf?template_id=1&value=abc&units=day"))
    expect(page.locator("#e-recipient")).to_have_text("Choose whose report to preview.")
    expect(page.locator("#e-value")).to_contain_text("timeRange.value")
    assert axe(page) == []


def test_a_task_form_filters_by_a_smart_folder_of_the_account(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given an administrator on the new task form
    page = as_user("admin")
    page.goto(world.url("/tasks/new"))
    folder = page.get_by_label("Smart folder", exact=True)
    expect(folder).to_be_hidden()

    # When they pick the smart folder filter, the folder list shows the account's folders
    page.get_by_label("Which computers").select_option(label="Computers in a smart folder")
    expect(folder).to_be_visible()
    expect(folder.locator("option")).to_have_text(
        ["(for a smart folder filter)", "Agents needing attention", "PCI in Tokyo"]
    )
    page.get_by_label("Name", exact=True).fill("PCI weekly")
    page.get_by_label("Starts").fill("2030-01-07T07:30")
    page.get_by_label("Alex Morgan").check()

    # And create the task without choosing a folder, it is refused beside the field
    page.get_by_role("button", name="Create the task").click()
    expect(page.locator("#e-folder_id")).to_contain_text("smartFolderID")

    # When they choose one, the task stores that folder's ID
    page.get_by_label("Smart folder", exact=True).select_option(label="PCI in Tokyo")
    page.get_by_role("button", name="Create the task").click()
    expect(page.get_by_role("status")).to_have_text("The task was created.")
    expect(page.get_by_role("region", name="What and to whom")).to_contain_text(
        "Computers in a smart folder"
    )
    found = re.search(r"/tasks/(\d+)", page.url)
    assert found is not None, page.url
    task_id = int(found.group(1))
    with transaction(world.sessions) as session:
        stored = get_task(session, account_id=world.account_id, task_id=task_id)
        pci = folder_named(session, world.account_id, "PCI in Tokyo")
    assert pci is not None
    assert stored.parameters["computerFilter"] == {
        "type": "computers-in-smart-folder",
        "smartFolderID": pci.id,
    }
