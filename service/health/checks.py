"""``reportd check``: is this configuration able to work? Each check says what is wrong, plainly.

Checks are plain functions returning a :class:`Check`; none of them raises for a failed check,
so one run reports every problem at once.
"""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.config import Settings, SmtpSecurity
from service.delivery.pdf import find_chromium
from service.directory.secretbox import SecretBox, SecretUnreadable
from storage.db import make_engine, make_session_factory
from storage.migrate import current_revision, head_revision
from storage.models import Account, Contact, User

#: Seconds each network check may take.
CHECK_TIMEOUT = 5.0
#: The settings' default secret key, for development only.
DEVELOPMENT_KEY: str = Settings.model_fields["secret_key"].get_default().get_secret_value()


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    #: Works, but should not stay so (the development secret key): said, not failed.
    warning: bool = False


def check_database(settings: Settings) -> Check:
    url = settings.resolved_database_url()
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        return Check(
            "database",
            False,
            f"cannot connect to {_safe(url)}: {error.__class__.__name__}: {error}",
        )
    finally:
        engine.dispose()
    head = head_revision()
    if current != head:
        return Check(
            "database",
            False,
            f"schema is at {current or 'nothing'}, not {head}: run 'reportd db upgrade'",
        )
    return Check("database", True, f"{_safe(url)} at revision {head}")


def check_broker(settings: Settings) -> Check:
    if not settings.broker_url:
        return Check("broker", True, "embedded (in-process); set REPORTD_BROKER_URL for Redis")
    import redis

    try:
        client = redis.Redis.from_url(settings.broker_url, socket_timeout=CHECK_TIMEOUT)
        client.ping()
        client.close()
    except redis.RedisError as error:
        return Check(
            "broker", False, f"Redis at {_safe(settings.broker_url)} does not answer: {error}"
        )
    return Check("broker", True, f"Redis at {_safe(settings.broker_url)}")


def check_smtp(settings: Settings) -> Check:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        if settings.smtp_security is SmtpSecurity.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=CHECK_TIMEOUT,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=CHECK_TIMEOUT)
        with client:
            client.ehlo()
            if settings.smtp_security is SmtpSecurity.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
    except (OSError, smtplib.SMTPException) as error:
        return Check("smtp", False, f"cannot talk to the SMTP server at {where}: {error}")
    return Check("smtp", True, f"{where} ({settings.smtp_security.value})")


def check_chromium(settings: Settings) -> Check:
    try:
        path = find_chromium(settings.chromium_path)
    except Exception as error:  # noqa: BLE001 - find_chromium's own message is the point
        return Check("chromium", False, f"{error} (apt-get install chromium)")
    try:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return Check("chromium", False, f"{path} does not run: {error}")
    return Check("chromium", True, f"{path}: {version}")


def check_fonts(_: Settings) -> Check:
    if shutil.which("fc-list") is None:
        return Check("fonts", False, "fontconfig is missing (apt-get install fontconfig)")
    listing = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
    if "Noto Sans CJK" not in listing:
        return Check(
            "fonts",
            False,
            "no CJK font: Japanese, Chinese and Korean would print as boxes "
            "(apt-get install fonts-noto-cjk)",
        )
    return Check("fonts", True, "Noto Sans CJK present")


def check_secret_key(settings: Settings) -> Check:
    """The secret key opens the report passwords stored in every account (one tried per
    account, and one of a user's), and is not the development default."""
    key = settings.secret_key.get_secret_value()
    default = key == DEVELOPMENT_KEY
    if not key:
        return Check("secret", False, "REPORTD_SECRET_KEY is empty: it cannot seal anything")
    engine = make_engine(settings.resolved_database_url())
    try:
        with make_session_factory(engine, read_only=True)() as session:
            unreadable, tried = _unreadable_secrets(session, SecretBox(key))
    except SQLAlchemyError:  # the database check says why
        unreadable, tried = [], -1
    finally:
        engine.dispose()
    if unreadable:
        return Check(
            "secret",
            False,
            "REPORTD_SECRET_KEY cannot open the report passwords stored for "
            + ", ".join(unreadable)
            + ": it is not the key that sealed them, and every protected delivery would fail",
        )
    opened = (
        "stored report passwords not checked: the database cannot be read"
        if tried < 0
        else f"opens the stored report passwords ({tried} tried)"
        if tried
        else "no report password stored yet"
    )
    if default:
        return Check(
            "secret",
            True,
            "REPORTD_SECRET_KEY is unset: the development key, known to anyone with reportd,"
            f" seals report passwords; set a secret key of your own ({opened})",
            warning=True,
        )
    return Check("secret", True, opened)


def _unreadable_secrets(session: Session, box: SecretBox) -> tuple[list[str], int]:
    """Where a stored secret does not open with ``box`` (accounts by name, "users"), and how
    many were tried: the first sealed report password of each account's contacts, and of
    the users (who belong to no one account)."""
    first = (
        select(Contact.account_id, func.min(Contact.id).label("contact_id"))
        .where(Contact.report_pdf_password_encrypted.is_not(None))
        .group_by(Contact.account_id)
        .subquery()
    )
    samples: list[tuple[str, bytes | None]] = [
        (f"account {name!r}", sealed)
        for name, sealed in session.execute(
            select(Account.name, Contact.report_pdf_password_encrypted)
            .join(first, first.c.contact_id == Contact.id)
            .join(Account, Account.id == Contact.account_id)
            .order_by(Account.id)
        )
    ]
    user_sealed = session.scalars(
        select(User.report_pdf_password_encrypted)
        .where(User.report_pdf_password_encrypted.is_not(None))
        .order_by(User.id)
        .limit(1)
    ).first()
    if user_sealed is not None:
        samples.append(("users", user_sealed))
    unreadable = []
    for where, sealed in samples:
        try:
            box.open(sealed or b"")
        except SecretUnreadable:
            unreadable.append(where)
    return unreadable, len(samples)


CHECKS: tuple[Callable[[Settings], Check], ...] = (
    check_database,
    check_secret_key,
    check_broker,
    check_smtp,
    check_chromium,
    check_fonts,
)


def run_checks(settings: Settings) -> list[Check]:
    return [check(settings) for check in CHECKS]


def _safe(url: str) -> str:
    """A URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not an SQLAlchemy URL (redis://): strip by hand
        head, _, tail = url.rpartition("@")
        return f"{head.split(':')[0]}:***@{tail}" if head else url
