"""The exception tree of reportd.

::

    ReportdError
    ├── InvalidInput            bad data from a user or file; nothing was written
    │   └── ImportFormatError   an import file record or field is wrong (names it)
    ├── NotFound                an id that does not exist in this account
    ├── PermanentFailure        retrying cannot help; the delivery fails with the reason
    │   ├── MailRejected        the SMTP server refused the recipient or message (5xx)
    │   ├── MailTooLarge        the message exceeds the configured size limit
    │   └── EncryptionError     the PDF cannot be protected (e.g. empty password)
    └── TransientFailure        worth another attempt later
        ├── MailDeferred        4xx, connection refused or dropped before the server accepted
        ├── MailOutcomeUnknown  connection lost after DATA: the mail may have been accepted
        └── RenderFailed        the browser crashed, hung or timed out

Actors map ``TransientFailure`` to a retry and ``PermanentFailure`` to a failed delivery.
"""

from __future__ import annotations


class ReportdError(Exception):
    """Base of every error reportd raises on purpose."""


class InvalidInput(ReportdError, ValueError):
    """Input that reportd refuses; the message says which field and why."""


class ImportFormatError(InvalidInput):
    """A record of an import file is malformed; ``where`` names the record and field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class NotFound(ReportdError, LookupError):
    """The object does not exist in this account (or at all)."""


class PermanentFailure(ReportdError):
    """Retrying will not help."""


class MailRejected(PermanentFailure):
    """The SMTP server answered 5xx for this message or recipient."""


class MailTooLarge(PermanentFailure):
    """The message is larger than ``mail_max_bytes``."""


class EncryptionError(PermanentFailure):
    """The PDF could not be encrypted as the contact asks."""


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
