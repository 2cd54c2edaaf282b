"""A local SMTP server that keeps every mail it receives as an ``.eml`` file.

It is the embedded default for newcomers (``reportd smtp-sink DIR``) and the server the tests
send to. aiosmtpd does the SMTP; this module adds listening on any free port, writing files
with unique, sortable names, and optional STARTTLS, implicit TLS and AUTH, so the client's
whole dialogue can be exercised locally. Tests that need a misbehaving server subclass
:class:`OutboxHandler` and pass it as ``handler_factory``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

from service.config import SmtpSecurity

log = logging.getLogger(__name__)

#: Loopback only: the sink accepts anything, so it should not be reachable from elsewhere.
DEFAULT_HOST = "127.0.0.1"
#: The name the sink greets with; a fixed name spares a DNS lookup per connection.
SERVER_NAME = "reportd-smtp-sink"


@dataclass(frozen=True)
class ReceivedMail:
    """One mail the sink stored: its file and its envelope."""

    path: Path
    mail_from: str
    rcpt_tos: tuple[str, ...]
    #: The user name the client logged in with, if it did.
    login: str | None


class OutboxHandler:
    """aiosmtpd handler that writes each mail, byte for byte, to ``directory``.

    File names are a UTC timestamp and a sequence number, so they sort in arrival order and
    never collide within a process; files are created exclusively, never overwritten.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._sequence = 0
        self._received: list[ReceivedMail] = []

    @property
    def received(self) -> tuple[ReceivedMail, ...]:
        with self._lock:
            return tuple(self._received)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            path = self._store(envelope.original_content or b"")
        except OSError as error:
            log.error("cannot store a mail in %s: %s", self.directory, error)
            return "451 4.3.0 Cannot store the message now"
        auth = session.auth_data  # what _Authenticator returned for a good login
        mail = ReceivedMail(
            path=path,
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
        )
        with self._lock:
            self._received.append(mail)
        log.info("stored a mail from %s to %s as %s", mail.mail_from, mail.rcpt_tos, path)
        return f"250 2.0.0 OK stored as {path.name}"

    def _store(self, content: bytes) -> Path:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{sequence:06d}.eml"
        with path.open("xb") as file:
            file.write(content)
        return path


class SmtpSink:
    """An SMTP server in a background thread, storing mails in ``directory``.

    Use it as a context manager or call :meth:`start` and :meth:`stop`; ``port`` is the bound
    port once started (pass 0 for any free port). ``security`` and ``ssl_context`` (the
    server's certificate) mirror the client's settings. With ``credentials`` the sink checks
    AUTH logins; it does not insist on one, because aiosmtpd cannot require AUTH over
    implicit TLS without warning about plain text (aiosmtpd issue #281).
    """

    def __init__(
        self,
        directory: Path | str,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        security: SmtpSecurity = SmtpSecurity.none,
        ssl_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        handler_factory: Callable[[Path], OutboxHandler] = OutboxHandler,
    ) -> None:
        if security is not SmtpSecurity.none and ssl_context is None:
            raise ValueError(f"security {security.value!r} needs an ssl_context")
        self.directory = Path(directory)
        self.host = host
        self.security = security
        self.handler = handler_factory(self.directory)
        self._port = port
        self._ssl_context = ssl_context
        self._credentials = credentials
        self._controller: _Controller | None = None
        self._controller_lock = threading.Lock()  # stop() may come from another thread
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        """The port the sink listens on, or was asked to before :meth:`start`."""
        return self._port

    @property
    def received(self) -> tuple[ReceivedMail, ...]:
        return self.handler.received

    @property
    def count(self) -> int:
        """How many mails were stored."""
        return len(self.handler.received)

    def start(self) -> None:
        with self._controller_lock:
            if self._controller is not None:
                raise RuntimeError("the SMTP sink is already running")
            self.directory.mkdir(parents=True, exist_ok=True)
            self._stopped.clear()
            controller = _Controller(
                self.handler,
                hostname=self.host,
                port=self._port,
                server_hostname=SERVER_NAME,
                **self._security_options(),
            )
            controller.start()
            self._controller = controller
            self._port = controller.port
        log.info("SMTP sink on %s:%d writes to %s", self.host, self._port, self.directory)

    def stop(self) -> None:
        """Stop listening; harmless when not running."""
        with self._controller_lock:
            controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        self._stopped.set()

    def run_forever(self, *, on_ready: Callable[[SmtpSink], None] | None = None) -> None:
        """Serve until :meth:`stop`, Ctrl-C or SIGTERM: the ``reportd smtp-sink`` command."""
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread:  # SIGTERM ends the sink like Ctrl-C does
            previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            with self:
                if on_ready is not None:
                    on_ready(self)
                self._stopped.wait()
        except KeyboardInterrupt:
            log.info("SMTP sink interrupted")
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _security_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.security is SmtpSecurity.starttls:
            options["tls_context"] = self._ssl_context
        elif self.security is SmtpSecurity.tls:
            options["ssl_context"] = self._ssl_context
        if self._credentials is not None:
            options["authenticator"] = _Authenticator(*self._credentials)
            # Over implicit TLS aiosmtpd does not know the connection is encrypted (#281).
            options["auth_require_tls"] = self.security is SmtpSecurity.starttls
        return options


