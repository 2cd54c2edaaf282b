"""Building report mails and handing them to an SMTP server.

Each contact gets a mail of its own, so a message has exactly one recipient and partial
acceptance (some RCPTs taken, others refused) cannot arise. The sender drives the SMTP
dialogue step by step so that it knows which phase failed: a failure before the end of DATA
means nothing was accepted (:class:`MailDeferred` or :class:`MailRejected`), a lost
connection after it means the server may have taken the mail (:class:`MailOutcomeUnknown`).
Which reply is which error is decided in one place, :func:`reply_error`.
A resend then carries the same Message-ID (:func:`make_message_id`), so recipients and
mail filters can tell a duplicate.
"""

from __future__ import annotations

import binascii
import copy
import email.policy
import io
import logging
import re
import secrets
import smtplib
import ssl
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import quoprimime
from email.generator import BytesGenerator
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from typing import Any, Final, cast

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from service.config import DEFAULT_MAIL_MAX_BYTES, Settings, SmtpSecurity
from service.delivery.smtp_connections import SmtpConnections
from service.errors import (
    InvalidInput,
    MailDeferred,
    MailOutcomeUnknown,
    MailRejected,
    MailTooLarge,
    ReportdError,
)
from service.reports.personal import PERSONAL_LINE, PersonalLine

log = logging.getLogger(__name__)


