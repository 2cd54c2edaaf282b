"""The line of a mail that is its recipient's own, in a text shared by many recipients.

A document's mail text is rendered once and shared by everyone who gets that document; its
greeting names one person, so it is left out: both bodies hold ``PERSONAL_LINE`` on a line of
its own, and each mail puts its recipient's :class:`PersonalLine` there
(``service.reports.rendering.greeting`` makes it, ``service.delivery.mail.build_message``
puts it in).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

__all__ = ["PERSONAL_LINE", "PersonalLine"]

#: Stands, on a line of its own, for the line of a shared mail body that is each recipient's
#: own. Random per process, so no report data can hold it.
PERSONAL_LINE: Final = f"reportd-personal-line-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class PersonalLine:
    """One recipient's own line of a body shared by many: ``text`` takes the place of the
    ``PERSONAL_LINE`` line of the plain text, ``html`` (markup, escaped already) that of the
    HTML. The shared body is built and encoded once; each mail only encodes its own line."""

    text: str
    html: str
