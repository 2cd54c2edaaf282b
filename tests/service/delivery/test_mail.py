"""Building and sending report mails, against real aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.config import Settings, SmtpSecurity
from service.delivery.mail import (
    END_OF_DATA,
    MESSAGE_POLICY,
    Attachment,
    SmtpConfig,
    build_message,
    flatten,
    make_message_id,
    reply_error,
    send_message,
    validate_email_address,
)
from service.delivery.smtp_sink import OutboxHandler, SmtpSink
from service.errors import (
    InvalidInput,
    MailDeferred,
    MailOutcomeUnknown,
    MailRejected,
    MailTooLarge,
)
from service.reports.personal import PERSONAL_LINE, PersonalLine

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
JAPANESE_SUBJECT = "週次サマリーレポート"
JAPANESE_FILENAME = "レポート.pdf"


def a_message(**overrides: Any) -> EmailMessage:
    fields = {
        "sender": "reportd <reports@reportd.invalid>",
        "to_name": "Alice Example",
        "to_address": "alice@example.com",
        "subject": "Weekly summary",
        "text_body": "Your report is attached.\n.\n..a line with dots\n",
        "html_body": "<p>Your report is attached.</p>",
        "attachments": [Attachment("report.pdf", PDF, "application/pdf")],
        "message_id": make_message_id("delivery-7", "reportd.invalid"),
    }
    return build_message(**(fields | overrides))


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def config_for(port: int, **overrides: Any) -> SmtpConfig:
    return replace(SmtpConfig(host="127.0.0.1", port=port, timeout=5.0), **overrides)


@pytest.fixture
def sink(tmp_path):
    with SmtpSink(tmp_path / "outbox") as running:
        yield running


@pytest.fixture
def closed_port():
    """A port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_listener():
    """A listening socket nobody accepts on, to see whether a client connected."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.setblocking(False)
        yield sock


def connection_attempted(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


# Building


def test_given_japanese_subject_and_file_name_when_parsed_back_then_they_round_trip():
    message = a_message(
        subject=JAPANESE_SUBJECT,
        to_name="山田 太郎",
        attachments=[Attachment(JAPANESE_FILENAME, PDF, "application/pdf")],
    )

    raw = message.as_bytes(policy=MESSAGE_POLICY)
    parsed = parse(raw)

    assert raw.isascii()  # encoded words and RFC 2231 parameters, no raw UTF-8
    assert parsed["Subject"] == JAPANESE_SUBJECT
    assert parsed["To"].addresses[0].display_name == "山田 太郎"
    [attachment] = parsed.iter_attachments()
    assert attachment.get_filename() == JAPANESE_FILENAME
    assert attachment.get_content() == PDF


def test_when_built_then_text_and_html_are_alternatives_inside_mixed_with_attachments():
    parsed = parse(a_message().as_bytes(policy=MESSAGE_POLICY))

    assert parsed.get_content_type() == "multipart/mixed"
    alternative, attachment = parsed.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert attachment.get_content_type() == "application/pdf"
    assert parsed["Message-ID"] == "<reportd.delivery-7@reportd.invalid>"
    assert parsed["From"].addresses[0].addr_spec == "reports@reportd.invalid"


@pytest.mark.parametrize(
    "text_body",
    ["plain\n", "crlf\r\nand a lone cr\rand lf\n", "no line end", "日本語の本文\n\n"],
)
def test_when_flattened_then_the_bytes_are_the_standard_generators(text_body):
    attachments = [
        Attachment("report.pdf", PDF * 300, "application/pdf", reused=True),
        Attachment(JAPANESE_FILENAME, PDF, "application/pdf"),
        Attachment("rows.csv", b"a,b\r\n1,2\n3,4\r", "text/csv"),
    ]
    message = a_message(text_body=text_body, subject=JAPANESE_SUBJECT, attachments=attachments)

    assert flatten(message) == message.as_bytes(policy=MESSAGE_POLICY)


def test_when_built_then_each_mail_has_its_own_boundaries_found_only_as_delimiters():
    # A name or body that looks like a boundary line cannot split the mail.
    hostile = "--=_reportd_0123456789abcdef0123456789abcdef--"
    first, second = a_message(to_name=hostile, text_body=f"{hostile}\n"), a_message()
    raw = flatten(first)
    boundaries = [part.get_boundary() for part in first.walk() if part.is_multipart()]

    assert len(boundaries) == 2 and all(b and b.startswith("=_reportd_") for b in boundaries)
    assert not set(boundaries) & {p.get_boundary() for p in second.walk() if p.is_multipart()}
    lines = raw.split(b"\r\n")
    for boundary in boundaries:
        assert boundary is not None
        found = [line for line in lines if boundary.encode() in line]
        # Two parts in each: two openings, one closing, and the Content-Type parameter.
        assert found.count(f"--{boundary}".encode()) == 2
        assert found.count(f"--{boundary}--".encode()) == 1
        assert len(found) == 4 and f'boundary="{boundary}"'.encode() in b"".join(found)
    parsed = parse(raw)
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]
    assert parsed.get_body(("plain",)).get_content().splitlines() == [hostile]


def test_mails_sharing_a_text_and_a_pdf_flattened_in_threads_each_carry_their_own_recipient():
    pdf = PDF * 100

    def mail(index: int) -> bytes:
        return flatten(
            a_message(
                to_name=f"Recipient {index}",
                to_address=f"r{index}@example.com",
                text_body=f"Report for group {index % 3}.\n",
                attachments=[
                    Attachment("report.pdf", pdf, "application/pdf", reused=index % 2 == 0)
                ],
                message_id=make_message_id(f"delivery-{index}", "reportd.invalid"),
            )
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        raws = list(pool.map(mail, range(60)))

    for index, raw in enumerate(raws):
        parsed = parse(raw)
        assert parsed["To"].addresses[0].addr_spec == f"r{index}@example.com"
        assert parsed.get_body(("plain",)).get_content().strip() == f"Report for group {index % 3}."
        [attachment] = parsed.iter_attachments()
        assert attachment.get_content() == pdf


#: A body shared by several recipients: the greeting's line is left to each mail.
SHARED_TEXT = f"CONFIDENTIAL\n\n{PERSONAL_LINE}\n\n週次サマリーレポートを添付いたします。\n"
SHARED_HTML = (
    f"<p>CONFIDENTIAL</p>\n{PERSONAL_LINE}\n<p>週次サマリーレポートを添付いたします。</p>\n"
)


def greeted(name: str, **overrides: Any) -> EmailMessage:
    return a_message(
        text_body=SHARED_TEXT,
        html_body=SHARED_HTML,
        personal=PersonalLine(text=f"{name} 様", html=f"<p>{name} 様</p>"),
        **overrides,
    )


@pytest.mark.parametrize("name", ["佐藤 花子", "Jonas Weber", "Ω" * 60 + " = Müller-Lüdenscheidt"])
def test_given_a_shared_body_when_built_per_recipient_then_each_greets_its_own_in_standard_bytes(
    name,
):
    # Given a body shared by two recipients, When a mail is built for each
    mine = greeted(name, attachments=[Attachment("report.pdf", PDF, "application/pdf", True)])
    other = greeted("Alex Morgan")

    # Then each mail's bytes are what the standard generator writes of it
    raw = flatten(mine)
    assert raw == mine.as_bytes(policy=MESSAGE_POLICY)
    # ... and each greets its own recipient, under the shared text, and nobody else
    for message, expected in ((parse(raw), name), (parse(flatten(other)), "Alex Morgan")):
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert plain.splitlines() == [
            "CONFIDENTIAL",
            "",
            f"{expected} 様",
            "",
            "週次サマリーレポートを添付いたします。",
        ]
        assert f"<p>{expected} 様</p>" in html and PERSONAL_LINE not in html + plain
    assert b"Alex Morgan" not in raw


def test_given_a_name_with_a_line_break_when_greeted_then_the_greeting_stays_one_line():
    parsed = parse(flatten(greeted("Eve\r\nBcc: evil@example.com")))

    assert "Eve Bcc: evil@example.com 様" in parsed.get_body(("plain",)).get_content().splitlines()
    assert parsed.get_all("Bcc") is None


def test_given_a_body_without_its_personal_line_when_greeted_then_it_is_refused():
    with pytest.raises(ValueError, match="PERSONAL_LINE"):
        a_message(personal=PersonalLine(text="Hello Eve,", html="<p>Hello Eve,</p>"))


def test_given_no_attachment_when_greeted_then_the_plain_mail_greets_too():
    parsed = parse(flatten(greeted("佐藤 花子", attachments=[])))

    assert "佐藤 花子 様" in parsed.get_body(("plain",)).get_content()


def test_given_no_html_and_no_attachment_when_built_then_it_is_plain_text():
    parsed = parse(a_message(html_body=None, attachments=[]).as_bytes())

    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().splitlines() == [
        "Your report is attached.",
        ".",
        "..a line with dots",
    ]


def test_given_crlf_and_bcc_in_name_and_subject_when_built_then_no_header_is_added():
    message = a_message(
        to_name="Eve\r\nBcc: evil@example.com",
        subject="Report\nBcc: evil@example.com",
        headers={"X-Reportd-Delivery": "7\r\nBcc: evil@example.com"},
    )

    parsed = parse(message.as_bytes(policy=MESSAGE_POLICY))

    assert parsed.get_all("Bcc") is None
    assert len(parsed.get_all("To") or []) == 1
    assert [a.addr_spec for a in parsed["To"].addresses] == ["alice@example.com"]
    assert "\n" not in parsed["Subject"]
    assert parsed["X-Reportd-Delivery"] == "7 Bcc: evil@example.com"


@pytest.mark.parametrize("name", ["Bcc", "to", "Content-Type", "Bad Name", "X-Colon:"])
def test_given_a_reserved_or_malformed_extra_header_when_built_then_it_is_refused(name):
    with pytest.raises(InvalidInput, match="header"):
        a_message(headers={name: "x"})


def test_given_an_internationalised_domain_when_built_then_the_address_is_sent_in_idna():
    parsed = parse(a_message(to_address="juergen@bücher.example").as_bytes())

    assert parsed["To"].addresses[0].domain == "xn--bcher-kva.example"


def test_when_the_same_delivery_is_resent_then_the_message_id_is_the_same():
    assert make_message_id("42", "reportd.invalid") == make_message_id("42", "reportd.invalid")
    assert make_message_id("42", "reportd.invalid") == "<reportd.42@reportd.invalid>"
    assert make_message_id("42", "reportd.invalid") != make_message_id("43", "reportd.invalid")


@pytest.mark.parametrize("key, domain", [("4 2", "x.org"), ("42>", "x.org"), ("42", "x@y")])
def test_given_unsafe_parts_when_making_a_message_id_then_it_is_refused(key, domain):
    with pytest.raises(InvalidInput):
        make_message_id(key, domain)


# Addresses


def test_given_a_valid_address_when_validated_then_its_normal_form_is_returned():
    assert validate_email_address("Alice@EXAMPLE.com") == "Alice@example.com"


@pytest.mark.parametrize(
    "address", ["not-an-address", "bob@@example.com", "bob@example.com\r\nBcc: x@y.z", "ü@x.org"]
)
def test_given_an_invalid_address_when_validated_then_invalid_input_names_it(address):
    with pytest.raises(InvalidInput) as error:
        validate_email_address(address)
    assert repr(address) in str(error.value)


def test_given_an_invalid_recipient_when_building_then_invalid_input_names_it():
    with pytest.raises(InvalidInput, match="bob@@example.com"):
        a_message(to_address="bob@@example.com")


# Sending


def test_when_sent_through_the_sink_then_one_eml_holds_the_mail_and_the_pdf(sink):
    message = a_message(
        subject=JAPANESE_SUBJECT,
        attachments=[Attachment(JAPANESE_FILENAME, PDF, "application/pdf")],
    )

    result = send_message(message, config=config_for(sink.port))

    [stored] = sink.directory.glob("*.eml")
    raw = stored.read_bytes()
    assert raw == message.as_bytes(policy=MESSAGE_POLICY)  # dot-stuffing undone, nothing lost
    parsed = parse(raw)
    assert parsed["Subject"] == JAPANESE_SUBJECT
    [attachment] = parsed.iter_attachments()
    assert attachment.get_filename() == JAPANESE_FILENAME
    assert attachment.get_content() == PDF
    assert result.message_id == "<reportd.delivery-7@reportd.invalid>"
    assert result.size == len(raw)
    assert result.reply.startswith("250 ")


def test_given_an_injection_attempt_when_sent_then_the_server_sees_one_recipient(sink):
    message = a_message(
        to_name="Eve\r\nBcc: evil@example.com", subject="Report\nBcc: evil@example.com"
    )

    send_message(message, config=config_for(sink.port))

    [mail] = sink.received
    assert mail.rcpt_tos == ("alice@example.com",)
    parsed = parse(mail.path.read_bytes())
    assert parsed.get_all("Bcc") is None
    assert len(parsed.get_all("To") or []) == 1


class DeferFirstRecipient(OutboxHandler):
    """Answers 451 to the first RCPT, then behaves."""

    deferred = False

    async def handle_RCPT(self, server, session, envelope, address, options):
        if not self.deferred:
            self.deferred = True
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_given_451_once_when_sent_twice_then_deferred_then_delivered_once(tmp_path):
    message = a_message()
    with SmtpSink(tmp_path, handler_factory=DeferFirstRecipient) as sink:
        with pytest.raises(MailDeferred, match="451"):
            send_message(message, config=config_for(sink.port))

        send_message(message, config=config_for(sink.port))

    assert sink.count == 1


class RefuseRecipient(OutboxHandler):
    async def handle_RCPT(self, server, session, envelope, address, options):
        return "550 5.1.1 No such user here"


def test_given_550_for_the_recipient_when_sent_then_rejected_and_nothing_delivered(tmp_path):
    with SmtpSink(tmp_path, handler_factory=RefuseRecipient) as sink:
        with pytest.raises(MailRejected) as rejected:
            send_message(a_message(), config=config_for(sink.port))

    assert "550 5.1.1 No such user here" in str(rejected.value)
    assert "alice@example.com" in str(rejected.value)
    assert sink.count == 0


@pytest.mark.parametrize(
    "reply, error",
    [("554 5.6.0 Content refused", MailRejected), ("452 4.3.1 Out of storage", MailDeferred)],
)
def test_given_a_refusal_at_the_end_of_data_when_sent_then_it_maps_by_code(tmp_path, reply, error):
    class RefuseData(OutboxHandler):
        async def handle_DATA(self, server, session, envelope):
            return reply

    with SmtpSink(tmp_path, handler_factory=RefuseData) as sink:
        with pytest.raises(error, match=reply):
            send_message(a_message(), config=config_for(sink.port))


class DropAtRecipient(OutboxHandler):
    """Hangs up on RCPT: the server cannot have taken the mail."""

    async def handle_RCPT(self, server, session, envelope, address, options):
        server.transport.close()
        await asyncio.Event().wait()  # cancelled when the connection is gone


def test_given_the_server_drops_before_data_when_sent_then_deferred(tmp_path):
    with SmtpSink(tmp_path, handler_factory=DropAtRecipient) as sink:
        with pytest.raises(MailDeferred):
            send_message(a_message(), config=config_for(sink.port))


class StoreThenHangUp(OutboxHandler):
    """Keeps the mail, then closes the connection instead of replying to the end of DATA."""

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        server.transport.close()
        await asyncio.Event().wait()  # cancelled when the connection is gone


def test_given_the_server_drops_after_end_of_data_when_sent_then_outcome_unknown(tmp_path):
    with SmtpSink(tmp_path, handler_factory=StoreThenHangUp) as sink:
        with pytest.raises(MailOutcomeUnknown):
            send_message(a_message(), config=config_for(sink.port))

    assert sink.count == 1  # the server did take it: exactly why the outcome is unknown


class StoreThenStall(OutboxHandler):
    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(30)  # cancelled when the client gives up
        return "250 OK"


def test_given_no_reply_to_end_of_data_when_the_timeout_passes_then_outcome_unknown(tmp_path):
    with SmtpSink(tmp_path, handler_factory=StoreThenStall) as sink:
        with pytest.raises(MailOutcomeUnknown):
            send_message(a_message(), config=config_for(sink.port, timeout=0.5))


def test_given_a_closed_port_when_sent_then_deferred(closed_port):
    with pytest.raises(MailDeferred, match=str(closed_port)):
        send_message(a_message(), config=config_for(closed_port))


def test_given_a_mail_over_the_limit_when_sent_then_too_large_before_connecting(
    silent_listener,
):
    port = silent_listener.getsockname()[1]
    message = a_message(attachments=[Attachment("big.pdf", PDF * 4, "application/pdf")])

    with pytest.raises(MailTooLarge, match="limit is 4096"):
        send_message(message, config=config_for(port, max_bytes=4096))

    assert not connection_attempted(silent_listener)


def test_when_built_from_settings_then_the_smtp_fields_carry_over():
    settings = Settings(
        smtp_host="mail.example.com",
        smtp_port=587,
        smtp_security=SmtpSecurity.starttls,
        smtp_username="reporter",
        smtp_password="s3cret",
        smtp_timeout=12.5,
        mail_max_bytes=1000,
    )

    config = SmtpConfig.from_settings(settings)

    assert config == SmtpConfig(
        host="mail.example.com",
        port=587,
        security=SmtpSecurity.starttls,
        username="reporter",
        password="s3cret",
        timeout=12.5,
        max_bytes=1000,
    )
    assert "s3cret" not in repr(config)


# TLS and AUTH


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert file, key file, PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reportd test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem", cert_pem.decode()


@pytest.fixture
def server_context(certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate[0], certificate[1])
    return context


@pytest.fixture
def client_context(certificate):
    return ssl.create_default_context(cadata=certificate[2])


@pytest.mark.parametrize("security", [SmtpSecurity.starttls, SmtpSecurity.tls])
def test_given_tls_and_a_login_when_sent_then_delivered_over_tls_as_that_user(
    tmp_path, server_context, client_context, security
):
    credentials = ("reporter", "s3cret")
    with SmtpSink(
        tmp_path, security=security, ssl_context=server_context, credentials=credentials
    ) as sink:
        config = config_for(
            sink.port,
            security=security,
            username="reporter",
            password="s3cret",
            ssl_context=client_context,
        )
        send_message(a_message(), config=config)

    [mail] = sink.received
    assert mail.login == "reporter"


def test_given_a_wrong_password_when_sent_then_rejected(tmp_path, server_context, client_context):
    with SmtpSink(
        tmp_path,
        security=SmtpSecurity.starttls,
        ssl_context=server_context,
        credentials=("reporter", "s3cret"),
    ) as sink:
        config = config_for(
            sink.port,
            security=SmtpSecurity.starttls,
            username="reporter",
            password="wrong",
            ssl_context=client_context,
        )
        with pytest.raises(MailRejected, match="535"):
            send_message(a_message(), config=config)

    assert sink.count == 0


@pytest.mark.parametrize("security", [SmtpSecurity.starttls, SmtpSecurity.tls])
def test_given_an_untrusted_certificate_when_sent_then_deferred_and_nothing_sent(
    tmp_path, server_context, security
):
    with SmtpSink(tmp_path, security=security, ssl_context=server_context) as sink:
        empty_trust_store = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        config = config_for(sink.port, security=security, ssl_context=empty_trust_store)
        with pytest.raises(MailDeferred, match="CERTIFICATE_VERIFY_FAILED"):
            send_message(a_message(), config=config)

    assert sink.count == 0


def test_given_starttls_when_the_server_does_not_offer_it_then_rejected(sink, client_context):
    config = config_for(sink.port, security=SmtpSecurity.starttls, ssl_context=client_context)

    with pytest.raises(MailRejected, match="STARTTLS"):
        send_message(a_message(), config=config)

    assert sink.count == 0


@pytest.mark.parametrize(
    ("where", "code", "error"),
    [
        ("RCPT TO <a@example.org>", 550, MailRejected),
        ("RCPT TO <a@example.org>", 552, MailDeferred),
        ("MAIL FROM <r@example.org>", 552, MailRejected),
        ("RCPT TO <a@example.org>", 451, MailDeferred),
        ("127.0.0.1:25 greeting", 554, MailRejected),
        ("127.0.0.1:25", 421, MailDeferred),
        ("DATA", 250, MailDeferred),
        (END_OF_DATA, 554, MailRejected),
        (END_OF_DATA, 452, MailDeferred),
        (END_OF_DATA, 354, MailOutcomeUnknown),
    ],
)
def test_given_an_smtp_reply_when_mapped_then_the_one_table_names_the_error(
    where: str, code: int, error: type[Exception]
) -> None:
    mapped = reply_error(where, code, b"4.2.2 said the server")
    assert type(mapped) is error
    assert str(code if (where, code) != ("RCPT TO <a@example.org>", 552) else 452) in str(mapped)
    assert "said the server" in str(mapped)


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 114, 200_003])
@pytest.mark.parametrize("filename", ["report.pdf", "Rapport sécurité 2026.pdf"])
def test_a_recipients_own_attachment_is_the_part_the_content_manager_writes(
    size: int, filename: str
) -> None:
    """An encrypted PDF is encoded per mail in one call, from headers made once: the same
    part, the same bytes, as ``set_content`` makes them."""
    from service.delivery import mail

    content = bytes((i * 7 + 3) % 256 for i in range(size))
    standard = mail._standard_attachment_part(filename, "application", "pdf", content)
    made = mail._new_attachment_part(filename, "application", "pdf", content)
    assert made.get_content() == content == standard.get_content()
    assert list(made.items()) == list(standard.items())
    assert mail.flatten(made) == standard.as_bytes(policy=mail.MESSAGE_POLICY)
    # Its headers are its own: the next attachment of that name does not share them.
    again = mail._new_attachment_part(filename, "application", "pdf", b"other")
    del again["Content-Disposition"]
    assert made["Content-Disposition"] is not None


def test_headers_folded_once_for_many_mails_are_the_bytes_the_standard_generator_writes() -> None:
    """Subject, sender, date and MIME-Version repeat from mail to mail and are folded once;
    a long non-ASCII subject and sender still come out as the standard generator folds them,
    and each mail keeps its own recipient and Message-ID."""
    from service.delivery import mail

    subject = "Rapport de sécurité du pare-feu : " + "très longue ligne " * 6
    sent = datetime.datetime(2026, 12, 4, 8, 0, 0, 250_000, tzinfo=datetime.UTC)
    mails = [
        build_message(
            sender="Équipe Sécurité <reports@reportd.test>",
            to_name=f"Zoë {index}",
            to_address=f"zoe{index}@example.com",
            subject=subject,
            text_body="Bonjour\n",
            html_body=None,
            attachments=[Attachment("r.pdf", b"%PDF-1.7", "application/pdf", reused=True)],
            message_id=make_message_id(f"delivery-{index}", "reportd.test"),
            date=sent,
        )
        for index in range(3)
    ]
    for index, message in enumerate(mails):
        assert mail.flatten(message) == message.as_bytes(policy=mail.MESSAGE_POLICY)
        parsed = email.message_from_bytes(mail.flatten(message), policy=email.policy.default)
        assert parsed["Subject"] == subject.strip()
        assert parsed["To"] == f"Zoë {index} <zoe{index}@example.com>"
        assert parsed["Message-ID"] == f"<reportd.delivery-{index}@reportd.test>"
        assert parsed["Date"].datetime == sent.replace(microsecond=0)
