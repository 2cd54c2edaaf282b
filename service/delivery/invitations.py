"""Telling a user their set-password token: a plain mail, through the report mail's SMTP.

The token is the only secret in the mail; it is not logged (the mail's Message-ID is). The
mail is in the user's language (``report_templates/mail/invitation_*.txt``, the reports'
catalogs) with the expiry in the user's own time zone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from sqlalchemy.orm import Session

from service.config import Settings
from service.delivery.mail import SmtpConfig, build_message, make_message_id, send_message
from service.directory.user_tokens import IssuedToken
from service.directory.users import Member
from service.reports.rendering import render_invitation
from storage.models import Account

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Invitations:
    """How set-password tokens reach users: SMTP and the console's address."""

    smtp: SmtpConfig
    mail_from: str
    console_url: str = ""

    @classmethod
    def from_settings(cls, settings: Settings, *, always: bool = False) -> Invitations | None:
        """None unless SMTP is configured (``REPORTD_SMTP_HOST``) or ``always``."""
        if not (settings.smtp_configured or always):
            return None
        return cls(
            smtp=SmtpConfig.from_settings(settings),
            mail_from=settings.mail_from,
            console_url=settings.console_url.rstrip("/"),
        )

    def send(self, member: Member, issued: IssuedToken, *, account_name: str) -> str:
        """Mail the token to the user; returns the mail's Message-ID."""
        link = ""
        if self.console_url:
            link = f"{self.console_url}/set-password?token={quote(issued.token)}"
        mail = render_invitation(
            member.locale,
            name=member.name,
            email_address=member.email_address,
            account_name=account_name,
            link=link,
            token=issued.token,
            expires=issued.expires,
            zone=member.time_zone,
        )
        domain = parseaddr(self.mail_from)[1].rpartition("@")[2] or "reportd.invalid"
        message = build_message(
            sender=self.mail_from,
            to_name=member.name,
            to_address=member.email_address,
            subject=mail.subject,
            text_body=mail.text_body,
            html_body=None,
            attachments=[],
            message_id=make_message_id(
                f"invite-{member.id}-{int(issued.expires.timestamp())}", domain
            ),
        )
        result = send_message(message, config=self.smtp)
        log.info("set-password mail %s sent to user %s", result.message_id, member.id)
        return result.message_id


def invite(
    session: Session,
    invitations: Invitations | None,
    member: Member,
    token: IssuedToken | None,
    *,
    account_id: int,
) -> str | None:
    """Mail a new administrator's set-password token when SMTP is configured (else None)."""
    if invitations is None or token is None:
        return None
    account = session.get(Account, account_id)
    name = account.name if account is not None else ""
    return invitations.send(member, token, account_name=name)
