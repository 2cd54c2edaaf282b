"""One delivery, start to finish: claim, resolve, query, render, encrypt, send, record.

Orchestration only; each step is a function of its own module. The clearance is resolved when
the delivery runs, not when the run was created, so a right revoked after fan-out counts.
Database work happens in short transactions around the slow parts (Chromium, SMTP), and the
state moves to ``sending`` before the mail goes out, so a crash after that point is known to
be a possible duplicate rather than silently sent twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.delivery.compaction import compact_pdf
from service.delivery.encryption import EmbeddedFile, encrypt_pdf
from service.delivery.holding import Holding
from service.delivery.ledger import (
    Claim,
    DeliveryState,
    claim,
    move,
    settle,
)
from service.delivery.mail import (
    Attachment,
    SmtpConfig,
    build_message,
    make_message_id,
    send_message,
)
from service.delivery.render_cache import (
    DEFAULT_DOCUMENT_BUDGET_BYTES,
    ROW_BYTES,
    RenderCache,
    SharedCache,
    content_key,
)
from service.delivery.shared_pdfs import store_pdf, stored_pdf
from service.delivery.smtp_connections import SmtpConnections
from service.directory.clearance import scope_for
from service.directory.contacts import open_report_password
from service.directory.secretbox import SecretBox
from service.errors import (
    MailOutcomeUnknown,
    PermanentFailure,
    RecipientGone,
    ReportdError,
    SentNotRecorded,
    TransientFailure,
)
from service.reports.builder import ReportRequest, build_report
from service.reports.csv_export import render_csv
from service.reports.model import ReportData, ReportFormat
from service.reports.rendering import (
    MailText,
    greeting,
    holds_nothing,
    render_footer_html,
    render_mail,
    render_report_html,
)
from service.reports.spec import ReportSpec
from service.runtime.logs import delivery_context, run_id_var
from service.runtime.metrics import metrics
from service.runtime.outages import wait_out
from storage.db import read_only_sessions, statement_sessions, transaction
from storage.models import Account, Contact, Delivery, Membership, ReportRun, User
from storage.records import load_role

log = logging.getLogger(__name__)

#: First retry after this long; doubled per attempt up to ``MAX_BACKOFF``.
MIN_BACKOFF = timedelta(seconds=15)
MAX_BACKOFF = timedelta(minutes=30)
#: Runs whose facts a worker keeps (a few hundred bytes each).
RUN_BUDGET = 256
#: Why a delivery was not mailed, in the ledger (its last error and its transition's note).
NOTHING_TO_SEND = "skipped: the report holds nothing of its period (skipIfEmpty)"
#: The states a claimed delivery is in while its worker holds it.
RENDERING, SENDING = DeliveryState.rendering, DeliveryState.sending


class Renderer(Protocol):
    def render(self, html: str, footer_html: str | None = None) -> bytes: ...


class Encrypt(Protocol):
    """``service.delivery.encryption.encrypt_pdf``, or an ``Encryptor`` running it in a helper."""

    def __call__(
        self, pdf: bytes, password: str, embedded: Sequence[EmbeddedFile] = ()
    ) -> bytes: ...


class Outcome(StrEnum):
    sent = "sent"
    failed = "failed"
    retry = "retry"  # back to pending; the message should be retried after ``retry_in``
    skipped = "skipped"  # not ours: final already, or another worker holds it
    empty = "empty"  # its report held nothing and the run leaves such out: recorded skipped


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    retry_in: timedelta | None = None
    detail: str = ""


@dataclass
class Deps:
    """A worker process's collaborators, built once at its entry point."""

    sessions: sessionmaker[Session]
    box: SecretBox
    renderer: Renderer
    smtp: SmtpConfig
    mail_from: str
    cache: RenderCache
    lease: timedelta
    max_attempts: int
    min_backoff: timedelta = MIN_BACKOFF
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    documents: SharedCache[Document] = field(
        default_factory=lambda: SharedCache[Document](
            DEFAULT_DOCUMENT_BUDGET_BYTES, weigh=lambda document: document.weight
        )
    )
    #: The runs this worker delivers for, read once each.
    runs: SharedCache[RunFacts] = field(default_factory=lambda: SharedCache[RunFacts](RUN_BUDGET))
    #: Each worker thread's SMTP connection, kept open from one mail to the next.
    connections: SmtpConnections = field(default_factory=SmtpConnections)
    #: Read PDFs other worker processes printed for a run, and keep ours for them
    #: (``service.delivery.shared_pdfs``); off only for the benchmarks' per-contact baseline.
    share_pdfs: bool = True
    #: Encrypts a PDF with a contact's password (``service.delivery.encryption.Encryptor`` in
    #: workers).
    encrypt: Encrypt = encrypt_pdf
    #: The deliveries this process's threads hold, given back when the worker stops.
    holding: Holding = field(default_factory=Holding)
    #: Sessions for reading only, on the same database: on SQLite they read beside the one
    #: writer instead of queueing for its lock.
    readers: sessionmaker[Session] = field(init=False)
    #: Sessions for the claim and the move to sending, each statement of which stands on
    #: its own: on PostgreSQL they run without a transaction around them (a round trip less
    #: at each end); elsewhere they are ``sessions``.
    statements: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.readers = read_only_sessions(self.sessions)
        self.statements = statement_sessions(self.sessions)


