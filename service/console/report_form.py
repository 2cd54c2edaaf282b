"""The report form: which report, its window, filters and recipients, as the console's JSON.

A posted form becomes the console API's JSON (the SDK's ``GenerateReportTaskParameters``
without ``recipients``, with reportd's ``attachCSV`` and custom window) and that JSON goes
through ``ReportSpec.from_api``: one parse, the spec's own rules, each refusal naming a JSON
field, which :func:`field_errors` puts beside the form field that holds it. Numbers the form
cannot read are handed on as they were typed, so the spec names them too. Dates and times
are read in a zone (the viewer's for a report sent now, the task's for a task).

Recipients are the SDK's ``Recipients``: everyone, or contacts and administrators by ID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import ImmutableMultiDict

from service.console.i18n import N_, translations
from service.delivery.ledger import Recipients
from service.errors import InvalidInput
from service.reports.kinds import BY_TYPE, KINDS
from service.reports.model import Classification, ReportFormat, ReportType, TimeUnit
from service.reports.spec import CustomRange, RelativeRange, ReportSpec
from storage.scoped import ComputerFilterType, TagFilterType

#: The HTML ``datetime-local`` form: what the form shows and reads.
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
#: The computer filters the form offers and the form field holding each one's ID.
COMPUTER_FILTER_FIELDS: dict[ComputerFilterType, str] = {
    ComputerFilterType.all_computers: "",
    ComputerFilterType.computer: "computer_id",
    ComputerFilterType.computers_in_group: "group_id",
    ComputerFilterType.computers_in_group_or_subgroup: "group_id",
    ComputerFilterType.computers_using_policy: "policy_id",
    ComputerFilterType.computers_using_policy_or_subpolicy: "policy_id",
    ComputerFilterType.computers_in_smart_folder: "folder_id",
}
#: The JSON name of each ID field.
ID_FIELDS = {
    "computer_id": "computerID",
    "group_id": "computerGroupID",
    "policy_id": "policyID",
    "folder_id": "smartFolderID",
}
COMPUTER_FILTERS: dict[str, str] = {
    ComputerFilterType.all_computers.value: N_("All computers"),
    ComputerFilterType.computer.value: N_("One computer"),
    ComputerFilterType.computers_in_group.value: N_("Computers in a group"),
    ComputerFilterType.computers_in_group_or_subgroup.value: N_(
        "Computers in a group or its sub-groups"
    ),
    ComputerFilterType.computers_using_policy.value: N_("Computers using a policy"),
    ComputerFilterType.computers_using_policy_or_subpolicy.value: N_(
        "Computers using a policy or its child policies"
    ),
    ComputerFilterType.computers_in_smart_folder.value: N_("Computers in a smart folder"),
}
TAG_FILTERS: dict[str, str] = {
    TagFilterType.all.value: N_("Any tags"),
    TagFilterType.untagged.value: N_("Untagged computers only"),
    TagFilterType.specific_tags.value: N_("Computers with these tags"),
}
CLASSIFICATIONS: dict[str, str] = {
    Classification.blank.value: N_("None"),
    Classification.unclassified.value: N_("Unclassified"),
    Classification.internal.value: N_("Internal use only"),
    Classification.limited.value: N_("Limited distribution"),
    Classification.official.value: N_("Official"),
    Classification.confidential.value: N_("Confidential"),
    Classification.les.value: N_("Law enforcement sensitive"),
    Classification.secret.value: N_("Secret"),
    Classification.topsecret.value: N_("Top secret"),
}
UNITS: dict[str, str] = {
    TimeUnit.hour.value: N_("hours"),
    TimeUnit.day.value: N_("days"),
    TimeUnit.week.value: N_("weeks"),
    TimeUnit.month.value: N_("months"),
}
FORMATS: dict[str, str] = {
    ReportFormat.pdf.value: N_("PDF"),
    ReportFormat.csv.value: N_("CSV (the rows, for a spreadsheet)"),
}
#: JSON field (below the report) -> the form field showing its error; the longest match wins.
REPORT_FIELDS: dict[str, str] = {
    "reportTemplateID": "template_id",
    "format": "format",
    "classification": "classification",
    "timeRange": "value",
    "timeRange.units": "units",
    "timeRange.value": "value",
    "timeRange.startTime": "report_start",
    "timeRange.endTime": "report_end",
    "computerFilter": "computer_filter",
    "computerFilter.type": "computer_filter",
    "computerFilter.computerID": "computer_id",
    "computerFilter.computerGroupID": "group_id",
    "computerFilter.policyID": "policy_id",
    "computerFilter.smartFolderID": "folder_id",
    "tagFilter": "tags",
    "tagFilter.type": "tag_filter",
    "tagFilter.tags": "tags",
    "attachCSV": "attach_csv",
    "report": "format",
    "recipients": "recipients",
    "contactIDs": "recipients",
    "administratorIDs": "recipients",
}


class Own(str):
    """An error of the form's own: a message id, translated before the page shows it (the
    services' refusals are shown as they are, never run through the catalog)."""

    __slots__ = ()


