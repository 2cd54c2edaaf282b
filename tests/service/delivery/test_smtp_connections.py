"""A thread's SMTP connection carries its next mails; a failed or dead one is never reused."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from service.delivery.mail import send_message
from service.delivery.smtp_connections import SmtpConnections
from service.delivery.smtp_sink import OutboxHandler, SmtpSink
from service.errors import MailRejected
from tests.service.delivery.test_mail import a_message, config_for


class CountSessions(OutboxHandler):
    """Remembers which SMTP session (one per connection) each mail came in on."""

    sessions: list[object]  # the objects, so that no id is reused while counting

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.sessions = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sessions.append(session)
        return str(await super().handle_DATA(server, session, envelope))


def connections_used(sink: SmtpSink) -> int:
    handler = sink.handler
    assert isinstance(handler, CountSessions)
    return len({id(session) for session in handler.sessions})


@pytest.fixture
def counting_sink(tmp_path: Path) -> Any:
    with SmtpSink(tmp_path, handler_factory=CountSessions) as sink:
        yield sink


def test_mails_from_one_thread_share_one_connection(counting_sink: SmtpSink) -> None:
    connections = SmtpConnections()
    config = config_for(counting_sink.port)

    for _ in range(5):
        send_message(a_message(), config=config, connections=connections)
    connections.close_all()

    assert counting_sink.count == 5
    assert connections_used(counting_sink) == 1
    assert (connections.opened, connections.reused) == (1, 4)


def test_each_thread_has_a_connection_of_its_own(counting_sink: SmtpSink) -> None:
    connections = SmtpConnections()
    config = config_for(counting_sink.port)

    def send_three() -> None:
        for _ in range(3):
            send_message(a_message(), config=config, connections=connections)

    threads = [threading.Thread(target=send_three) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connections.close_all()

    assert counting_sink.count == 6
    assert connections_used(counting_sink) == 2


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_sending(
    counting_sink: SmtpSink,
) -> None:
    connections = SmtpConnections()
    config = config_for(counting_sink.port)
    send_message(a_message(), config=config, connections=connections)
    kept = connections._local.kept.client
    kept.sock.shutdown(socket.SHUT_RDWR)  # gone, as when the server hangs up after its time-out

    send_message(a_message(), config=config, connections=connections)
    connections.close_all()

    assert counting_sink.count == 2
    assert connections_used(counting_sink) == 2


class RefuseOnce(CountSessions):
    refused = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if not self.refused:
            self.refused = True
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_after_a_refusal_the_next_mail_goes_over_a_new_connection(tmp_path: Path) -> None:
    connections = SmtpConnections()
    with SmtpSink(tmp_path, handler_factory=RefuseOnce) as sink:
        config = config_for(sink.port)
        with pytest.raises(MailRejected):
            send_message(a_message(), config=config, connections=connections)
        send_message(a_message(), config=config, connections=connections)
        connections.close_all()

    assert sink.count == 1
    assert connections.opened == 2 and connections.reused == 0


def test_a_connection_is_renewed_after_its_message_limit_and_when_idle_too_long(
    counting_sink: SmtpSink,
) -> None:
    now = [0.0]
    connections = SmtpConnections(max_messages=2, max_idle=10, clock=lambda: now[0])
    config = config_for(counting_sink.port)

    for _ in range(4):  # two connections of two mails each
        send_message(a_message(), config=config, connections=connections)
    now[0] += 11  # idle past the limit
    send_message(a_message(), config=config, connections=connections)
    connections.close_all()

    assert counting_sink.count == 5
    assert connections_used(counting_sink) == 3


def test_a_connection_is_kept_per_server_settings(tmp_path: Path) -> None:
    connections = SmtpConnections()
    with (
        SmtpSink(tmp_path / "a") as first,
        SmtpSink(tmp_path / "b") as second,
    ):
        send_message(a_message(), config=config_for(first.port), connections=connections)
        send_message(a_message(), config=config_for(second.port), connections=connections)
        connections.close_all()

    assert (first.count, second.count) == (1, 1)
    assert connections.opened == 2
