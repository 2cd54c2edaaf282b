"""Report HTML, the PDF footer snippet and mail text from a ``ReportData``, per language.

One Jinja2 environment per locale, built once per process: autoescape on (HTML and strings),
``StrictUndefined``, ``jinja2.ext.i18n`` with newstyle gettext bound to a catalog read from the
``.po`` files (compiled ``.mo`` files are not in git). Dates are shown in the recipient's time
zone; numbers, percentages and durations in the locale's format (Babel).

Data text is escaped by one function, ``_escape``, both in ``{{ }}`` (via ``finalize``) and in
gettext placeholders; it also encodes ``(`` so no data can read as CSS ``url(`` in the output.
"""

from __future__ import annotations

import functools
import math
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from io import BytesIO
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    format_interval,
    format_skeleton,
    format_time,
    format_timedelta,
    get_timezone_gmt,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from babel.units import format_unit
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.utils import pass_context, pass_eval_context
from markupsafe import Markup, escape

from report_templates import TEMPLATES_DIR
from service.errors import InvalidInput
from service.reports.kinds import Part, kind_of
from service.reports.locales import normalize_locale
from service.reports.model import (
    AlertRow,
    ComputerRow,
    EventModule,
    EventRow,
    ReportData,
    SystemEventRow,
)
from service.reports.personal import PERSONAL_LINE, PersonalLine

#: Languages reports and mails are written in (IETF tags, as stored on contacts).
#: Rows per PDF table; the rest is counted in a note and is in the CSV export. Each page
#: costs render time (about 0.05 CPU-s, ``ops/bench/pdf.py``): 500 rows keep a Summary of
#: 200 computers and 500 events whole at about 14 pages.
DEFAULT_MAX_ROWS = 500
#: Entries in "top N" tables and in the Summary's latest alerts and system events.
TOP_ROWS = 10
#: Bars at most in a per-day chart; longer periods put several days in one bar.
MAX_TIMELINE_BARS = 31
#: Where the ``<ll_CC>/LC_MESSAGES/messages.po`` catalogs are.
LOCALE_DIR = TEMPLATES_DIR / "locale"

# Display order of known values; unknown values follow, in order of appearance.
_SEVERITIES = ("critical", "high", "medium", "low", "info")
_STATUSES = ("active", "warning", "error", "offline", "unmanaged")
_LEVELS = ("error", "warning", "info")
_ALERT_SEVERITIES = ("critical", "warning")
_PAGE_NUMBER = Markup('<span class="pageNumber"></span>')
_TOTAL_PAGES = Markup('<span class="totalPages"></span>')
RowT = TypeVar("RowT")


@dataclass(frozen=True)
class MailText:
    """A report mail before MIME encoding; header encoding is the mail module's job.

    Rendered from a shared document (no recipient name), both bodies hold the line
    ``service.reports.personal.PERSONAL_LINE`` where the greeting goes: :func:`greeting` makes each
    recipient's, and ``build_message(personal=...)`` puts it in.
    """

    subject: str
    text_body: str
    html_body: str
    #: ASCII only, e.g. ``Summary-Report_2026-11-23.pdf``.
    attachment_filename: str


@dataclass(frozen=True)
class TablePart(Generic[RowT]):
    """The rows a PDF table shows and how many it leaves to the CSV export."""

    rows: list[RowT]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)

    def has(self, column: str) -> bool:
        """Whether any shown row fills ``column``: an empty column takes no room."""
        return any(getattr(row, column) for row in self.rows)


@dataclass(frozen=True)
class Timeline:
    """Counts per local day (or per ``days_per_bar`` days) over the report period; with
    ``stacks``, each bar's count split by severity (or level), most severe first."""

    bars: list[tuple[date, int]]
    days_per_bar: int
    scale_max: int
    stacks: list[list[tuple[str, int]]] = field(default_factory=list)
    #: The kinds found in ``stacks``, in their order: the legend.
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportView:
    """What the templates show, derived from ``ReportData`` (scoped, sorted, capped, counted)."""

    computers: TablePart[ComputerRow]
    events: TablePart[EventRow]
    alerts: TablePart[AlertRow]
    system_events: TablePart[SystemEventRow]
    latest_alerts: TablePart[AlertRow]
    latest_system_events: TablePart[SystemEventRow]
    computers_by_policy: list[tuple[str, str, int]]
    computers_by_status: list[tuple[str, int]]
    computers_by_platform: list[tuple[str, int]]
    computers_with_policy: int
    module_usage: list[tuple[str, int]]
    events_by_module: list[tuple[str, int]]
    events_by_severity: list[tuple[str, int]]
    event_timeline: Timeline
    system_event_timeline: Timeline
    top_computers: list[tuple[str, int]]
    top_names: list[tuple[str, int]]
    computers_with_events: int
    alerts_by_severity: list[tuple[str, int]]
    open_alerts: int
    system_events_by_level: list[tuple[str, int]]
    empty: bool


