"""The local SMTP sink: real aiosmtpd servers on 127.0.0.1, real smtplib clients."""

from __future__ import annotations

import smtplib
import socket
import threading

import pytest

from service.config import SmtpSecurity
from service.delivery.smtp_sink import OutboxHandler, SmtpSink

RAW_MAIL = (
    b"From: reports@reportd.invalid\r\n"
    b"To: alice@example.com\r\n"
    b"Subject: raw\r\n"
    b"\r\n"
    b"first line\r\n"
    b".a line that starts with a dot\r\n"
)


@pytest.fixture
def sink(tmp_path):
    with SmtpSink(tmp_path / "outbox") as running:
        yield running


def send_raw(port: int, content: bytes = RAW_MAIL, to: str = "alice@example.com") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.sendmail("reports@reportd.invalid", [to], content)


def test_given_port_0_when_started_then_it_listens_on_a_free_port(sink):
    assert sink.port != 0
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
        assert client.noop()[0] == 250


def test_when_a_mail_arrives_then_it_is_stored_byte_for_byte_as_one_eml_file(sink):
    send_raw(sink.port)

    files = list(sink.directory.iterdir())
    assert [path.suffix for path in files] == [".eml"]
    assert files[0].read_bytes() == RAW_MAIL
    assert sink.count == 1
    [mail] = sink.received
    assert mail.path == files[0]
    assert mail.mail_from == "reports@reportd.invalid"
    assert mail.rcpt_tos == ("alice@example.com",)
    assert mail.login is None


def test_when_mails_arrive_then_file_names_are_unique_and_sort_in_arrival_order(sink):
    for number in range(5):
        send_raw(sink.port, RAW_MAIL + f"mail {number}\r\n".encode())

    stored = sorted(sink.directory.glob("*.eml"))
    assert len(stored) == 5
    assert [path.read_bytes().splitlines()[-1] for path in stored] == [
        f"mail {number}".encode() for number in range(5)
    ]
    assert stored == [mail.path for mail in sink.received]


def test_given_the_outbox_is_gone_when_a_mail_arrives_then_the_sink_defers_it(sink):
    sink.directory.rmdir()

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_raw(sink.port)

    assert refused.value.smtp_code == 451
    assert sink.count == 0


def test_given_a_custom_handler_when_a_mail_arrives_then_the_handler_decides(tmp_path):
    class RefuseBob(OutboxHandler):
        async def handle_RCPT(self, server, session, envelope, address, options):
            if address == "bob@example.com":
                return "550 5.1.1 No such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    with SmtpSink(tmp_path, handler_factory=RefuseBob) as sink:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send_raw(sink.port, to="bob@example.com")
        send_raw(sink.port, to="alice@example.com")

    assert [mail.rcpt_tos for mail in sink.received] == [("alice@example.com",)]


def test_when_stopped_then_the_port_is_closed_and_the_files_stay(tmp_path):
    with SmtpSink(tmp_path) as sink:
        send_raw(sink.port)

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sink.port), timeout=5).close()
    assert len(list(tmp_path.glob("*.eml"))) == 1
    sink.stop()  # a second stop is harmless


def test_given_run_forever_when_stopped_from_another_thread_then_it_returns(tmp_path):
    sink = SmtpSink(tmp_path / "outbox")
    ready = threading.Event()
    server = threading.Thread(target=sink.run_forever, kwargs={"on_ready": lambda _: ready.set()})
    server.start()
    try:
        assert ready.wait(10)
        send_raw(sink.port)
    finally:
        sink.stop()
        server.join(10)

    assert not server.is_alive()
    assert sink.count == 1


def test_given_tls_without_a_certificate_when_created_then_it_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ssl_context"):
        SmtpSink(tmp_path, security=SmtpSecurity.starttls)