@dataclass(frozen=True)
class RunFacts:
    """What a run asked for; it never changes once the run exists, so a worker reads it once."""

    run_id: int
    account_id: int
    account_name: str
    spec: ReportSpec
    period_start: datetime
    period_end: datetime
    created: datetime


@dataclass(frozen=True)
class Document:
    """A report as built for one set of inputs: shared by every recipient with those inputs.

    Nothing in it is any one recipient's: its data has no recipient name, its mail texts
    leave the greeting's line to each mail (``service.reports.personal.PERSONAL_LINE``).
    """

    data: ReportData
    html: str
    footer: str
    pdf_key: str
    #: The mail's text in the document's language, by (encrypted, CSV attached): rendered
    #: once per document, not once per recipient.
    mails: dict[tuple[bool, bool], MailText] = field(
        default_factory=dict, compare=False, repr=False
    )
    #: The document's exports by format ("csv"), each made once, when a recipient first
    #: needs it.
    exports: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def mail(self, *, encrypted: bool, csv_attached: bool) -> MailText:
        key = (encrypted, csv_attached)
        text = self.mails.get(key)
        if text is None:  # two threads may both render it; either result is the same
            text = self.mails[key] = render_mail(
                self.data, encrypted=encrypted, csv_attached=csv_attached
            )
        return text

    def csv(self) -> bytes:
        rows = self.exports.get("csv")
        if rows is None:  # as for the mail: a race renders it twice, alike
            rows = self.exports["csv"] = render_csv(self.data)
        return rows

    @property
    def weight(self) -> int:
        """About how many bytes this document holds, for the cache's budget."""
        data = self.data
        rows = (
            len(data.computers)
            + len(data.events)
            + len(data.alerts)
            + len(data.system_events)
            + len(data.policies)
        )
        return len(self.html) + len(self.footer) + ROW_BYTES * rows


@dataclass(frozen=True)
class Prepared:
    """Everything a send needs, read in one short transaction."""

    run_id: int
    account_id: int
    document: Document
    recipient_name: str
    recipient_address: str
    password: str | None
    report_format: ReportFormat
    attach_csv: bool
    #: Leave the recipient out when the report holds nothing of its period.
    skip_if_empty: bool = False