# --- scope, order and counts (shared with the CSV export) -----------------------------------


def events_sorted(data: ReportData) -> list[EventRow]:
    """The report's events (its kind's modules only: the builder read no others), newest first."""
    return sorted(data.events, key=lambda e: as_utc(e.time), reverse=True)


def holds_nothing(data: ReportData) -> bool:
    """Whether the report holds nothing of its period: no row of its kind's content (the
    Summary: no security event, alert or system event; an events report: none of its
    modules' events; Computer and Security Module Usage, of no period: no computer). The one
    check behind ``skipIfEmpty``."""
    content = kind_of(data.report_type).content
    return not any(getattr(data, part.value) for part in content)


def computers_sorted(data: ReportData) -> list[ComputerRow]:
    return sorted(data.computers, key=lambda c: (computer_name(c).casefold(), c.id))


def alerts_sorted(data: ReportData) -> list[AlertRow]:
    return sorted(data.alerts, key=lambda a: as_utc(a.raised), reverse=True)


def system_events_sorted(data: ReportData) -> list[SystemEventRow]:
    return sorted(data.system_events, key=lambda e: as_utc(e.time), reverse=True)


def computer_name(computer: ComputerRow) -> str:
    return computer.display_name or computer.host_name


def attachment_basename(data: ReportData) -> str:
    """``Summary-Report_2026-11-23``: ASCII, from the type id and the local generation date."""
    words = "-".join(word.capitalize() for word in data.report_type.value.split("-"))
    day = as_utc(data.generated_at).astimezone(recipient_zone(data.time_zone)).date().isoformat()
    return f"{words}-Report_{day}"


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, like the console's database stores them."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _ordered(
    counts: Counter[str], known: Iterable[str], *, keep_zero: bool = False
) -> list[tuple[str, int]]:
    known = tuple(known)
    extra = [key for key in counts if key not in known]
    return [(key, counts[key]) for key in (*known, *extra) if keep_zero or counts[key]]