class _Authenticator:
    """Accepts exactly one user name and password, for the PLAIN and LOGIN mechanisms."""

    def __init__(self, login: str, password: str) -> None:
        self._login = login.encode()
        self._password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        valid = (
            isinstance(data, LoginPassword)
            and hmac.compare_digest(data.login, self._login)
            and hmac.compare_digest(data.password, self._password)
        )
        # handled=False lets aiosmtpd answer 235 or 535 itself.
        return AuthResult(success=valid, handled=False, auth_data=data if valid else None)


class _BlockReadingSMTP(SMTP):
    """aiosmtpd's SMTP server, reading the mail after DATA in blocks instead of by the line.

    aiosmtpd 1.4 reads DATA one line at a time: a report's base64 is thousands of lines, and
    the sink spent as much CPU per mail as the worker that built it. This reads up to each
    ``.`` CRLF and checks whether it ends a line of its own, then applies aiosmtpd's rules to
    the whole mail at once: lines of at most ``line_length_limit`` bytes (else 500), at most
    ``data_size_limit`` bytes (else 552), a leading dot removed from every line (RFC 5321
    4.5.2), and the handler's DATA hook called as aiosmtpd calls it.

    It also parses the addresses of MAIL and RCPT without defining a class per call, as
    aiosmtpd 1.4's ``_getaddr`` does (a sixth of the sink's CPU per mail).
    """

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        address, rest = _parse_address(arg)
        if address and self.local_part_limit:
            if len(address.rpartition("@")[0]) > self.local_part_limit:
                return None, None
        return address, rest

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        read = await self._read_data()
        if read is None:  # the client went away mid-DATA
            return
        data, refusal = read
        if refusal is not None:
            await self.push(refusal)
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            return
        content = data.replace(b"\r\n.", b"\r\n")  # a leading dot removed from each line
        if content.startswith(b"."):
            del content[0]
        original_content = bytes(content)
        if self._decode_data:
            try:
                self.envelope.content = (
                    original_content.decode("utf-8", errors="surrogateescape")
                    if self.enable_SMTPUTF8
                    else original_content.decode("ascii")
                )
            except UnicodeDecodeError:
                await self.push("500 Error: strict ASCII mode")
                return
        else:
            self.envelope.content = original_content
        self.envelope.original_content = original_content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> tuple[bytearray, str | None] | None:
        """Everything up to the line ``.`` (not included) and the reply refusing it, if it is
        refused; None if the connection closed. Once a mail is refused only its last bytes
        are kept (to see where it ends): aiosmtpd too drops what it will not take."""
        data, refusal = bytearray(), None
        while True:
            try:
                data += await self._reader.readuntil(b".\r\n")
            except asyncio.LimitOverrunError as error:  # no ".\r\n" in what has come so far
                data += await self._reader.read(error.consumed)
            except asyncio.IncompleteReadError:
                return None
            else:
                if data == b".\r\n" or data.endswith(b"\r\n.\r\n"):
                    del data[-3:]
                    return data, refusal or self._refusal(data)
            limit = self.data_size_limit
            if refusal is None and limit and len(data) > limit:
                refusal = self._refusal(data)
            if refusal is not None:
                del data[:-5]

    def _refusal(self, data: bytearray) -> str | None:
        """Why the mail is refused: a line too long or too much data, whichever aiosmtpd,
        reading line by line, would meet first; None if it is taken."""
        lines = data.split(b"\r\n")
        limit, longest = self.data_size_limit, self.line_length_limit
        if (not limit or len(data) <= limit) and max(map(len, lines)) + 2 <= longest:
            return None
        read = 0
        for line in lines:
            if len(line) + 2 > longest:
                return "500 Line too long (see RFC5321 4.5.3.1.6)"
            read += len(line) + 2
            if limit and read > limit:
                break
        return "552 Error: Too much mail data"


@lru_cache(maxsize=1024)
def _parse_address(arg: str) -> tuple[str | None, str | None]:
    """The address of a MAIL or RCPT argument and what follows it, as aiosmtpd 1.4's
    ``SMTP._getaddr`` finds them; (None, None) if it is not an address."""
    if not arg:
        return "", ""
    try:
        if arg.lstrip().startswith("<"):
            angle, rest = get_angle_addr(arg)
            return angle.addr_spec, rest
        spec, rest = get_addr_spec(arg)
        return spec.addr_spec, rest
    except HeaderParseError:
        return None, None


class _Controller(Controller):
    """aiosmtpd's threaded controller, able to listen on port 0 (any free port), serving
    with :class:`_BlockReadingSMTP`."""

    def factory(self) -> SMTP:
        return _BlockReadingSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # aiosmtpd 1.4 pokes its new server on ``self.port``; with 0 that must first become
        # the port the operating system chose.
        sockets = getattr(self.server, "sockets", ())
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]