class _HeaderClasses(HeaderRegistry):
    """The standard registry, making each header class once instead of once per header.

    ``HeaderRegistry`` builds a new class (``type(...)``) every time a header is set or
    parsed, a dozen times per mail; the classes it builds for one name are all alike.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


#: CRLF line ends and 7-bit transfer encodings only, so no server needs 8BITMIME or SMTPUTF8.
MESSAGE_POLICY: Final = email.policy.SMTP.clone(cte_type="7bit", header_factory=_HeaderClasses())
#: Seconds to wait for the server to connect or answer.
DEFAULT_SMTP_TIMEOUT = 30.0

#: CR, LF and every other control character, which could end a header or start a new one.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: RFC 5322 field names: printable ASCII except the colon.
_HEADER_NAME = re.compile(r"[!-9;-~]+")
#: Headers build_message sets itself, or that would add recipients.
_RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version"}
    | {"content-type", "content-transfer-encoding", "content-disposition"}
)
#: ``<left@right>`` in printable ASCII without angle brackets or a second ``@``.
_MESSAGE_ID = re.compile(r"<[!-;=?A-~]+@[!-;=?A-~]+>")
_ID_KEY = re.compile(r"[A-Za-z0-9_=+-]+(?:\.[A-Za-z0-9_=+-]+)*")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail, such as the report's PDF."""

    filename: str
    content: bytes
    mime_type: str
    #: The same file goes to other recipients too (a shared PDF, not one encrypted for this
    #: recipient): its encoded part is kept and shared rather than built for this mail.
    reused: bool = False


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to submit mail; built from :class:`Settings` at the entry point."""

    host: str
    port: int
    security: SmtpSecurity = SmtpSecurity.none
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_SMTP_TIMEOUT
    max_bytes: int = DEFAULT_MAIL_MAX_BYTES
    #: Certificates to trust for TLS; None means the system's (``ssl.create_default_context``).
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            timeout=settings.smtp_timeout,
            max_bytes=settings.mail_max_bytes,
        )


@dataclass(frozen=True)
class SendResult:
    """What the server accepted: the Message-ID, the size sent and its final reply."""

    message_id: str
    size: int
    reply: str


def validate_email_address(address: str) -> str:
    """Return ``address`` normalised, or raise :class:`InvalidInput` naming it.

    Local parts must be ASCII (the sender does not use SMTPUTF8); internationalised domains
    are accepted and kept in their Unicode form.
    """
    return _validated(address).normalized


def make_message_id(delivery_key: str, domain: str) -> str:
    """The Message-ID of a delivery: the same key gives the same id, so resends match."""
    if not _ID_KEY.fullmatch(delivery_key):
        raise InvalidInput(f"delivery key {delivery_key!r} cannot be part of a Message-ID")
    if not _DOMAIN.fullmatch(domain):
        raise InvalidInput(f"domain {domain!r} cannot be part of a Message-ID")
    return f"<reportd.{delivery_key}@{domain}>"


def build_message(
    *,
    sender: str,
    to_name: str,
    to_address: str,
    subject: str,
    text_body: str,
    html_body: str | None,
    attachments: Sequence[Attachment],
    message_id: str,
    headers: Mapping[str, str] | None = None,
    date: datetime | None = None,
    personal: PersonalLine | None = None,
) -> EmailMessage:
    """A mail to one recipient: text (and HTML) alternatives, then the attachments.

    Display names, the subject and header values lose their control characters, so none of
    them can smuggle in a header; non-ASCII text is encoded per RFC 2047 and RFC 2231. With
    ``personal``, the bodies are shared text holding a ``PERSONAL_LINE`` line each, which
    this mail fills with the recipient's own line (their greeting).
    """
    if not _MESSAGE_ID.fullmatch(message_id):
        raise InvalidInput(f"{message_id!r} is not a Message-ID like <id@domain>")
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = _sender_header(sender)
    message["To"] = Address(
        display_name=_header_text(to_name), addr_spec=_ascii_address(to_address)
    )
    message["Subject"] = _shared_header("Subject", _header_text(subject))
    message["Date"] = _date_header((date or datetime.now(UTC)).replace(microsecond=0))
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[_header_name(name)] = _header_text(value)
    if personal is not None and not attachments:
        text_body, html_body = _filled(text_body, html_body, personal)
    if not attachments:
        message.set_content(text_body)
        if html_body is not None:
            message.add_alternative(html_body, subtype="html")
        _choose_boundaries(message)
        return message
    # The parts below are built by the standard content manager once per content and shared
    # by every mail that carries them (a fan-out mails the same text and the same PDF to
    # many): nothing changes a part once it is built, and flattening only reads it.
    message["MIME-Version"] = _shared_header("MIME-Version", "1.0")
    message["Content-Type"] = f'multipart/mixed; boundary="{_boundary()}"'
    if personal is None:
        message.attach(_body_part(text_body, html_body))
    else:
        message.attach(_personal_body_part(text_body, html_body, personal))
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        if not maintype or not subtype or maintype in ("multipart", "message"):
            raise InvalidInput(f"attachment MIME type {attachment.mime_type!r} is not usable")
        build = _attachment_part if attachment.reused else _new_attachment_part
        message.attach(
            build(_header_text(attachment.filename), maintype, subtype, attachment.content)
        )
    return message


def _boundary() -> str:
    """A multipart boundary no part contains: "=_" appears in neither base64 nor
    quoted-printable text, and the random token in no text. Chosen here, because left to
    the generator it searches the whole flattened mail (the attachment's base64 included)
    for the boundary it made up, per container and per mail."""
    return f"=_reportd_{secrets.token_hex(16)}"


def _choose_boundaries(message: EmailMessage) -> None:
    for part in message.walk():
        if part.is_multipart() and part.get_boundary() is None:
            part.set_boundary(_boundary())


@lru_cache(maxsize=128)
def _body_part(text_body: str, html_body: str | None) -> EmailMessage:
    """The text (and HTML) of a mail as one part, shared by mails with the same text."""
    part = EmailMessage(policy=MESSAGE_POLICY)
    part.set_content(text_body)
    if html_body is not None:
        part.add_alternative(html_body, subtype="html")
        _choose_boundaries(part)
    return _flattened_once(part)


def _filled(
    text_body: str, html_body: str | None, personal: PersonalLine
) -> tuple[str, str | None]:
    """The bodies with the recipient's line in place of ``PERSONAL_LINE``."""
    if _marked(text_body) != 1 or (html_body is not None and _marked(html_body) != 1):
        raise ValueError("a shared body needs one PERSONAL_LINE line in each of its texts")
    text = text_body.replace(PERSONAL_LINE, _one_line(personal.text))
    html = None if html_body is None else html_body.replace(PERSONAL_LINE, _one_line(personal.html))
    return text, html


def _marked(body: str) -> int:
    """How many lines of ``body`` are ``PERSONAL_LINE`` (and nothing else holds it)."""
    lines = sum(line == PERSONAL_LINE for line in body.splitlines())
    return lines if body.count(PERSONAL_LINE) == lines else -1


def _one_line(text: str) -> str:
    """A personal line stays one line: a name's line breaks become spaces."""
    return _CONTROL_CHARACTERS.sub(" ", text)


@dataclass(frozen=True)
class _SharedBody:
    """A body part built once with ``PERSONAL_LINE`` lines, and what each mail changes."""

    part: EmailMessage
    #: The text (and HTML) parts, quoted-printable: a line of it encodes on its own.
    leaves: tuple[EmailMessage, ...]
    #: Their encoded payloads, each holding the marker line once.
    payloads: tuple[str, ...]
    #: The part's bytes as a mail carries them, cut at each marker line.
    pieces: tuple[bytes, ...]


@lru_cache(maxsize=128)
def _shared_body(text_body: str, html_body: str | None) -> _SharedBody | None:
    """The shared body, built and flattened once; None if its texts are not marked."""
    if _marked(text_body) != 1 or (html_body is not None and _marked(html_body) != 1):
        return None
    part = EmailMessage(policy=MESSAGE_POLICY)
    # Quoted-printable encodes line by line, so the marker line can be swapped for another
    # line encoded alone (base64, which the heuristic picks for CJK text, runs on).
    part.set_content(text_body, cte="quoted-printable")
    if html_body is not None:
        part.add_alternative(html_body, subtype="html", cte="quoted-printable")
        _choose_boundaries(part)
    leaves = (
        tuple(cast(Iterator[EmailMessage], part.iter_parts())) if part.is_multipart() else (part,)
    )
    payloads = tuple(str(leaf.get_payload()) for leaf in leaves)
    out = io.BytesIO()
    _Generator(out, policy=MESSAGE_POLICY).flatten(part, linesep=MESSAGE_POLICY.linesep)
    pieces = tuple(out.getvalue().split(PERSONAL_LINE.encode("ascii")))
    if len(pieces) != len(leaves) + 1 or any(_marked(p) != 1 for p in payloads):
        return None
    return _SharedBody(part=part, leaves=leaves, payloads=payloads, pieces=pieces)


def _personal_body_part(
    text_body: str, html_body: str | None, personal: PersonalLine
) -> EmailMessage:
    """The shared body with this recipient's line in it: one short line encoded, the rest
    copied (building the part anew took ~0.7 ms a mail). Never cached: it is one person's."""
    shared = _shared_body(text_body, html_body)
    if shared is None:
        raise ValueError("a shared body needs one PERSONAL_LINE line in each of its texts")
    lines = (personal.text, personal.html)[: len(shared.leaves)]
    encoded = [_quoted_printable(_one_line(line)) for line in lines]
    mine: list[Message[str, str] | str] = []
    for leaf, payload, line in zip(shared.leaves, shared.payloads, encoded, strict=True):
        # A copy shares the headers of the shared part, which nothing changes once built.
        leaf = copy.copy(leaf)
        leaf.set_payload(payload.replace(PERSONAL_LINE, line))
        mine.append(leaf)
    if shared.part.is_multipart():
        part = copy.copy(shared.part)
        part.set_payload(mine)
    else:
        part = leaf
    linesep = MESSAGE_POLICY.linesep
    written = [shared.pieces[0]]
    for line, piece in zip(encoded, shared.pieces[1:], strict=True):
        written += (line.replace("\n", linesep).encode("ascii"), piece)
    _FLATTENED[part] = b"".join(written)
    return part


def _quoted_printable(line: str) -> str:
    """One line of UTF-8 text as the content manager encodes it in a quoted-printable body
    (its soft line breaks end in a bare newline)."""
    return quoprimime.body_encode(
        line.encode("utf-8").decode("latin-1"), MESSAGE_POLICY.max_line_length or 78
    )


def _standard_attachment_part(
    filename: str, maintype: str, subtype: str, content: bytes
) -> EmailMessage:
    """An attachment as the standard content manager writes it (base64, the file name in
    RFC 2231 when it is not ASCII)."""
    part = EmailMessage(policy=MESSAGE_POLICY)
    part.set_content(content, maintype=maintype, subtype=subtype, filename=filename)
    return part


@lru_cache(maxsize=64)
def _attachment_headers(filename: str, maintype: str, subtype: str) -> tuple[EmailMessage, bytes]:
    """An empty attachment part of this name and type, and its bytes as a mail carries them
    (its headers and the blank line): the headers of every such attachment, whatever it holds."""
    part = _standard_attachment_part(filename, maintype, subtype, b"")
    out = io.BytesIO()
    _Generator(out, policy=MESSAGE_POLICY).flatten(part, linesep=MESSAGE_POLICY.linesep)
    return part, out.getvalue()


#: Bytes of content per base64 line, as the content manager cuts them (57: 76 characters).
_BASE64_LINE_BYTES = (MESSAGE_POLICY.max_line_length or 78) // 4 * 3


def _new_attachment_part(
    filename: str, maintype: str, subtype: str, content: bytes
) -> EmailMessage:
    """:func:`_standard_attachment_part`, the same part and bytes, made from the headers of
    :func:`_attachment_headers` and content encoded in one call: a recipient's own PDF (an
    encrypted one) is encoded for each mail, and the content manager's encoder, a Python
    loop over 76-character lines, took ~1 ms of a 200 KB PDF."""
    template, headers = _attachment_headers(filename, maintype, subtype)
    encoded = binascii.b2a_base64(content, newline=False).decode("ascii")
    width = _BASE64_LINE_BYTES // 3 * 4
    lines = [encoded[i : i + width] for i in range(0, len(encoded), width)]
    payload = "\n".join(lines) + "\n" if lines else ""
    part = copy.copy(template)
    part._headers = list(template._headers)  # type: ignore[attr-defined]  # its own list
    part.set_payload(payload)
    linesep = MESSAGE_POLICY.linesep
    body = payload if linesep == "\n" else payload.replace("\n", linesep)
    _FLATTENED[part] = headers + body.encode("ascii")
    return part


@lru_cache(maxsize=64)
def _attachment_part(filename: str, maintype: str, subtype: str, content: bytes) -> EmailMessage:
    """A reused attachment's part, the last 64 kept, so a PDF shared by many recipients is
    encoded once (a bytes object hashes once, so a hit costs nothing)."""
    return _flattened_once(_standard_attachment_part(filename, maintype, subtype, content))


@lru_cache(maxsize=256)
def _shared_header(name: str, value: str) -> BaseHeader:
    """A header many mails carry alike (a document's subject), parsed once."""
    header: BaseHeader = MESSAGE_POLICY.header_factory(name, value)
    return header


@lru_cache(maxsize=8)
def _date_header(at: datetime) -> BaseHeader:
    """The Date header of mails sent in the same second, parsed once."""
    header: BaseHeader = MESSAGE_POLICY.header_factory("Date", at)
    return header


#: Headers whose values repeat from mail to mail (:func:`_shared_header`, the sender's, the
#: second's date): folded once each, by :func:`_folded`.
_REPEATED_HEADERS = frozenset({"from", "subject", "date", "mime-version"})


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    """A repeated header as the generator writes it; its bytes depend on its text alone."""
    return MESSAGE_POLICY.fold_binary(name, MESSAGE_POLICY.header_factory(name, value))


@lru_cache(maxsize=8)
def _sender_header(sender: str) -> BaseHeader:
    """The From header, parsed once per sender (every mail of a worker has the same)."""
    header: BaseHeader = MESSAGE_POLICY.header_factory("From", _sender_address(sender))
    return header


def send_message(
    message: EmailMessage,
    *,
    config: SmtpConfig,
    connections: SmtpConnections | None = None,
) -> SendResult:
    """Submit ``message`` to its one ``To`` recipient; raise the mail error that fits.

    The size is checked before connecting. 5xx replies raise :class:`MailRejected`; 4xx,
    refused connections and failures before the end of DATA raise :class:`MailDeferred`; a
    connection lost while waiting for the reply to DATA raises :class:`MailOutcomeUnknown`.
    With ``connections``, the thread's open connection is used when it still answers, and
    kept for the next mail when this one went through.
    """
    payload = flatten(message)
    if len(payload) > config.max_bytes:
        raise MailTooLarge(f"the mail is {len(payload)} bytes; the limit is {config.max_bytes}")
    sender, recipient = _envelope(message)
    server = f"{config.host}:{config.port}"
    client = connections.take(config) if connections is not None else None
    if client is None:
        client = _open(config, server)
        if connections is not None:
            connections.opened_new(client, config)
    try:
        reply = _transfer(client, sender, recipient, payload)
    except BaseException as error:
        if connections is not None:
            connections.discard(client)
        else:
            _quit(client)
        if isinstance(error, smtplib.SMTPResponseException):
            raise reply_error(server, error.smtp_code, error.smtp_error) from error
        if isinstance(error, OSError):
            raise MailDeferred(f"{server} failed before the mail was sent: {error}") from error
        raise
    if connections is not None:
        connections.give_back(client)
    else:
        _quit(client)
    result = SendResult(message_id=str(message["Message-ID"]), size=len(payload), reply=reply)
    # DEBUG: the pipeline logs each delivery's outcome, with this reply, in a line of its own.
    log.debug("sent %s to %s (%d bytes): %s", result.message_id, recipient, result.size, reply)
    return result


def flatten(message: EmailMessage) -> bytes:
    """``message.as_bytes(policy=MESSAGE_POLICY)``, the same bytes in a third of the time."""
    out = io.BytesIO()
    _Generator(out, policy=MESSAGE_POLICY).flatten(message)
    return out.getvalue()


#: The bytes of each shared part (``_body_part``, ``_attachment_part``) as the generator
#: writes it inside a mail; a part and its bytes go when the part's cache lets it go.
_FLATTENED: weakref.WeakKeyDictionary[EmailMessage, bytes] = weakref.WeakKeyDictionary()


def _flattened_once(part: EmailMessage) -> EmailMessage:
    """Keep the bytes of a shared part, so that every mail carrying it copies them."""
    out = io.BytesIO()
    _Generator(out, policy=MESSAGE_POLICY).flatten(part, linesep=MESSAGE_POLICY.linesep)
    _FLATTENED[part] = out.getvalue()
    return part


class _Generator(BytesGenerator):
    """The standard generator, writing a body's lines in one piece instead of one by one,
    and a shared part's bytes as they were written the first time.

    A 400 KB attachment is 5,300 base64 lines; the generator splits them and writes each
    line and each line end separately, 10,600 writes that were most of a mail's encoding time.
    Replacing every line end (CRLF, CR or LF, as the generator's ``NLCRE`` matches them) with
    the policy's is the same text, written once.
    """

    def flatten(self, msg: Any, unixfrom: bool = False, linesep: str | None = None) -> None:
        written = _FLATTENED.get(msg)
        if written is not None and not unixfrom and linesep == MESSAGE_POLICY.linesep:
            self._fp.write(written)  # type: ignore[attr-defined]  # the generator's output
            return
        super().flatten(msg, unixfrom, linesep)

    def _write_headers(self, msg: Any) -> None:
        policy = self.policy
        assert policy is not None  # flatten() sets it
        out = self._fp  # type: ignore[attr-defined]  # the generator's output
        for name, value in msg.raw_items():
            if policy is MESSAGE_POLICY and name.lower() in _REPEATED_HEADERS:
                out.write(_folded(name, str(value)))
            else:
                out.write(policy.fold_binary(name, value))
        self.write(self._NL)  # type: ignore[attr-defined]  # set by flatten()

    def _write_lines(self, lines: str) -> None:
        if lines:
            newline: str = self._NL  # type: ignore[attr-defined]  # set by flatten()
            unified = lines.replace("\r\n", "\n").replace("\r", "\n")
            self.write(unified if newline == "\n" else unified.replace("\n", newline))


def _open(config: SmtpConfig, server: str) -> smtplib.SMTP:
    """A connection that has been greeted, secured and logged in as the settings say."""
    try:
        client = _connect(config)
    except smtplib.SMTPResponseException as error:
        raise reply_error(f"{server} greeting", error.smtp_code, error.smtp_error) from error
    except OSError as error:  # refused, timed out, TLS failed; smtplib's errors are OSErrors
        raise MailDeferred(f"cannot connect to {server}: {error}") from error
    try:
        _start_session(client, config)
    except BaseException as error:
        _quit(client)
        if isinstance(error, smtplib.SMTPResponseException):
            raise reply_error(server, error.smtp_code, error.smtp_error) from error
        if isinstance(error, smtplib.SMTPNotSupportedError):  # no STARTTLS or AUTH: setup
            raise MailRejected(f"{server}: {error}") from error
        if isinstance(error, OSError):
            raise MailDeferred(f"{server} failed before the mail was sent: {error}") from error
        raise
    return client


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    # The host goes to the constructor: smtplib checks the TLS certificate against it.
    if config.security is SmtpSecurity.tls:
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=_ssl_context(config)
        )
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def _start_session(client: smtplib.SMTP, config: SmtpConfig) -> None:
    client.ehlo_or_helo_if_needed()
    if config.security is SmtpSecurity.starttls:
        client.starttls(context=_ssl_context(config))
        client.ehlo_or_helo_if_needed()  # RFC 3207: forget what was said before TLS
    if config.username:
        client.login(config.username, config.password)


