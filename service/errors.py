"""The exception tree of reportd: every error it raises on purpose, in one drawing.

::

    ReportdError
    ├── InvalidInput              bad data from a user or file; nothing was written
    │   ├── InUse                 still used, so not deleted (names its users; 409 at the API)
    │   ├── ImportFormatError     an import file record or field is wrong (names it)
    │   ├── WeakPassword          a new sign-in password breaks the policy (never repeats it)
    │   └── TokenRefused          a set-password token is unknown, used or expired
    ├── NotFound                  an id that does not exist in this account
    ├── SecretUnreadable          a stored secret was sealed with another key, or is damaged
    ├── PermanentFailure          retrying cannot help; the delivery fails with the reason
    │   ├── MailRejected          the SMTP server refused the recipient or message (5xx)
    │   ├── MailTooLarge          the message exceeds the configured size limit
    │   ├── EncryptionError       the PDF cannot be protected (e.g. empty password)
    │   └── RecipientGone         the contact or user was deleted after the run was made
    ├── TransientFailure          worth another attempt later
    │   ├── MailDeferred          4xx, connection refused or dropped before the server accepted
    │   ├── MailOutcomeUnknown    connection lost after DATA: the mail may have been accepted
    │   ├── EncryptionUnavailable the process that encrypts PDFs stopped; a new one is started
    │   └── RenderFailed          the browser crashed, hung or timed out
    │       └── BrowserBroken     one print's page or browser died or hung (tried once more)
    ├── SentNotRecorded           mailed, but the ledger could not be told (never retried)
    ├── DatabaseNotMigrated       the schema is behind (or ahead of) the migrations reportd ships
    └── Forbidden                 the caller's role (an API key's or a signed-in user's) does
                                  not allow this (403 at the API's edge and in the console)

and, at the API's edge, ``service.api.keys.Unauthorized`` (401); at the console's,
``service.console.web.SignInRequired`` (303 to the sign-in page) and ``CsrfRefused`` (403);
all ``ReportdError``.

The pipeline (``service.delivery.pipeline``) turns ``TransientFailure`` into a retry and
``PermanentFailure`` into a failed delivery; ``SentNotRecorded`` leaves the delivery in
``sending`` until its lease lapses, since a retry would mail it again. Which SMTP reply is
which error is written once, in ``service.delivery.mail.reply_error``.
"""

from __future__ import annotations


class ReportdError(Exception):
    """Base of every error reportd raises on purpose."""


class InvalidInput(ReportdError, ValueError):
    """Input that reportd refuses; the message says which field and why."""


class InUse(InvalidInput):
    """The object is still used (a smart folder a scheduled task reports on); the message
    names what uses it. 409 at the API."""


class ImportFormatError(InvalidInput):
    """A record of an import file is malformed; ``where`` names the record and field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class WeakPassword(InvalidInput):
    """The password does not meet the policy (``service.directory.passwords``); the message
    names the rule and never contains the password."""


class TokenRefused(InvalidInput):
    """A set-password token is unknown, already used or expired (one message for all three)."""


class NotFound(ReportdError, LookupError):
    """The object does not exist in this account (or at all)."""


class SecretUnreadable(ReportdError):
    """The stored secret was written with another key or is damaged."""


class PermanentFailure(ReportdError):
    """Retrying will not help."""


class MailRejected(PermanentFailure):
    """The SMTP server answered 5xx for this message or recipient."""


class MailTooLarge(PermanentFailure):
    """The message is larger than ``mail_max_bytes``."""


class EncryptionError(PermanentFailure):
    """The PDF could not be encrypted as the contact asks."""


class RecipientGone(PermanentFailure):
    """The contact or user was deleted (or the user switched off) after the run was created."""


class TransientFailure(ReportdError):
    """Another attempt later may succeed."""


class MailDeferred(TransientFailure):
    """The SMTP server answered 4xx or could not be reached; nothing was accepted."""


class MailOutcomeUnknown(TransientFailure):
    """The connection broke after the message was sent: it may or may not have been accepted."""


class EncryptionUnavailable(TransientFailure):
    """The helper process that encrypts PDFs stopped; a later attempt gets a new one."""


class RenderFailed(TransientFailure):
    """Chromium crashed, hung or timed out while printing the PDF."""


class BrowserBroken(RenderFailed):
    """One print failed because the page or browser died or hung.

    ``service.delivery.pdf`` tries once more on a fresh page (or browser) and raises a plain
    ``RenderFailed`` when the second attempt breaks too.
    """


class SentNotRecorded(ReportdError, RuntimeError):
    """The mail went out but the database could not be told. The delivery must not go back
    to pending (it would be resent as if new); it stays in sending until its lease lapses."""


class Forbidden(ReportdError, PermissionError):
    """The caller's role does not allow this (answered 403 by the API and the console)."""


class DatabaseNotMigrated(ReportdError):
    """The database's schema is not the one this reportd's migrations end at."""
