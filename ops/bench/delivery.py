"""A shared delivery's own costs, each on its own: the ledger, the mail, the SMTP sink.

The fan-out benchmark (``ops/bench/fanout.py``) measures them together, behind one GIL and
beside Chromium; this prints the CPU each costs alone, on a quiet thread, so a change to one
of them can be measured in seconds:

- ledger: a delivery's three transactions (claim; move to sending; move to sent, with the
  look for the run's end) on SQLite, one after another for ``--deliveries`` deliveries;
- mail: building, flattening and dot-stuffing a mail with a ~160 KB PDF, once with a PDF
  shared by many recipients (``reused``) and once with one of its own (an encrypted copy);
- sink: the ``SmtpSink``'s CPU per mail, in a child process, for mails sent one after another
  over one connection.

    python -m ops.bench.delivery
    python -m ops.bench.delivery --deliveries 300 --mails 100
"""

from __future__ import annotations

import argparse
import io
import os
import smtplib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
from sqlalchemy import select

from ops.bench.fanout import Outbox, contacts_for, load_account, new_run
from service.delivery.ledger import DeliveryState, Recipients, claim, finish_run_if_done, move
from service.delivery.mail import Attachment, _data_block, build_message, flatten, make_message_id
from service.runtime.proctree import own_cpu_seconds
from storage.db import make_engine, make_session_factory, statement_sessions, transaction
from storage.migrate import upgrade
from storage.models import Delivery

#: Bytes of incompressible content in the PDF: about the compacted 15-page Summary's size.
PDF_CONTENT = 160_000


def sample_pdf() -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    document.pages[0].Contents = document.make_stream(os.urandom(PDF_CONTENT))
    out = io.BytesIO()
    document.save(out, compress_streams=False)
    return out.getvalue()


def ledger(deliveries: int) -> dict[str, float]:
    """CPU milliseconds per delivery of each ledger transaction, on a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="delivery-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}")
        upgrade(engine)
        sessions = make_session_factory(engine)
        now = datetime.now(UTC).replace(microsecond=0)
        account_id = load_account(sessions, now, contacts_for(deliveries))
        run_id = new_run(sessions, account_id, now, Recipients(all_contacts=True))
        with sessions() as session:
            ids = list(session.scalars(select(Delivery.id).where(Delivery.run_id == run_id)))
        statements = statement_sessions(sessions)
        spent = dict.fromkeys(("claim", "sending", "sent"), 0.0)
        lease = timedelta(minutes=10)
        for delivery_id in ids:
            started = time.thread_time()
            with transaction(statements) as session:  # as service.delivery.pipeline claims
                held = claim(session, delivery_id, now=now, lease=lease)
            assert held is not None
            claimed = time.thread_time()
            with transaction(statements) as session:
                assert move(
                    session,
                    held,
                    to=DeliveryState.sending,
                    now=now,
                    held_in=DeliveryState.rendering,
                    content_key="bench",
                )
            sending = time.thread_time()
            with transaction(sessions) as session:
                assert move(
                    session,
                    held,
                    to=DeliveryState.sent,
                    now=now,
                    held_in=DeliveryState.sending,
                    note="250 OK",
                    message_id="<bench@reportd.test>",
                    size=1,
                    sent_at=now,
                    last_error="",
                )
                finish_run_if_done(session, run_id, now=now)
            spent["claim"] += claimed - started
            spent["sending"] += sending - claimed
            spent["sent"] += time.thread_time() - sending
        engine.dispose()
    return {name: 1000 * seconds / len(ids) for name, seconds in spent.items()}


def a_mail(index: int, pdf: bytes, *, reused: bool) -> bytes:
    message = build_message(
        sender="reportd <reports@reportd.test>",
        to_name=f"Contact {index}",
        to_address=f"contact{index}@example.com",
        subject="Übersichtsbericht für Example Corp, 17.–24. Nov. 2026",
        text_body="Your weekly report is attached.\n" * 20,
        html_body="<p>Your weekly report is attached.</p>" * 20,
        attachments=[Attachment("Summary.pdf", pdf, "application/pdf", reused=reused)],
        message_id=make_message_id(f"delivery-{index}", "reportd.test"),
    )
    return flatten(message)


def mail(count: int, pdf: bytes, *, reused: bool) -> float:
    """CPU milliseconds per mail built, flattened and dot-stuffed as ``send_message`` does."""
    unique = [pdf + f"% copy {index}\n".encode() for index in range(count)]
    a_mail(0, pdf, reused=reused)  # the shared parts are built once, outside the figure
    started = time.thread_time()
    for index in range(count):
        _data_block(a_mail(index, pdf if reused else unique[index], reused=reused))
    return 1000 * (time.thread_time() - started) / count


def sink(count: int, pdf: bytes) -> tuple[float, float, int]:
    """The sink process's CPU per mail, the wall time per mail, and the mail's size."""
    payload = a_mail(0, pdf, reused=True)
    with tempfile.TemporaryDirectory(prefix="delivery-bench-sink-") as tmp:
        outbox = Outbox(Path(tmp) / "outbox", in_process=False)
        try:
            assert outbox.pid is not None
            client = smtplib.SMTP("127.0.0.1", outbox.port)
            for _ in range(10):  # warm up
                client.sendmail("reports@reportd.test", ["a@example.com"], payload)
            before, started = own_cpu_seconds(outbox.pid), time.perf_counter()
            for _ in range(count):
                client.rset()  # as a kept connection is checked before each mail
                client.sendmail("reports@reportd.test", ["a@example.com"], payload)
            wall = time.perf_counter() - started
            cpu = own_cpu_seconds(outbox.pid) - before
            client.quit()
        finally:
            outbox.close()
    return 1000 * cpu / count, 1000 * wall / count, len(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000, help="ledger deliveries")
    parser.add_argument("--mails", type=int, default=300, help="mails built and sent")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {datetime.now(UTC):%c} UTC")

    costs = ledger(args.deliveries)
    print(
        f"ledger, SQLite, {args.deliveries} deliveries: claim {costs['claim']:.2f} + sending "
        f"{costs['sending']:.2f} + sent {costs['sent']:.2f} = {sum(costs.values()):.2f} ms CPU"
    )
    pdf = sample_pdf()
    shared, own = mail(args.mails, pdf, reused=True), mail(args.mails, pdf, reused=False)
    print(
        f"mail with a {len(pdf) // 1000} KB PDF, built + flattened + dot-stuffed: "
        f"{shared:.2f} ms CPU with a shared PDF, {own:.2f} ms with one of its own"
    )
    cpu, wall, size = sink(args.mails, pdf)
    print(
        f"SMTP sink, {args.mails} mails of {size // 1000} KB over one connection: {cpu:.2f} ms "
        f"CPU per mail in the sink, {wall:.2f} ms wall per mail"
    )


if __name__ == "__main__":
    main()