def _transfer(client: smtplib.SMTP, sender: str, recipient: str, payload: bytes) -> str:
    """MAIL, RCPT and DATA one by one, so a lost connection is placed before or after DATA."""
    options = [f"SIZE={len(payload)}"] if client.has_extn("size") else []
    _expect(client.mail(sender, options), "MAIL FROM", sender)
    _expect(client.rcpt(recipient), "RCPT TO", recipient)
    _expect(client.docmd("DATA"), "DATA", "", accepted=(354,))
    client.send(_data_block(payload))
    # From here on the server holds the whole mail and may have queued it.
    try:
        code, text = client.getreply()
    except smtplib.SMTPServerDisconnected as error:
        raise MailOutcomeUnknown(
            f"the connection broke after the mail was sent, before the server replied: {error}"
        ) from error
    if 200 <= code < 300:
        return f"{code} {_text(text)}"
    raise reply_error(END_OF_DATA, code, text)


def _expect(
    reply: tuple[int, bytes], stage: str, argument: str, accepted: tuple[int, ...] = (250, 251)
) -> None:
    code, text = reply
    if code in accepted:
        return
    where = f"{stage} <{argument}>" if argument else stage
    raise reply_error(where, code, text)


#: Where the server answers after it has the whole mail (see :func:`reply_error`).
END_OF_DATA: Final = "end of DATA"