#: Said when a date and time field cannot be read at all.
UNREADABLE_TIME = Own(N_("Enter a date and a time (for example 2026-03-01 08:00)."))
NOBODY = Own(N_("Choose at least one recipient, or everyone."))


def said(errors: Mapping[str, str], locale: str) -> dict[str, str]:
    """``errors`` as the page shows them: the form's own translated into ``locale``."""
    catalog = translations(locale)
    return {k: catalog.gettext(v) if isinstance(v, Own) else v for k, v in errors.items()}


def options(labels: Mapping[str, str], locale: str) -> list[tuple[str, str]]:
    """(value, label in ``locale``) of a table of message ids, for a select's options."""
    catalog = translations(locale)
    return [(value, catalog.gettext(label)) for value, label in labels.items()]


Posted = ImmutableMultiDict[str, Any]


def text(form: Posted, name: str) -> str:
    """A text field of a posted form or a query ("" when absent; files are not text)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _number(value: str) -> Any:
    """A whole number as typed; anything else as it is, for the spec to name and refuse."""
    stripped = value.strip()
    return int(stripped) if stripped.isdigit() and len(stripped) < 16 else stripped


def read_local(value: str, zone: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` value in ``zone`` (the first showing of a repeated time), or None."""
    try:
        naive = datetime.strptime(value.strip(), LOCAL_FORMAT)
    except ValueError:
        return None
    return naive.replace(tzinfo=zone).astimezone(UTC)


def show_local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime(LOCAL_FORMAT)


def _millis(value: str, zone: ZoneInfo) -> Any:
    moment = read_local(value, zone)
    return value.strip() if moment is None else round(moment.timestamp() * 1000)


def field_errors(
    error: InvalidInput, fields: Mapping[str, str], *, strip: str = ""
) -> dict[str, str]:
    """The refusal's problems by form field: each ``json.path: message`` goes to the field of
    the longest known prefix of its path (below ``strip``), the rest to ``form``."""
    found: dict[str, str] = {}
    for problem in str(error).split("; "):
        path, _, _ = problem.partition(":")
        path = path.strip().removeprefix(strip)
        parts = path.split(".")
        name = "form"
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in fields:
                name = fields[".".join(parts[:end])]
                break
        found.setdefault(name, problem)
    return found


@dataclass
class ReportForm:
    """What the report part of a form holds, as typed."""

    template_id: str = str(BY_TYPE[ReportType.summary].template_id)
    format: str = ReportFormat.pdf.value
    classification: str = Classification.blank.value
    window: str = "relative"
    units: str = TimeUnit.day.value
    value: str = "7"
    start: str = ""
    end: str = ""
    computer_filter: str = ComputerFilterType.all_computers.value
    computer_id: str = ""
    group_id: str = ""
    policy_id: str = ""
    folder_id: str = ""
    tag_filter: str = TagFilterType.all.value
    tags: str = ""
    attach_csv: bool = False

    @classmethod
    def posted(cls, form: Posted) -> ReportForm:
        return cls(
            template_id=text(form, "template_id"),
            format=text(form, "format") or ReportFormat.pdf.value,
            classification=text(form, "classification") or Classification.blank.value,
            window="custom" if text(form, "window") == "custom" else "relative",
            units=text(form, "units"),
            value=text(form, "value"),
            start=text(form, "report_start"),
            end=text(form, "report_end"),
            computer_filter=text(form, "computer_filter") or ComputerFilterType.all_computers.value,
            computer_id=text(form, "computer_id"),
            group_id=text(form, "group_id"),
            policy_id=text(form, "policy_id"),
            folder_id=text(form, "folder_id"),
            tag_filter=text(form, "tag_filter") or TagFilterType.all.value,
            tags=text(form, "tags"),
            attach_csv=text(form, "attach_csv") == "on",
        )

    @classmethod
    def of(cls, spec: ReportSpec, zone: ZoneInfo) -> ReportForm:
        """The form showing a stored spec (a task's), its times in ``zone``."""
        window = spec.time_range
        computers, tags = spec.computer_filter, spec.tag_filter
        form = cls(
            template_id=str(spec.report_template_id),
            format=spec.format.value,
            classification=spec.classification.value,
            computer_filter=computers.type.value,
            computer_id=str(computers.computer_id or ""),
            group_id=str(computers.computer_group_id or ""),
            policy_id=str(computers.policy_id or ""),
            folder_id=str(computers.smart_folder_id or ""),
            tag_filter=tags.type.value,
            tags=", ".join(tags.tags or ()),
            attach_csv=spec.attach_csv,
        )
        if isinstance(window, CustomRange):
            form.window = "custom"
            form.start, form.end = show_local(window.start, zone), show_local(window.end, zone)
        elif isinstance(window, RelativeRange):
            form.units, form.value = window.units.value, str(window.value)
        return form

    def to_api(self, zone: ZoneInfo) -> dict[str, Any]:
        """The console's JSON of the form, as typed (the spec decides what it accepts)."""
        data: dict[str, Any] = {
            "reportTemplateID": _number(self.template_id),
            "format": self.format,
            "classification": self.classification,
            "attachCSV": self.attach_csv,
        }
        if self.window == "custom":
            data["timeRange"] = {
                "startTime": _millis(self.start, zone),
                "endTime": _millis(self.end, zone),
            }
        else:
            data["timeRange"] = {"units": self.units, "value": _number(self.value)}
        computers: dict[str, Any] = {"type": self.computer_filter}
        try:
            id_field = COMPUTER_FILTER_FIELDS.get(ComputerFilterType(self.computer_filter), "")
        except ValueError:
            id_field = ""
        if id_field:
            computers[ID_FIELDS[id_field]] = _number(getattr(self, id_field))
        data["computerFilter"] = computers
        tags: dict[str, Any] = {"type": self.tag_filter}
        if self.tag_filter == TagFilterType.specific_tags.value:
            tags["tags"] = [tag.strip() for tag in self.tags.split(",") if tag.strip()]
        data["tagFilter"] = tags
        return data

    def unreadable(self, zone: ZoneInfo) -> dict[str, str]:
        """The custom window's times the form cannot read (message ids, to translate)."""
        if self.window != "custom":
            return {}
        return {
            name: UNREADABLE_TIME
            for name, value in (("report_start", self.start), ("report_end", self.end))
            if read_local(value, zone) is None
        }

    def errors_of(self, error: InvalidInput, *, below: str = "") -> dict[str, str]:
        """The spec's refusals by form field (a whole custom window's beside its end)."""
        fields = {f"{below}{path}": name for path, name in REPORT_FIELDS.items()}
        found = field_errors(error, fields)
        if self.window == "custom" and "value" in found:
            found["report_end"] = found.pop("value")
        return found

    def spec(self, zone: ZoneInfo) -> ReportSpec:
        """The form's report, or ``InvalidInput`` naming the JSON fields it refuses."""
        return ReportSpec.from_api(self.to_api(zone))


