"""Fan-out with dramatiq's stub broker and a real worker, real Chromium and a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from actors.embedded import EmbeddedDispatcher
from service.delivery import pipeline
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from service.reports.rendering import render_mail
from storage.db import transaction
from storage.models import Contact, Membership, ReportRun, Role, User
from tests.actors.conftest import ALEX, HANAKO, JONAS, World, pdf_text

#: Computers of the sample by group: the Web Team sees web-* and fron-* only.
WEB = ["web-01", "web-06", "fron-01", "fron-06"]
ELSEWHERE = ["data-01", "data-06", "lapt-01", "lapt-06"]
#: Seconds a counter may lag behind the ledger (a busy machine's thread switch), at most.
METRICS_DEADLINE = 10.0


@pytest.fixture
def worker(world: World, renderer: PdfRenderer) -> Iterator[EmbeddedDispatcher]:
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as embedded:
        yield embedded


def test_three_clearances_get_three_different_pdfs_each_with_only_its_computers(
    world: World, worker: EmbeddedDispatcher
) -> None:
    run_id, _ = world.new_run(report_type="computer")
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)
    assert (run.sent, run.failed) == (3, 0)

    texts = {address: pdf_text(world.mails_to(address)[0]) for address in (ALEX, HANAKO, JONAS)}
    assert len(set(texts.values())) >= 2  # Alex and Jonas see the same computers
    # Full Access and the computers-only auditor see every computer ...
    for address in (ALEX, JONAS):
        assert all(name in texts[address] for name in WEB + ELSEWHERE), address
    # ... the Web Team sees the web servers and their sub-group only.
    assert all(name in texts[HANAKO] for name in WEB)
    assert not any(name in texts[HANAKO] for name in ELSEWHERE)


def test_only_a_clearance_with_unrelated_events_sees_system_events_about_no_computer(
    world: World, worker: EmbeddedDispatcher
) -> None:
    run_id, _ = world.new_run(report_type="system-event")
    worker.start_runs([run_id])
    world.wait_finished(run_id)
    texts = {address: pdf_text(world.mails_to(address)[0]) for address in (ALEX, HANAKO, JONAS)}
    assert "User Locked Out" in texts[ALEX]
    assert "User Locked Out" not in texts[JONAS] and "User Locked Out" not in texts[HANAKO]
    assert len(set(texts.values())) == 3


def test_the_same_message_delivered_twice_mails_each_contact_once(
    world: World, worker: EmbeddedDispatcher
) -> None:
    run_id, ids = world.new_run()
    worker.start_runs([run_id])
    worker.start_runs([run_id])  # a duplicated fan-out message
    worker.enqueue_deliveries(ids)  # and duplicated deliveries
    world.wait_finished(run_id)
    worker.enqueue_deliveries(ids)  # a redelivery after the mails were accepted
    worker.broker.join("deliveries")
    assert sorted(len(world.mails_to(a)) for a in (ALEX, HANAKO, JONAS)) == [1, 1, 1]


def test_a_right_revoked_after_fan_out_counts(world: World, renderer: PdfRenderer) -> None:
    run_id, _ = world.new_run(Recipients(contact_ids=[world.contacts[ALEX]]))
    with transaction(world.sessions) as session:
        # After the run exists, Alex's clearance loses the view of non-selected computers.
        role_id = session.get(Contact, world.contacts[ALEX]).role_id  # type: ignore[union-attr]
        session.execute(
            update(Role)
            .where(Role.id == role_id)
            .values(all_computers=False, can_view_other_computers=False)
        )
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as worker:
        worker.start_runs([run_id])
        world.wait_finished(run_id)
    text = pdf_text(world.mails_to(ALEX)[0])
    assert not any(name in text for name in WEB + ELSEWHERE)


def test_a_deleted_contact_fails_its_delivery_and_the_others_are_sent(
    world: World, worker: EmbeddedDispatcher
) -> None:
    run_id, _ = world.new_run()
    with transaction(world.sessions) as session:
        session.delete(session.get(Contact, world.contacts[HANAKO]))
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)
    assert (run.sent, run.failed) == (2, 1)
    assert world.mails_to(HANAKO) == []


def test_the_japanese_subject_and_attachment_round_trip(
    world: World, worker: EmbeddedDispatcher
) -> None:
    run_id, _ = world.new_run(Recipients(contact_ids=[world.contacts[HANAKO]]))
    worker.start_runs([run_id])
    world.wait_finished(run_id)
    (mail,) = world.mails_to(HANAKO)
    assert "サマリーレポート" in str(mail["Subject"])
    assert "佐藤 花子" in str(mail["To"])
    assert "コンピュータ" in pdf_text(mail)


def test_a_name_with_line_breaks_in_the_database_adds_no_header(
    world: World, worker: EmbeddedDispatcher
) -> None:
    with transaction(world.sessions) as session:
        session.execute(
            update(Contact)
            .where(Contact.id == world.contacts[ALEX])
            .values(name="Alex\r\nBcc: evil@example.com")
        )
    run_id, _ = world.new_run(Recipients(contact_ids=[world.contacts[ALEX]]))
    worker.start_runs([run_id])
    world.wait_finished(run_id)
    (mail,) = world.mails()
    assert mail["Bcc"] is None and len(mail.get_all("To")) == 1
    assert [r.rcpt_tos for r in world.sink.received] == [(ALEX,)]


def test_identical_documents_are_rendered_once_and_encrypted_per_contact(
    world: World, renderer: PdfRenderer
) -> None:
    # Alex and Jonas see the same computers but not the same unrelated events: two documents.
    deps = world.deps(renderer)
    with EmbeddedDispatcher(world.settings, deps) as worker:
        first, _ = world.new_run()
        worker.start_runs([first])
        world.wait_finished(first)
        second, _ = world.new_run()
        worker.start_runs([second])
        world.wait_finished(second)
    assert deps.cache.misses == 3 and deps.cache.hits == 3


def test_parameters_broken_after_the_run_was_created_fail_its_deliveries_with_the_reason(
    world: World, worker: EmbeddedDispatcher
) -> None:
    run_id, ids = world.new_run()
    with transaction(world.sessions) as session:
        session.execute(
            update(ReportRun)
            .where(ReportRun.id == run_id)
            .values(parameters={"computerFilter": {"type": "computers-in-smart-folder"}})
        )
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)
    assert (run.sent, run.failed) == (0, 3)
    assert "computerFilter" in world.delivery(ids[0]).last_error
    assert world.mails() == []


def test_deliveries_renders_and_finished_runs_are_counted_in_metrics(
    world: World, worker: EmbeddedDispatcher
) -> None:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    from service.runtime.metrics import LedgerCollector

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    def settled(name: str, at_least: float, **labels: str) -> float:
        """The sample once it reaches ``at_least``: a worker thread counts a delivery just
        after the commit that records it, so the run can be seen finished a moment before
        its last delivery is counted."""
        deadline = time.monotonic() + METRICS_DEADLINE
        while sample(name, **labels) < at_least and time.monotonic() < deadline:
            time.sleep(0.02)
        return sample(name, **labels)

    sent_before = sample("reportd_deliveries_total", outcome="sent")
    runs_before = sample("reportd_runs_finished_total")
    sends_before = sample("reportd_send_seconds_count")
    run_id, _ = world.new_run()
    worker.start_runs([run_id])
    world.wait_finished(run_id)
    assert settled("reportd_deliveries_total", sent_before + 3, outcome="sent") == sent_before + 3
    assert settled("reportd_runs_finished_total", runs_before + 1) == runs_before + 1
    assert settled("reportd_send_seconds_count", sends_before + 3) >= sends_before + 3

    ledger = CollectorRegistry()
    ledger.register(LedgerCollector(world.sessions))
    exposition = generate_latest(ledger).decode()
    assert 'reportd_deliveries{state="sent"} 3.0' in exposition
    assert "reportd_runs_open 0.0" in exposition


def test_the_mail_text_of_a_document_is_rendered_once_for_all_its_recipients(
    world: World, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(world.sessions) as session:
        alex = session.get(Contact, world.contacts[ALEX])
        assert alex is not None
        session.add(  # Alex's clearance and language: Alex's document and mail text
            Contact(
                account_id=alex.account_id,
                name="Sam Morgan",
                email_address="sam.morgan@example.com",
                role_id=alex.role_id,
                locale=alex.locale,
                time_zone=alex.time_zone,
            )
        )
    rendered: list[bool] = []

    def counted(data: object, *, encrypted: bool, csv_attached: bool) -> object:
        rendered.append(encrypted)
        return render_mail(data, encrypted=encrypted, csv_attached=csv_attached)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "render_mail", counted)
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as worker:
        run_id, deliveries = world.new_run(Recipients(all_contacts=True))
        worker.start_runs([run_id])
        world.wait_finished(run_id)

    assert len(deliveries) == 4 and len(rendered) == 3
    sam, alex_mail = world.mails_to("sam.morgan@example.com"), world.mails_to(ALEX)
    assert len(sam) == 1 and sam[0]["Subject"] == alex_mail[0]["Subject"]


def test_a_user_named_as_recipient_gets_what_their_role_in_the_account_allows(
    world: World, worker: EmbeddedDispatcher
) -> None:
    address = f"admin.{world.account_id}@example.com"
    with transaction(world.sessions) as session:
        hanako = session.get(Contact, world.contacts[HANAKO])
        assert hanako is not None
        user = User(email_address=address, name="Web Admin", locale="en-US", time_zone="UTC")
        session.add(user)
        session.flush()
        # The Web Team's role, as Hanako's clearance is: web servers and their sub-group.
        session.add(
            Membership(account_id=world.account_id, user_id=user.id, role_id=hanako.role_id)
        )
        user_id = user.id

    run_id, _ = world.new_run(Recipients(user_ids=[user_id]), report_type="computer")
    worker.start_runs([run_id])
    run = world.wait_finished(run_id)

    assert (run.sent, run.failed) == (1, 0)
    [mail] = world.mails()
    assert mail["To"].addresses[0].addr_spec == address
    text = pdf_text(mail)
    assert all(name in text for name in WEB)
    assert not any(name in text for name in ELSEWHERE)