def deliver(delivery_id: int, *, deps: Deps) -> Result:
    """Deliver one delivery if it is ours to deliver; never mails a delivery twice knowingly."""
    with delivery_context(delivery_id=delivery_id):
        started = time.monotonic()
        result = _deliver(delivery_id, deps)
        metrics().deliveries.labels(result.outcome.value).inc()
        # One line per delivery (the send itself logs at DEBUG): a sent one's says the
        # server's reply; its Message-ID follows from the delivery's id (make_message_id).
        log.info(
            "delivery %s: %s%s",
            delivery_id,
            result.outcome.value,
            f" ({result.detail})" if result.detail else "",
            extra={
                "outcome": result.outcome.value,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )
        return result


def _deliver(delivery_id: int, deps: Deps) -> Result:
    # The claim is a short write of its own; everything the mail needs is read after it, in
    # a read-only session, so that on SQLite the reading (a new document's whole report
    # among it) does not hold the one write lock every other delivery waits for.
    with transaction(deps.statements) as session:
        held = claim(session, delivery_id, now=deps.clock(), lease=deps.lease)
    if held is None:
        return Result(Outcome.skipped)
    metrics().queue_lag_seconds.observe(held.waited.total_seconds())
    if held.attempt > deps.max_attempts:
        # Its tries ended without an outcome (interrupted, given back, its worker killed):
        # the limit holds for them too, or the delivery and its run would never close.
        return _settle(held, deps, DeliveryState.failed, _out_of_attempts(held, deps))
    deps.holding.add(held)
    try:
        prepared: Prepared | ReportdError
        try:
            with deps.readers() as session:
                prepared = _prepare(session, delivery_id, deps)
        except ReportdError as error:  # raised on purpose: recorded as the claim's outcome
            prepared = error
        return _deliver_claimed(held, prepared, deps)
    except SentNotRecorded:
        raise  # left in sending: taken over once its lease lapses, as a possible duplicate
    except Exception as error:
        # A bug or a failure nobody foresaw: a try like any other, counted against the
        # limit, at which the delivery fails with it and its run closes.
        log.exception("delivery %s: unexpected error", delivery_id)
        return _retry_unexpected(held, deps, f"unexpected: {error!r}")
    except BaseException as error:
        # Dramatiq's time limit or the process stopping: give the delivery back (it is
        # retried by the message, or found by the reconciler) and re-raise.
        _settle(held, deps, DeliveryState.pending, f"interrupted: {error!r}")
        raise
    finally:
        deps.holding.discard(held)


def _out_of_attempts(held: Claim, deps: Deps) -> str:
    """Why a delivery claimed past its attempt limit fails: its last try's error."""
    with deps.readers() as session:
        last = session.scalar(select(Delivery.last_error).where(Delivery.id == held.delivery_id))
    return f"gave up after {held.attempt - 1} attempts: {last or 'no outcome recorded'}"


def _retry_unexpected(held: Claim, deps: Deps, error: str) -> Result:
    """An unexpected error's outcome: retried, or failed at the limit. Raised while sending,
    the mail may have gone out: the resend is marked a possible duplicate."""
    with deps.readers() as session:
        state = session.scalar(
            select(Delivery.state).where(
                Delivery.id == held.delivery_id, Delivery.claim_token == held.token
            )
        )
    if state is None:  # the claim was lost (given back, taken over): not ours to record
        return Result(Outcome.skipped, detail="claim lost")
    held_in = DeliveryState(state)
    return _retry(held, deps, error, possible_duplicate=held_in is SENDING, held_in=held_in)


def _deliver_claimed(held: Claim, prepared: Prepared | ReportdError, deps: Deps) -> Result:
    try:
        if isinstance(prepared, ReportdError):
            raise prepared
        if prepared.skip_if_empty and holds_nothing(prepared.document.data):
            return _settle(held, deps, DeliveryState.skipped, NOTHING_TO_SEND, held_in=RENDERING)
        message, key = _compose(held, prepared, deps)
    except TransientFailure as error:
        return _retry(held, deps, str(error), held_in=RENDERING)
    except ReportdError as error:
        # Everything else raised on purpose (bad stored parameters, an unknown locale, a
        # password sealed with another key, a deleted recipient) will not heal by itself.
        return _settle(held, deps, DeliveryState.failed, str(error), held_in=RENDERING)

    with transaction(deps.statements) as session:
        if not move(
            session,
            held,
            to=DeliveryState.sending,
            now=deps.clock(),
            held_in=RENDERING,
            content_key=key,
        ):
            return Result(Outcome.skipped, detail="claim lost before sending")
    try:
        with metrics().send_seconds.time():
            result = send_message(message, config=deps.smtp, connections=deps.connections)
    except PermanentFailure as error:
        return _settle(held, deps, DeliveryState.failed, str(error), held_in=SENDING)
    except MailOutcomeUnknown as error:
        return _retry(held, deps, str(error), possible_duplicate=True, held_in=SENDING)
    except TransientFailure as error:
        return _retry(held, deps, str(error), held_in=SENDING)
    try:
        return _settle(
            held,
            deps,
            DeliveryState.sent,
            result.reply,
            held_in=SENDING,
            message_id=result.message_id,
            size=result.size,
            sent_at=deps.clock(),
            last_error="",
        )
    except BaseException as error:
        raise SentNotRecorded(f"delivery {held.delivery_id} was mailed: {error!r}") from error


_deliveries = cast(Table, Delivery.__table__)
_contacts = cast(Table, Contact.__table__)
#: A delivery and its contact (none if it is for a user, or the contact was deleted), read
#: for every delivery: columns, not ORM objects.
_RECIPIENT = (
    select(
        _deliveries.c.run_id,
        _deliveries.c.account_id,
        _deliveries.c.contact_id,
        _deliveries.c.user_id,
        _contacts.c.role_id,
        _contacts.c.name,
        _contacts.c.email_address,
        _contacts.c.locale,
        _contacts.c.time_zone,
        _contacts.c.report_pdf_password_enabled,
        _contacts.c.report_pdf_password_encrypted,
    )
    .select_from(_deliveries.outerjoin(_contacts, _contacts.c.id == _deliveries.c.contact_id))
    .where(_deliveries.c.id == bindparam("delivery_id"))
)


def _prepare(session: Session, delivery_id: int, deps: Deps) -> Prepared:
    """Resolve the recipient and their clearance now, and build (or share) their document."""
    delivery = session.execute(_RECIPIENT, {"delivery_id": delivery_id}).one()
    run_id_var.set(delivery.run_id)  # for the logs; delivery_context restores it
    run = deps.runs.get_or_compute(
        delivery.run_id, lambda: _run_facts(session, delivery.run_id, delivery.account_id)
    )
    password: str | None = None
    if delivery.contact_id is not None:
        role_id, name, address = delivery.role_id, delivery.name, delivery.email_address
        locale, zone = delivery.locale, delivery.time_zone
        password = open_report_password(
            name=name,
            enabled=delivery.report_pdf_password_enabled,
            sealed=delivery.report_pdf_password_encrypted,
            box=deps.box,
        )
    elif delivery.user_id is not None:
        user = session.get(User, delivery.user_id)
        assert user is not None
        # The user's role *in this account*, read now: out of the account, or switched off
        # since the run was made, they get nothing.
        membership = session.execute(
            select(Membership.role_id, Membership.active).where(
                Membership.account_id == run.account_id, Membership.user_id == user.id
            )
        ).first()
        if membership is None or not membership.active:
            raise RecipientGone(f"the user of delivery {delivery_id} is no longer active here")
        role_id = membership.role_id
        name, address, locale, zone = user.name, user.email_address, user.locale, user.time_zone
        password = open_report_password(
            name=name,
            enabled=user.report_pdf_password_enabled,
            sealed=user.report_pdf_password_encrypted,
            box=deps.box,
        )
    else:
        raise RecipientGone(f"the recipient of delivery {delivery_id} was deleted")

    scope = scope_for(load_role(session, run.account_id, role_id), run.account_id)
    request = ReportRequest(
        spec=run.spec,
        period_start=run.period_start,
        period_end=run.period_end,
        generated_at=run.created,
    )

    def build() -> Document:
        data = build_report(
            session,
            scope=scope,
            request=request,
            account_name=run.account_name,
            locale=locale,
            time_zone=zone,
            sessions=deps.sessions,
        )
        html, footer = render_report_html(data), render_footer_html(data)
        return Document(data=data, html=html, footer=footer, pdf_key=content_key(html, footer))

    # Same run, same resolved scope, same language and zone: the same document.
    document = deps.documents.get_or_compute((run.run_id, scope, locale, zone), build)
    return Prepared(
        document=document,
        recipient_name=name,
        recipient_address=address,
        password=password,
        report_format=run.spec.format,
        attach_csv=run.spec.attach_csv,
        skip_if_empty=run.spec.skip_if_empty,
        run_id=run.run_id,
        account_id=run.account_id,
    )


def _run_facts(session: Session, run_id: int, account_id: int) -> RunFacts:
    run = session.get(ReportRun, run_id)
    account = session.get(Account, account_id)
    assert run is not None and account is not None
    return RunFacts(
        run_id=run.id,
        account_id=account.id,
        account_name=account.name,
        spec=ReportSpec.stored(run.report_type, run.parameters),
        period_start=run.period_start,
        period_end=run.period_end,
        created=run.created,
    )


def _compose(held: Claim, prepared: Prepared, deps: Deps) -> tuple[EmailMessage, str]:
    """Render (shared across identical documents), encrypt per recipient, build the mail."""
    document = prepared.document
    attachments: list[Attachment] = []
    key = ""
    password = prepared.password
    with_csv = prepared.attach_csv or prepared.report_format is ReportFormat.csv
    mail = document.mail(encrypted=password is not None, csv_attached=with_csv)
    csv_name = mail.attachment_filename.rsplit(".", 1)[0] + ".csv"
    # A protected recipient's rows never travel in clear: their CSV goes inside the
    # encrypted PDF, which they get even when they asked for the CSV alone.
    if prepared.report_format is not ReportFormat.csv or password is not None:
        key = document.pdf_key
        pdf = deps.cache.get_or_render(
            key,
            lambda: (
                _shared_print(prepared, deps)
                if deps.share_pdfs
                else _print(deps.renderer, document)
            ),
        )
        if password is not None:  # then this recipient's alone
            inside = [EmbeddedFile(csv_name, document.csv(), "text/csv")] if with_csv else []
            pdf = deps.encrypt(pdf, password, inside)
        attachments.append(
            Attachment(mail.attachment_filename, pdf, "application/pdf", reused=password is None)
        )
    if with_csv and password is None:
        attachments.append(Attachment(csv_name, document.csv(), "text/csv", reused=True))
    domain = parseaddr(deps.mail_from)[1].rpartition("@")[2] or "reportd.invalid"
    message = build_message(
        sender=deps.mail_from,
        to_name=prepared.recipient_name,
        to_address=prepared.recipient_address,
        subject=mail.subject,
        text_body=mail.text_body,
        html_body=mail.html_body,
        attachments=attachments,
        message_id=make_message_id(f"delivery-{held.delivery_id}", domain),
        personal=greeting(document.data.locale, prepared.recipient_name),
    )
    return message, key


def _shared_print(prepared: Prepared, deps: Deps) -> bytes:
    """The document's PDF as another worker process printed it for this run, or printed here
    and kept for the others (``service.delivery.shared_pdfs``)."""
    run_id, key = prepared.run_id, prepared.document.pdf_key
    with deps.readers() as session:
        stored = stored_pdf(session, account_id=prepared.account_id, run_id=run_id, key=key)
    if stored is not None:
        metrics().pdfs_from_other_workers.inc()
        return stored
    pdf = _print(deps.renderer, prepared.document)
    try:
        with transaction(deps.sessions) as session:
            store_pdf(
                session,
                account_id=prepared.account_id,
                run_id=run_id,
                key=key,
                pdf=pdf,
                now=deps.clock(),
            )
    except SQLAlchemyError as error:  # the others print it themselves; this mail goes on
        log.warning("run %s: could not keep PDF %s for other workers: %s", run_id, key, error)
    return pdf


def _print(renderer: Renderer, document: Document) -> bytes:
    """The document's PDF as mailed: printed by Chromium, compacted once for all recipients."""
    with metrics().render_seconds.time():
        return compact_pdf(renderer.render(document.html, document.footer))


def _retry(
    held: Claim,
    deps: Deps,
    error: str,
    *,
    possible_duplicate: bool = False,
    held_in: DeliveryState | None = None,
) -> Result:
    if held.attempt >= deps.max_attempts:
        return _settle(
            held,
            deps,
            DeliveryState.failed,
            f"gave up after {held.attempt} attempts: {error}",
            held_in=held_in,
        )
    extra = {"possible_duplicate": True} if possible_duplicate else {}
    result = _settle(held, deps, DeliveryState.pending, error, held_in=held_in, **extra)
    if result.outcome is Outcome.skipped:
        return result
    delay = min(deps.min_backoff * 2 ** (held.attempt - 1), MAX_BACKOFF)
    return Result(Outcome.retry, retry_in=delay, detail=error)


def _settle(
    held: Claim,
    deps: Deps,
    to: DeliveryState,
    note: str,
    *,
    held_in: DeliveryState | None = None,
    **values: object,
) -> Result:
    """Record the outcome and close the run if this was its last open delivery.

    ``held_in`` is the state this worker last moved the delivery to, None when unsure.
    """
    now = deps.clock()
    if to is not DeliveryState.sent:
        values.setdefault("last_error", note[:2000])

    # The outcome is known now (a mail may be out): a database that drops the connection is
    # waited for, within half the lease, rather than leave the delivery to be sent again.
    def record() -> bool:
        with transaction(deps.sessions) as session:
            run_id = held.run_id
            if run_id is None:  # a claim made up in a test
                run_id = session.scalar(
                    select(Delivery.run_id).where(Delivery.id == held.delivery_id)
                )
            if run_id is None:
                return move(session, held, to=to, now=now, note=note, held_in=held_in, **values)
            moved, finished = settle(
                session, held, to=to, now=now, run_id=run_id, note=note, held_in=held_in, **values
            )
            if finished:
                metrics().runs_finished.inc()
        return moved

    wait = held.lease.total_seconds() / 2
    if not wait_out(record, wait=wait, what=f"database unreachable, recording {to.value}"):
        return Result(Outcome.skipped, detail="claim lost")
    outcome = {
        DeliveryState.sent: Outcome.sent,
        DeliveryState.failed: Outcome.failed,
        DeliveryState.skipped: Outcome.empty,
        DeliveryState.pending: Outcome.retry,
    }[to]
    return Result(outcome, detail=note)