#: The picker's search field; its page buttons' field; the form's button that searches.
PICKER_SEARCH, PICKER_OFFSET, FIND_CONTACTS = "contact_q", "contact_offset", "find-contacts"


def picker_search(form: Posted) -> str:
    return text(form, PICKER_SEARCH).strip()[:200]


def picker_offset(form: Posted) -> int:
    raw = text(form, PICKER_OFFSET)
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


def browsing_contacts(form: Posted) -> bool:
    """Was the form posted to search the contact picker or turn its page (its Search or page
    buttons, or Enter in its search field, without JavaScript)? Then nothing is saved or sent:
    the form comes back with the contacts found."""
    return text(form, "action") == FIND_CONTACTS or PICKER_OFFSET in form


@dataclass
class RecipientsForm:
    """Everyone, or the ticked contacts and administrators."""

    everyone: bool = False
    contact_ids: list[int] = field(default_factory=list)
    administrator_ids: list[int] = field(default_factory=list)
    #: The contact picker's search and page (not part of the recipients).
    contact_search: str = ""
    contact_offset: int = 0

    @classmethod
    def posted(cls, form: Posted) -> RecipientsForm:
        return cls(
            everyone=text(form, "everyone") == "on",
            contact_ids=_ids(form.getlist("contact")),
            administrator_ids=_ids(form.getlist("administrator")),
            contact_search=picker_search(form),
            contact_offset=picker_offset(form),
        )

    @classmethod
    def of(cls, recipients: Mapping[str, Any]) -> RecipientsForm:
        return cls(
            everyone=bool(recipients.get("allAdministratorsAndContacts")),
            contact_ids=[int(i) for i in recipients.get("contactIDs") or ()],
            administrator_ids=[int(i) for i in recipients.get("administratorIDs") or ()],
        )

    @property
    def named(self) -> bool:
        return self.everyone or bool(self.contact_ids or self.administrator_ids)

    def recipients(self) -> Recipients:
        """The ledger's recipients (a report sent now)."""
        return Recipients(
            all_contacts=self.everyone,
            all_users=self.everyone,
            contact_ids=tuple(self.contact_ids),
            user_ids=tuple(self.administrator_ids),
        )

    def to_api(self) -> dict[str, Any]:
        """The SDK's ``Recipients`` (a task's)."""
        if self.everyone:
            return {"allAdministratorsAndContacts": True}
        data: dict[str, Any] = {}
        if self.contact_ids:
            data["contactIDs"] = self.contact_ids
        if self.administrator_ids:
            data["administratorIDs"] = self.administrator_ids
        return data


def _ids(values: Iterable[Any]) -> list[int]:
    return sorted({int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) < 12})


def kind_options(titles: Mapping[str, str]) -> list[tuple[str, str]]:
    """(reportTemplateID, title) of every kind, in the kinds table's order."""
    return [(str(k.template_id), titles.get(k.report_type.value, k.title)) for k in KINDS]
