"""The rules of every field reportd takes in, in one table: names, descriptions, host names,
event text, addresses, report passwords, time zones, IDs and counts.

The API's request bodies, the CLI's options (``service.cli.params``) and the dataset import
(``service.directory.dataset``) all take their types from here, and the directory's own checks
call ``check``, so the edges cannot disagree. ``docs/FIELDS.md`` shows ``RULES``
(``tests/service/test_fields.py`` checks that the two agree).

Why each limit:

- text is stored on PostgreSQL, which refuses NUL in ``text``; control characters in a single
  line (a name, a host name) would forge lines in the audit trail, the logs and mail headers;
  lone surrogates cannot be encoded at all. Multi-line text keeps tab, LF and CR.
- lengths bound what one request can make every later listing and report carry.
- a report password is at most 127 bytes of UTF-8: qpdf (pikepdf) keeps only the first 127
  bytes of an AES-256 (R=6) password, so a longer one makes a PDF that its own password
  does not open.
- IDs are the tables' INTEGER keys: 1 to 2**31-1; strict integers (``true`` is not 1).
- addresses must be sendable: the mail code does not use SMTPUTF8, so local parts are ASCII.
"""

from __future__ import annotations

import unicodedata
import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Final, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, StringConstraints, TypeAdapter, ValidationError

from service.errors import InvalidInput

#: Largest ID the tables hold (INTEGER keys: PostgreSQL's int4).
MAX_ID: Final = 2**31 - 1
#: Longest report password in UTF-8 bytes (qpdf's AES-256 limit).
MAX_PASSWORD_BYTES: Final = 127
#: Longest relative report window, in its units (hours, days, weeks or months).
MAX_PERIOD_COUNT: Final = 3660
#: Most runs a recurrence may be limited to (``recurrenceCount``, ``--count``).
MAX_RECURRENCE_COUNT: Final = MAX_ID
#: Largest day or week interval of a recurrence: beyond it, a later occurrence falls outside
#: the dates a schedule can compute with.
MAX_INTERVAL: Final = 3660
#: Most rows one CLI listing shows (``--limit``, ``tasks next --count``).
MAX_LIST_LENGTH: Final = 10_000
#: Zone names the tz database ships that are not places: a machine's own, its rules' template.
NOT_ZONES: Final = frozenset({"localtime", "posixrules", "Factory"})


@dataclass(frozen=True)
class Rule:
    """One row of the table: a kind of field and what it accepts."""

    #: What the field is, for the documentation.
    fields: str
    #: ``line`` (one line of text), ``text`` (may hold line breaks and tabs), ``password``,
    #: ``email``, ``zone`` or ``integer``.
    kind: str
    #: Least and most characters (for ``password``: UTF-8 bytes), or the integer's range.
    low: int | None = None
    high: int | None = None

    def describe(self) -> str:
        """The rule in a few words, for ``docs/FIELDS.md``."""
        if self.kind == "integer":
            return f"integer (JSON number, not true or a string) from {self.low} to {self.high}"
        if self.kind == "zone":
            return "an IANA zone (Europe/Berlin, UTC); not localtime, posixrules, Factory, right/"
        if self.kind == "email":
            return f"an address of at most {self.high} characters whose local part is ASCII"
        if self.kind == "password":
            return f"{self.low} to {self.high} bytes of UTF-8; no control characters"
        chars = (
            "no control characters but tab and line breaks"
            if self.kind == "text"
            else "one line: no control characters"
        )
        return f"{self.low} to {self.high} characters; {chars}"


#: The table: rule name -> rule. ``docs/FIELDS.md`` lists it.
RULES: Final[dict[str, Rule]] = {
    "name": Rule(
        "names of contacts, roles, API keys, computer groups, policies, scheduled tasks, "
        "accounts; administrators' full names",
        "line", 1, 255,
    ),
    "description": Rule(
        "descriptions of contacts, administrators, roles, API keys, computers, groups, "
        "policies and scheduled tasks",
        "text", 0, 10_000,
    ),
    "hostName": Rule("a computer's host name", "line", 1, 255),
    "label": Rule(
        "a computer's display name and platform, a role's URN, a tag, an event's name and "
        "action, a system event's actor and origin",
        "line", 0, 255,
    ),
    "eventText": Rule(
        "an event's details, a system event's or an alert's description", "text", 0, 10_000
    ),
    "phoneNumber": Rule("phone, mobile and pager numbers", "line", 0, 64),
    "username": Rule("an administrator's user name", "line", 1, 320),
    "emailAddress": Rule("an email address", "email", 3, 254),
    "reportPDFPassword": Rule(
        "the password of a contact's or administrator's reports", "password", 1,
        MAX_PASSWORD_BYTES,
    ),
    "timeZone": Rule("a time zone", "zone"),
    "ID": Rule("an object's ID (in a body, a path, an option or a search)", "integer", 1, MAX_ID),
    "periodCount": Rule(
        "a report window's length in its units (timeRange.value, --last)", "integer", 1,
        MAX_PERIOD_COUNT,
    ),
    "recurrenceCount": Rule(
        "a schedule's number of runs (recurrenceCount, --count)", "integer", 1,
        MAX_RECURRENCE_COUNT,
    ),
    "listLength": Rule(
        "how many rows a CLI listing shows (--limit, tasks next --count)", "integer", 1,
        MAX_LIST_LENGTH,
    ),
    "interval": Rule(
        "a schedule's interval (every N days or weeks: customInterval, interval)", "integer",
        1, MAX_INTERVAL,
    ),
}  # fmt: skip