def reply_error(where: str, code: int, text: bytes | str) -> ReportdError:
    """The error for an SMTP reply that is not the one hoped for: reportd's only mapping of
    SMTP replies to errors. ``where`` names the step (``"RCPT TO <a@b>"``, ``END_OF_DATA``,
    the server for a greeting or a login), and goes into the message with the reply.

    ======================  =====================  ============================================
    reply                   error                  because
    ======================  =====================  ============================================
    552 to ``RCPT TO``      :class:`MailDeferred`  RFC 5321 4.5.3.1.10: an old way to say 452
    5xx                     :class:`MailRejected`  permanent: the server refuses for good
    4xx                     :class:`MailDeferred`  transient: nothing was accepted yet
    other, at end of DATA   ``MailOutcomeUnknown`` the server holds the mail, may have queued it
    other, before           :class:`MailDeferred`  nothing was accepted; worth another try
    ======================  =====================  ============================================
    """
    if where.startswith("RCPT TO") and code == 552:
        code = 452
    detail = f"{where}: {code} {_text(text)}"
    if 500 <= code < 600:
        return MailRejected(f"the server refused {detail}")
    if 400 <= code < 500 or where != END_OF_DATA:
        return MailDeferred(f"the server deferred {detail}")
    return MailOutcomeUnknown(f"unexpected reply to the end of DATA: {code} {_text(text)}")