def _part(rows: list[RowT], cap: int, left_out: int) -> TablePart[RowT]:
    return TablePart(rows=rows[: max(cap, 0)], total=len(rows) + left_out)


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= value (at least 1)."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _timeline(
    items: Iterable[tuple[datetime, str]], data: ReportData, zone: tzinfo, order: Iterable[str] = ()
) -> Timeline:
    """Bars of ``(moment, kind)`` items; stacked by kind (in ``order``, then the rest as met)
    when an order is given."""
    first = data.period_start.astimezone(zone).date()
    end = data.period_end.astimezone(zone)
    last = end.date() - timedelta(days=1) if end.time() == datetime.min.time() else end.date()
    days = max((last - first).days + 1, 1)
    step = math.ceil(days / MAX_TIMELINE_BARS)
    per_bar: list[Counter[str]] = [Counter() for _ in range(math.ceil(days / step))]
    for moment, kind in items:
        offset = (as_utc(moment).astimezone(zone).date() - first).days
        if 0 <= offset < days:
            per_bar[offset // step][kind] += 1
    counts = [sum(bar.values()) for bar in per_bar]
    bars = [(first + timedelta(days=i * step), n) for i, n in enumerate(counts)]
    stacks: list[list[tuple[str, int]]] = []
    keys: list[str] = []
    if order:
        keys = [key for key, _ in _ordered(sum(per_bar, Counter()), order)]
        stacks = [[(key, bar[key]) for key in keys if bar[key]] for bar in per_bar]
    return Timeline(
        bars=bars,
        days_per_bar=step,
        scale_max=_nice_ceiling(max(counts)),
        stacks=stacks,
        keys=keys,
    )


def build_view(data: ReportData, *, max_rows: int, zone: tzinfo) -> ReportView:
    """Scope, sort, cap and count ``data`` for the templates (no formatting here)."""
    left_out = data.truncated
    kind = kind_of(data.report_type)
    events = events_sorted(data)
    computers = computers_sorted(data)
    alerts = alerts_sorted(data)
    system_events = system_events_sorted(data)
    per_computer = Counter(e.computer_name for e in events)
    policy_use = Counter(c.policy_name for c in computers if c.policy_name)
    rows: dict[Part, list[Any]] = {
        Part.computers: computers,
        Part.events: events,
        Part.alerts: alerts,
        Part.system_events: system_events,
        Part.policies: data.policies,
    }
    return ReportView(
        computers=_part(computers, max_rows, left_out.get("computers", 0)),
        events=_part(events, max_rows, left_out.get("events", 0)),
        alerts=_part(alerts, max_rows, left_out.get("alerts", 0)),
        system_events=_part(system_events, max_rows, left_out.get("system_events", 0)),
        latest_alerts=_part(alerts, min(max_rows, TOP_ROWS), left_out.get("alerts", 0)),
        latest_system_events=_part(
            system_events, min(max_rows, TOP_ROWS), left_out.get("system_events", 0)
        ),
        computers_by_policy=[
            (p.name, p.parent_name or "", policy_use[p.name])
            for p in sorted(data.policies, key=lambda p: p.name.casefold())
        ],
        computers_by_status=_ordered(Counter(c.agent_status for c in computers), _STATUSES),
        computers_by_platform=Counter(c.platform for c in computers).most_common(TOP_ROWS),
        computers_with_policy=sum(bool(c.policy_name) for c in computers),
        module_usage=[(m.value, sum(m.value in c.modules for c in computers)) for m in EventModule],
        events_by_module=_ordered(Counter(e.module for e in events), kind.modules),
        events_by_severity=_ordered(Counter(e.severity for e in events), _SEVERITIES),
        event_timeline=_timeline(((e.time, e.severity) for e in events), data, zone, _SEVERITIES),
        system_event_timeline=_timeline(
            ((e.time, e.level) for e in system_events), data, zone, _LEVELS
        ),
        top_computers=per_computer.most_common(TOP_ROWS),
        top_names=Counter(e.name for e in events).most_common(TOP_ROWS),
        computers_with_events=len(per_computer),
        alerts_by_severity=_ordered(Counter(a.severity for a in alerts), _ALERT_SEVERITIES),
        open_alerts=sum(not a.dismissed for a in alerts),
        system_events_by_level=_ordered(Counter(e.level for e in system_events), _LEVELS),
        empty=not any(rows[part] for part in kind.primary),
    )


# --- catalogs, escaping, gettext and formatting filters -------------------------------------


def _escape(value: object) -> Markup:
    """HTML-escape data; also encode ``(`` so data never reads as CSS ``url(`` or a call."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    return Markup(str(escape(value)).replace("(", "&#40;"))


@pass_eval_context
def _finalize(eval_ctx: EvalContext, value: object) -> object:
    return _escape(value) if eval_ctx.autoescape else value


def _css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string: everything but letters, digits and spaces hex-escaped."""
    safe = (c if c.isalnum() or c == " " else f"\\{ord(c):06x}" for c in str(text))
    return Markup('"' + "".join(safe) + '"')


#: Where a long name may break: after a dot or an @ (host names, addresses, URLs), never
#: inside a word.
_BREAK_AFTER = re.compile(r"([.@/_])(?=\S)")


def _breakable(value: object) -> Markup:
    """``value`` escaped, with a line-break opportunity (``<wbr>``) after each dot, @, slash
    and underscore, so host names and addresses wrap in a narrow cell instead of being cut."""
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(_escape(value))))


@functools.cache
def _translations(locale: str) -> Translations:
    """The locale's catalog, read from its ``.po`` file (fuzzy entries left out)."""
    return read_translations(LOCALE_DIR, locale)


def read_translations(locale_dir: Path, locale: str) -> Translations:
    """``<locale_dir>/<ll_CC>/LC_MESSAGES/messages.po`` compiled in memory (no ``.mo`` in git)."""
    po_path = locale_dir / locale.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale.replace("-", "_"))
    mo_file = BytesIO()
    write_mo(mo_file, catalog, use_fuzzy=False)
    mo_file.seek(0)
    return Translations(fp=mo_file)


@functools.lru_cache(maxsize=256)
def recipient_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; an unknown one is ``InvalidInput``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"time zone {name!r} is not a known IANA zone") from None