def _bad_character(text: str, *, multiline: bool) -> str | None:
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cs" or (category == "Cc" and not (multiline and ch in "\t\n\r")):
            return f"U+{ord(ch):04X}"
        if category in ("Zl", "Zp") and not multiline:
            return f"U+{ord(ch):04X}"
    return None


def single_line(text: str) -> str:
    """``text`` if it holds no control character (NUL, CR, LF, tab...) and no lone surrogate."""
    bad = _bad_character(text, multiline=False)
    if bad:
        raise ValueError(f"must be one line without control characters (found {bad})")
    return text


def multi_line(text: str) -> str:
    """``text`` if it holds no control character but tab and line breaks, and no surrogate."""
    bad = _bad_character(text, multiline=True)
    if bad:
        raise ValueError(f"must not hold control characters (found {bad})")
    return text


def report_password(text: str) -> str:
    """A report password qpdf can use whole: at most 127 UTF-8 bytes, no control character."""
    bad = _bad_character(text, multiline=False)
    if bad:
        raise ValueError(f"must not hold control characters (found {bad})")
    size = len(text.encode("utf-8"))
    if size > MAX_PASSWORD_BYTES:
        raise ValueError(
            f"at most {MAX_PASSWORD_BYTES} bytes of UTF-8 (the PDF encryption's limit), not {size}"
        )
    return text


def email_address(text: str) -> str:
    """``text`` normalised, if SMTP without SMTPUTF8 can send to it (an ASCII local part)."""
    try:
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"{text!r} is not a valid address: {error}") from None


@cache
def known_zones() -> frozenset[str]:
    """The IANA zones reportd accepts: the tz database's places, not its helpers."""
    return frozenset(
        zone
        for zone in zoneinfo.available_timezones()
        if zone not in NOT_ZONES and not zone.startswith(("right/", "posix/"))
    )


def time_zone(text: str) -> str:
    """``text`` if it is an IANA zone of ``known_zones``."""
    if text not in known_zones():
        raise ValueError(f"unknown time zone {text!r} (use an IANA name such as Europe/Berlin)")
    return text


def _line(rule: str) -> StringConstraints:
    low, high = RULES[rule].low, RULES[rule].high
    return StringConstraints(strip_whitespace=True, min_length=low, max_length=high)


def _text(rule: str) -> StringConstraints:
    return StringConstraints(min_length=RULES[rule].low, max_length=RULES[rule].high)


def _integer(rule: str) -> Any:
    return Field(strict=True, ge=RULES[rule].low, le=RULES[rule].high)


# The types every edge uses, one per rule.
Name = Annotated[str, _line("name"), AfterValidator(single_line)]
Description = Annotated[str, _text("description"), AfterValidator(multi_line)]
HostName = Annotated[str, _line("hostName"), AfterValidator(single_line)]
Label = Annotated[str, _line("label"), AfterValidator(single_line)]
#: A tag: a label that is not empty.
TagLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=RULES["label"].high),
    AfterValidator(single_line),
]
EventText = Annotated[str, _text("eventText"), AfterValidator(multi_line)]
PhoneNumber = Annotated[str, _line("phoneNumber"), AfterValidator(single_line)]
Username = Annotated[str, _line("username"), AfterValidator(single_line)]
EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=RULES["emailAddress"].high),
    AfterValidator(email_address),
]
ReportPassword = Annotated[str, StringConstraints(min_length=1), AfterValidator(report_password)]
TimeZone = Annotated[str, AfterValidator(time_zone)]
ID = Annotated[int, _integer("ID")]
#: An ID a search compares with: 0 too (``greater-than 0``).
SearchID = Annotated[int, Field(strict=True, ge=0, le=MAX_ID)]
PeriodCount = Annotated[int, _integer("periodCount")]
RecurrenceCount = Annotated[int, _integer("recurrenceCount")]
Interval = Annotated[int, _integer("interval")]
ListLength = Annotated[int, _integer("listLength")]

Value = TypeVar("Value")


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def check(kind: Any, value: Any, field: str) -> Any:
    """``value`` checked (and normalised) as the type ``kind``, or InvalidInput naming
    ``field``: for the edges that do not parse with pydantic models (the CLI, the services)."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as error:
        raise InvalidInput(f"{field}: {problem(error)}") from None


def problem(error: ValidationError) -> str:
    """The first problem of ``error`` in words, without pydantic's prefix."""
    message = str(error.errors()[0].get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def markdown_table() -> str:
    """``RULES`` as the Markdown table of ``docs/FIELDS.md``."""
    lines = ["| rule | fields | accepts |", "|---|---|---|"]
    lines += [f"| `{name}` | {rule.fields} | {rule.describe()} |" for name, rule in RULES.items()]
    return "\n".join(lines) + "\n"