def _data_block(payload: bytes) -> bytes:
    """The DATA body as ``smtplib.SMTP.data`` sends it: leading dots doubled, CRLF . CRLF."""
    # bytes.replace, not a multi-line regex: a tenth of the time on a mail of 400 KB.
    stuffed = payload.replace(b"\n.", b"\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except OSError:  # the mail's fate is already decided; just let go of the socket
        client.close()


def _ssl_context(config: SmtpConfig) -> ssl.SSLContext:
    # smtplib's own default does not verify certificates; ssl's does.
    return config.ssl_context or ssl.create_default_context()


def _envelope(message: EmailMessage) -> tuple[str, str]:
    """MAIL FROM and RCPT TO: the one ``From`` and the one ``To`` address."""
    if message.get_all("Cc") or message.get_all("Bcc"):
        raise InvalidInput("a report mail goes to one recipient; Cc and Bcc are not sent")
    senders = getaddresses([str(value) for value in message.get_all("From", [])])
    recipients = getaddresses([str(value) for value in message.get_all("To", [])])
    if len(senders) != 1 or len(recipients) != 1:
        raise InvalidInput("a report mail needs exactly one From and one To address")
    if "Message-ID" not in message:
        raise InvalidInput("a report mail needs a Message-ID, so that resends can be told")
    return senders[0][1], recipients[0][1]


def _sender_address(sender: str) -> Address:
    name, addr_spec = parseaddr(sender)
    if not addr_spec or not addr_spec.isascii():
        raise InvalidInput(f"sender {sender!r} is not an address like 'Name <user@host>'")
    try:
        return Address(display_name=_header_text(name), addr_spec=addr_spec)
    except ValueError as error:
        raise InvalidInput(f"sender {sender!r} is not a usable address: {error}") from error


def _ascii_address(address: str) -> str:
    """The address as SMTP without SMTPUTF8 needs it: an internationalised domain in IDNA."""
    validated = _validated(address)
    return validated.ascii_email or validated.normalized


def _validated(address: str) -> ValidatedEmail:
    try:
        return validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"{address!r} is not a valid email address: {error}") from error


def _header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise InvalidInput(f"{name!r} is not a valid header name")
    if name.lower() in _RESERVED_HEADERS:
        raise InvalidInput(f"header {name!r} is set by build_message itself")
    return name


def _header_text(value: str) -> str:
    """``value`` on one line: control characters, CR and LF among them, become a space."""
    return _CONTROL_CHARACTERS.sub(" ", value).strip()


def _text(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