def _gettext_functions(translations: Translations, locale: Locale) -> dict[str, Callable[..., str]]:
    """Newstyle gettext callables: placeholders escaped by ``_escape``, numbers localized."""

    def interpolate(eval_ctx: EvalContext, message: str, variables: dict[str, Any]) -> str:
        for key, value in variables.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                variables[key] = format_decimal(value, locale=locale)
        if eval_ctx.autoescape:
            return Markup(message) % {k: _escape(v) for k, v in variables.items()}
        return message % variables

    @pass_eval_context
    def gettext(eval_ctx: EvalContext, message: str, /, **variables: Any) -> str:
        return interpolate(eval_ctx, str(translations.gettext(message)), variables)

    @pass_eval_context
    def ngettext(
        eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any
    ) -> str:
        variables.setdefault("num", num)
        return interpolate(eval_ctx, str(translations.ngettext(singular, plural, num)), variables)

    @pass_eval_context
    def pgettext(eval_ctx: EvalContext, context: str, message: str, /, **variables: Any) -> str:
        return interpolate(eval_ctx, str(translations.pgettext(context, message)), variables)

    @pass_eval_context
    def npgettext(
        eval_ctx: EvalContext,
        context: str,
        singular: str,
        plural: str,
        num: int,
        /,
        **variables: Any,
    ) -> str:
        variables.setdefault("num", num)
        message = translations.npgettext(context, singular, plural, num)
        return interpolate(eval_ctx, message, variables)

    return {
        "gettext": gettext,
        "_": gettext,
        "ngettext": ngettext,
        "pgettext": pgettext,
        "npgettext": npgettext,
    }


def _format_filters(locale: Locale) -> dict[str, Callable[..., str]]:
    """Babel filters; those showing a moment read the recipient's zone from ``tz``."""

    @pass_context
    def datetime_filter(ctx: Context, value: datetime) -> str:
        moment = as_utc(value).astimezone(ctx["tz"])
        pattern = locale.datetime_formats["medium"]
        return (
            str(pattern)
            .replace("{1}", format_date(moment, "medium", locale=locale))
            .replace("{0}", format_time(moment, "short", locale=locale))
        )

    @pass_context
    def date_filter(ctx: Context, value: datetime | date) -> str:
        if isinstance(value, datetime):
            value = as_utc(value).astimezone(ctx["tz"]).date()
        return str(format_date(value, "medium", locale=locale))

    def day_filter(value: date) -> str:
        return str(format_skeleton("Md", value, locale=locale))

    def number_filter(value: float) -> str:
        return str(format_decimal(value, locale=locale))

    def percent_filter(value: float) -> str:
        return str(format_percent(value, locale=locale))

    def duration_filter(value: timedelta) -> str:
        return str(format_timedelta(value, threshold=1.5, locale=locale))

    def signed_filter(value: int) -> str:
        """A change: "+12", "−3" (a minus sign), "±0"."""
        return _sign(value) + str(format_decimal(abs(value), locale=locale))

    def signed_percent_filter(value: float) -> str:
        return _sign(round(value * 100)) + str(format_percent(abs(value), locale=locale))

    return {
        "datetime": datetime_filter,
        "date": date_filter,
        "day": day_filter,
        "number": number_filter,
        "percent": percent_filter,
        "duration": duration_filter,
        "signed": signed_filter,
        "signed_percent": signed_percent_filter,
        "breakable": _breakable,
        "css_string": _css_string,
    }


def _sign(value: float) -> str:
    return "+" if value > 0 else "\u2212" if value < 0 else "\u00b1"


@functools.cache
def _environment(locale: str) -> Environment:
    """The locale's environment; templates compile once per process and locale."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(
            ("html", "htm", "xml", "svg"), default_for_string=True, default=False
        ),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # Set before the extension, which only adds attributes that are missing: {% trans %} then
    # calls our newstyle gettext with its variables instead of formatting them itself.
    env.extend(newstyle_gettext=True)
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # babel.cfg extracts with trimmed = true as well
    babel_locale = Locale.parse(locale, sep="-")
    env.globals.update(_gettext_functions(_translations(locale), babel_locale))
    env.filters.update(_format_filters(babel_locale))
    return env


# --- public rendering -------------------------------------------------------------------------


def _context(data: ReportData) -> dict[str, Any]:
    locale = normalize_locale(data.locale)
    zone = recipient_zone(data.time_zone)
    generated = as_utc(data.generated_at).astimezone(zone)
    start, end = (as_utc(m).astimezone(zone) for m in (data.period_start, data.period_end))
    # A period ending at local midnight reads as ending the day before ("Nov 16 - 22").
    last = end - timedelta(microseconds=1) if end.time() == datetime.min.time() else end
    babel_locale = Locale.parse(locale, sep="-")
    return {
        "data": data,
        "lang": locale,
        "tz": zone,
        "zone_label": f"{data.time_zone} ({get_timezone_gmt(generated, locale=babel_locale)})",
        "period_days": format_interval(start, max(last, start), "yMMMd", locale=babel_locale),
        "period_length": data.period_end - data.period_start,
        "period_label": _period_label(data, babel_locale),
        "page_number": _PAGE_NUMBER,
        "total_pages": _TOTAL_PAGES,
    }


def _period_label(data: ReportData, locale: Locale) -> str:
    """What the report calls its window: as asked ("1 month", "3 Monate"), else its length."""
    if data.span is not None:
        unit = f"duration-{data.span.unit.value}"
        return str(format_unit(data.span.value, unit, length="long", locale=locale))
    length = data.period_end - data.period_start
    return str(format_timedelta(length, threshold=1.5, locale=locale))


def _render(template: str, data: ReportData, **extra: Any) -> str:
    context = _context(data)
    return _environment(context["lang"]).get_template(template).render(context, **extra)


def render_report_html(data: ReportData, *, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    """The whole report as one self-contained HTML document (inline CSS and SVG, no URLs)."""
    view = build_view(data, max_rows=max_rows, zone=recipient_zone(data.time_zone))
    return _render(kind_of(data.report_type).template, data, view=view)


def render_footer_html(data: ReportData) -> str:
    """Chromium ``footerTemplate``: "Page X of Y", report name and classification."""
    return _render("footer.html", data)


def render_mail(
    data: ReportData, *, encrypted: bool = False, csv_attached: bool = False
) -> MailText:
    """Subject, plain-text and HTML body in the recipient's language, and the PDF's name.

    The greeting names ``data.recipient_name``; without one (a document shared by several
    recipients) the bodies leave its line to :func:`greeting`.
    """
    subject = _render("mail/subject.txt", data)
    body = {
        "encrypted": encrypted,
        "csv_attached": csv_attached,
        "personal_line": "" if data.recipient_name else PERSONAL_LINE,
    }
    return MailText(
        subject=re.sub(r"\s+", " ", subject).strip(),  # a header: never a line break
        text_body=_render("mail/body.txt", data, **body),
        html_body=_render("mail/body.html", data, **body),
        attachment_filename=f"{attachment_basename(data)}.pdf",
    )


@dataclass(frozen=True)
class InvitationText:
    """The set-password mail's subject and plain body in the user's language."""

    subject: str
    text_body: str


def render_invitation(
    locale: str,
    *,
    name: str,
    email_address: str,
    account_name: str,
    link: str,
    token: str,
    expires: datetime,
    zone: str,
) -> InvitationText:
    """The set-password mail (``mail/invitation_*.txt``) in ``locale``: the greeting of that
    language, the link (or, without a console address, the token) and when it expires, on the
    user's clock in the locale's format. The token is the mail's only secret."""
    lang = normalize_locale(locale)
    env = _environment(lang)
    when = format_datetime(
        as_utc(expires), "medium", tzinfo=recipient_zone(zone), locale=Locale.parse(lang, sep="-")
    )
    subject = env.get_template("mail/invitation_subject.txt").render(account_name=account_name)
    body = env.get_template("mail/invitation_body.txt").render(
        greeting=greeting(lang, name).text,
        account_name=account_name,
        email_address=email_address,
        link=link,
        token=token,
        expires=when,
        zone=zone,
    )
    return InvitationText(subject=re.sub(r"\s+", " ", subject).strip(), text_body=body)


@functools.cache
def csv_headers(locale: str) -> Mapping[str, str]:
    """The CSV export's column ids and module ids -> their names in ``locale``
    (``_labels.html``: ``csv_columns`` and ``modules``), once per process and locale."""
    labels = _environment(normalize_locale(locale)).get_template("_labels.html").make_module()
    names = {**getattr(labels, "modules"), **getattr(labels, "csv_columns")}  # noqa: B009
    return {key: str(value) for key, value in names.items()}


def greeting(locale: str, name: str) -> PersonalLine:
    """``name``'s greeting in the form of ``locale`` ("Hallo Jonas Weber,", "佐藤 花子 様"),
    as the plain and the HTML line of a mail: per recipient, a few microseconds."""
    text, html = _greeting_forms(normalize_locale(locale))
    return PersonalLine(
        text=text.replace(_NAME_SLOT, name), html=html.replace(_NAME_SLOT, _escape(name))
    )


#: Stands for the name in a locale's greeting forms (random: no translation holds it).
_NAME_SLOT = f"reportd-name-{secrets.token_hex(8)}"


@functools.cache
def _greeting_forms(locale: str) -> tuple[str, str]:
    """The locale's greeting, plain and HTML, around ``_NAME_SLOT``: rendered once per
    process and locale from ``mail/greeting.*``; it holds nobody's name."""
    env = _environment(locale)
    return (
        env.get_template("mail/greeting.txt").render(name=_NAME_SLOT).strip(),
        env.get_template("mail/greeting.html").render(name=_NAME_SLOT).strip(),
    )
