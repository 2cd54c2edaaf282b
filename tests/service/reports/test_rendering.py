"""Report HTML, PDF header/footer and mail text: every type, every locale, hostile data."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from service.errors import InvalidInput
from service.reports.locales import SUPPORTED_LOCALES, normalize_locale
from service.reports.model import (
    AlertRow,
    AppliedFilter,
    Classification,
    ComputerRow,
    EventModule,
    EventRow,
    FilterKind,
    PeriodCounts,
    PeriodSpan,
    PolicyRow,
    ReportData,
    ReportType,
    SystemEventRow,
    TimeUnit,
)
from service.reports.personal import PERSONAL_LINE
from service.reports.rendering import (
    DEFAULT_MAX_ROWS,
    greeting,
    holds_nothing,
    render_footer_html,
    render_mail,
    render_report_html,
)

#: The moment of the sample events: 2026-11-21 00:00 in Tokyo, 10:00 in New York.
EVENT_TIME = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><iframe src="file:///etc/passwd">',
    "</style><style>body{background:url(http://127.0.0.1/x)}",
)


def make_report(
    report_type: ReportType = ReportType.summary, locale: str = "en-US", **changes: object
) -> ReportData:
    """A small report: two computers, an event of every module on web-01, an alert, a system
    event; ``changes`` replace ReportData fields."""
    computers = [
        ComputerRow(
            id=1,
            host_name="web-01.example.internal",
            display_name="web-01",
            platform="Ubuntu Linux 22.04 (64 bit)",
            group_path="Root / Web",
            policy_name="Linux Server",
            agent_status="active",
            last_communication=EVENT_TIME,
            tags=("prod",),
            modules=("anti-malware", "firewall"),
        ),
        ComputerRow(
            id=2,
            host_name="db-02",
            display_name="データベース02",
            platform="Windows",
            group_path="",
            policy_name=None,
            agent_status="offline",
            last_communication=None,
        ),
    ]
    events = [
        EventRow(
            id=index,
            time=EVENT_TIME,
            module=module.value,
            severity="high",
            computer_id=1,
            computer_name="web-01",
            name=f"rule-{module.value}",
            action="blocked",
            details="details",
        )
        for index, module in enumerate(EventModule)
    ]
    fields: dict[str, object] = dict(
        report_type=report_type,
        account_name="Example Corp",
        recipient_name="Alex Doe",
        locale=locale,
        time_zone="Asia/Tokyo",
        period_start=datetime(2026, 11, 15, 15, 0, tzinfo=UTC),
        period_end=datetime(2026, 11, 22, 15, 0, tzinfo=UTC),
        generated_at=datetime(2026, 11, 22, 15, 5, tzinfo=UTC),
        computers=computers,
        events=events,
        alerts=[
            AlertRow(
                id=1,
                raised=EVENT_TIME,
                severity="critical",
                name="Agent offline",
                description="No heartbeat",
                computer_id=1,
                computer_name="web-01",
                dismissed=False,
            ),
        ],
        system_events=[
            SystemEventRow(
                id=1,
                time=EVENT_TIME,
                event_code=600,
                level="info",
                name="User signed in",
                description="",
                computer_id=1,
                computer_name="web-01",
                actor="admin",
            ),
        ],
        policies=[PolicyRow(id=1, name="Linux Server", parent_name="Base Policy")],
    )
    fields.update(changes)
    return ReportData(**fields)  # type: ignore[arg-type]


def many_events(count: int, module: EventModule = EventModule.anti_malware) -> list[EventRow]:
    return [
        EventRow(
            id=i,
            time=EVENT_TIME - timedelta(minutes=i),
            module=module.value,
            severity="low",
            computer_id=1,
            computer_name="web-01",
            name=f"event-{i}",
            action="detected",
            details="details",
        )
        for i in range(count)
    ]


class TagCollector(HTMLParser):
    """The start tags and attributes of a document, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def start_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector.tags


@pytest.mark.parametrize("report_type", list(ReportType))
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_given_sample_data_when_rendering_each_type_and_locale_then_html_is_complete(
    report_type, locale
):
    # Given a report with computers, events of every module, an alert and a system event
    data = make_report(report_type, locale)

    # When it is rendered (StrictUndefined: any missing variable raises)
    html = render_report_html(data)

    # Then it is a whole document in the recipient's language naming the computer
    assert html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{locale}">' in html
    assert "web-01" in html
    assert "Example Corp" in html
    assert html.rstrip().endswith("</html>")
    assert "url(" not in html
    assert "<script" not in html


@pytest.mark.parametrize("report_type", [ReportType.computer, ReportType.security_module_usage])
def test_given_computers_when_rendering_computer_reports_then_every_computer_is_listed(
    report_type,
):
    html = render_report_html(make_report(report_type))

    assert "web-01" in html
    assert "データベース02" in html


@pytest.mark.parametrize("report_type", list(ReportType))
def test_given_hostile_names_when_rendering_then_they_are_escaped_and_inert(report_type):
    # Given names and texts an attacker controls, everywhere a string goes into a report
    text = " ".join(HOSTILE)
    computer = ComputerRow(
        id=1,
        host_name=text,
        display_name=text,
        platform=text,
        group_path=text,
        policy_name=text,
        agent_status=text,
        last_communication=EVENT_TIME,
        tags=HOSTILE,
        modules=(),
    )
    events = [
        EventRow(
            id=i,
            time=EVENT_TIME,
            module=m.value,
            severity=text,
            computer_id=1,
            computer_name=text,
            name=text,
            action=text,
            details=text,
        )
        for i, m in enumerate(EventModule)
    ]
    data = make_report(
        report_type,
        account_name=text,
        recipient_name=text,
        computers=[computer],
        events=events,
        alerts=[
            AlertRow(
                id=1,
                raised=EVENT_TIME,
                severity=text,
                name=text,
                description=text,
                computer_id=1,
                computer_name=text,
                dismissed=False,
            )
        ],
        system_events=[
            SystemEventRow(
                id=1,
                time=EVENT_TIME,
                event_code=1,
                level=text,
                name=text,
                description=text,
                computer_id=1,
                computer_name=text,
                actor=text,
            )
        ],
        policies=[PolicyRow(id=1, name=text, parent_name=text)],
        classification=Classification.secret,
    )

    # When the report, the PDF footer and the HTML mail are rendered
    mail = render_mail(data)
    outputs = [render_report_html(data), render_footer_html(data), mail.html_body]

    # Then the text is shown escaped, and no tag, style or URL from the data reaches a browser
    for html in outputs:
        assert "&lt;script&gt;alert&#40;1)&lt;/script&gt;" in html
        assert "url(" not in html.lower()
        tags = start_tags(html)
        names = [tag for tag, _attrs in tags]
        assert not {"script", "img", "iframe", "link", "object", "embed"} & set(names)
        assert names.count("style") <= 1
        for _tag, attrs in tags:
            assert "onerror" not in attrs
            for attribute in ("src", "href"):
                value = (attrs.get(attribute) or "").lower()
                assert not re.match(r"\s*(https?|file|javascript):", value)
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_given_a_japanese_recipient_when_rendering_the_summary_then_labels_are_japanese():
    html = render_report_html(make_report(ReportType.summary, "ja-JP"))

    for label in (
        "サマリーレポート",
        "不正プログラム対策",
        "Webレピュテーション",
        "ファイアウォール",
        "侵入防御",
        "変更監視",
        "セキュリティログ監視",
        "アプリケーションコントロール",
        "システムイベント",
        "レポート期間",
    ):
        assert label in html
    assert "Summary Report" not in html


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("ja-JP", "Asia/Tokyo", "2026/11/21 0:00"),
        ("en-US", "America/New_York", "Nov 20, 2026, 10:00\u202fAM"),
        ("de-DE", "Europe/Berlin", "20.11.2026, 16:00"),
        ("fr-FR", "Europe/Paris", "20 nov. 2026, 16:00"),
    ],
)
def test_given_an_event_at_15_utc_when_rendering_then_its_time_is_local_and_localized(
    locale, zone, expected
):
    # Given an event at 2026-11-20T15:00Z and a recipient in ``zone``
    data = make_report(ReportType.anti_malware, locale, time_zone=zone)

    # When the report is rendered
    html = render_report_html(data)

    # Then the event's time reads in the recipient's zone and the locale's format
    assert expected in html


def test_given_more_events_than_the_cap_when_rendering_then_a_note_counts_the_rest():
    # Given 1,434 Anti-Malware events, 1,234 over the default cap
    data = make_report(ReportType.anti_malware, events=many_events(DEFAULT_MAX_ROWS + 1234))

    # When the report is rendered in English and German
    english = render_report_html(data)
    german = render_report_html(dataclasses.replace(data, locale="de-DE"))

    # Then the table stops at the cap and a note, with a localized number, points to the CSV
    assert english.count('class="details"') == DEFAULT_MAX_ROWS
    assert "1,234 more rows are in the CSV export." in english
    assert "1.234 weitere Zeilen stehen im CSV-Export." in german


def test_given_one_row_over_the_cap_when_rendering_then_the_note_is_singular():
    data = make_report(ReportType.anti_malware, events=many_events(6))

    html = render_report_html(data, max_rows=5)

    assert html.count('class="details"') == 5
    assert "1 more row is in the CSV export." in html


def test_given_rows_the_pipeline_left_out_when_rendering_then_the_note_counts_them():
    data = make_report(ReportType.alert, truncated={"alerts": 7})

    html = render_report_html(data)

    assert "7 more rows are in the CSV export." in html


def test_given_no_truncation_when_rendering_then_there_is_no_note():
    html = render_report_html(make_report(ReportType.anti_malware))

    assert "CSV export" not in html


@pytest.mark.parametrize("report_type", list(ReportType))
@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "There is nothing to show for this report's scope and period."),
        ("ja-JP", "このレポートの対象範囲と期間には、表示する内容がありません。"),
    ],
)
def test_given_an_empty_scope_when_rendering_then_the_report_says_nothing_to_show(
    report_type, locale, expected
):
    # Given a report whose scope holds nothing
    data = make_report(
        report_type, locale, computers=[], events=[], alerts=[], system_events=[], policies=[]
    )

    # When it is rendered
    html = render_report_html(data)

    # Then it is still a report, saying there is nothing to show
    assert expected in html
    assert "<table" not in html


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ja-JP", "ja-JP"),
        ("ja_JP", "ja-JP"),
        ("ja-jp", "ja-JP"),
        ("JA_jp", "ja-JP"),
        (" zh-tw ", "zh-TW"),
        ("zh-Hant-TW", "zh-TW"),
        ("pt_br", "pt-BR"),
        ("de", "de-DE"),
    ],
)
def test_given_a_variant_of_a_supported_tag_when_normalizing_then_the_canonical_tag(tag, expected):
    assert normalize_locale(tag) == expected


@pytest.mark.parametrize("tag", ["xx-YY", "", "zh", "de-AT"])
def test_given_an_unsupported_tag_when_normalizing_then_invalid_input_names_it(tag):
    with pytest.raises(InvalidInput, match=re.escape(repr(tag))):
        normalize_locale(tag)


def test_given_an_unknown_time_zone_when_rendering_then_invalid_input_names_it():
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        render_report_html(make_report(time_zone="Mars/Olympus"))


@pytest.mark.parametrize(
    ("locale", "subject_part", "body_part"),
    [
        ("ja-JP", "サマリーレポート", "Alex Doe 様"),
        ("de-DE", "Übersichtsbericht für Example Corp", "Hallo Alex Doe,"),
    ],
)
def test_given_a_recipient_language_when_rendering_the_mail_then_it_is_translated(
    locale, subject_part, body_part
):
    # Given a Summary for a recipient reading ``locale``, with a classification
    data = make_report(ReportType.summary, locale, classification=Classification.confidential)

    # When the mail is rendered
    mail = render_mail(data, encrypted=True, csv_attached=True)

    # Then subject and both bodies are in that language and the file name stays ASCII
    assert subject_part in mail.subject
    assert body_part in mail.text_body
    assert body_part in mail.html_body
    assert f'<html lang="{locale}">' in mail.html_body
    assert mail.attachment_filename == "Summary-Report_2026-11-23.pdf"
    assert mail.attachment_filename.isascii()


#: Each locale's greeting of Jonas Weber, in the form its readers expect.
GREETINGS = {
    "en-US": "Hello Jonas Weber,",
    "ja-JP": "Jonas Weber 様",
    "zh-CN": "Jonas Weber，您好：",
    "zh-TW": "Jonas Weber 您好：",
    "ko-KR": "Jonas Weber 님, 안녕하세요.",
    "de-DE": "Hallo Jonas Weber,",
    "fr-FR": "Bonjour Jonas Weber,",
    "es-ES": "Hola, Jonas Weber:",
    "pt-BR": "Olá, Jonas Weber,",
    "it-IT": "Gentile Jonas Weber,",
}


def test_given_a_shared_document_when_rendering_the_mail_then_the_greeting_line_is_left_open():
    # Given a document shared by several recipients (no recipient name in it)
    data = make_report(locale="de-DE", recipient_name="")

    # When its mail text is rendered
    mail = render_mail(data, encrypted=True)

    # Then each body leaves one line, of its own, to each recipient's greeting
    assert mail.text_body.splitlines().count(PERSONAL_LINE) == 1
    assert mail.html_body.splitlines().count(PERSONAL_LINE) == 1
    assert "Hallo" not in mail.text_body and "Hallo" not in mail.html_body


@pytest.mark.parametrize("locale", sorted(GREETINGS))
def test_given_a_recipient_when_greeting_then_the_name_is_in_the_form_of_the_locale(locale):
    line = greeting(locale, "Jonas Weber")

    assert line.text == GREETINGS[locale]
    assert line.html == f"<p>{GREETINGS[locale]}</p>"


def test_given_markup_in_a_name_when_greeting_then_the_html_line_escapes_it():
    line = greeting("ja-JP", "<b>佐藤</b> & 花子")

    assert line.text == "<b>佐藤</b> & 花子 様"
    assert line.html == "<p>&lt;b&gt;佐藤&lt;/b&gt; &amp; 花子 様</p>"


def test_given_a_classification_when_rendering_the_mail_then_subject_and_body_carry_it():
    data = make_report(locale="fr-FR", classification=Classification.topsecret)

    mail = render_mail(data)

    assert mail.subject.startswith("[TRÈS SECRET] ")
    assert mail.text_body.startswith("TRÈS SECRET")


@pytest.mark.parametrize(
    ("locale", "words"), [("en-US", "Page"), ("ja-JP", "ページ"), ("de-DE", "Seite")]
)
def test_given_a_report_when_rendering_the_footer_then_chromium_fills_page_x_of_y(locale, words):
    footer = render_footer_html(make_report(locale=locale))

    assert '<span class="pageNumber"></span>' in footer
    assert '<span class="totalPages"></span>' in footer
    assert words in footer
    assert "font-size: 8px" in footer


def test_given_a_classification_when_rendering_then_every_page_has_the_banner():
    # Given a Japanese report marked secret, and one without a classification
    secret = render_report_html(make_report(locale="ja-JP", classification=Classification.secret))
    blank = render_report_html(make_report(classification=Classification.blank))

    # Then the marked one prints its translated label in the top page margin (a CSS string)
    banner = re.search(r"@top-center \{\s*content: \"([^\"]*)\";", secret)
    assert banner is not None
    assert banner.group(1) == "秘"
    assert not re.search(r"@top-center \{\s*content", blank)


def test_given_a_long_period_when_rendering_then_a_bar_covers_several_days():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    data = make_report(
        ReportType.anti_malware,
        period_start=start,
        time_zone="UTC",
        period_end=start + timedelta(days=365),
    )

    html = render_report_html(data)

    assert "Each bar is 12 days." in html


# What the report says it holds, and how it reads


@pytest.mark.parametrize(
    ("applied", "locale", "expected"),
    [
        (AppliedFilter(FilterKind.computer, "web-01"), "en-US", "Only web-01"),
        (
            AppliedFilter(FilterKind.group_tree, "Datacenter Tokyo / Web Servers"),
            "en-US",
            "In group Datacenter Tokyo / Web Servers and its subgroups",
        ),
        (AppliedFilter(FilterKind.group, "Laptops"), "de-DE", "In der Gruppe Laptops"),
        (AppliedFilter(FilterKind.policy, "Linux Server"), "ja-JP", "ポリシー Linux Server を使用"),
        (
            AppliedFilter(FilterKind.policy_tree, "#12"),
            "en-US",
            "Using policy #12 or one of its sub-policies",
        ),
        (AppliedFilter(FilterKind.tags, "pci, prod"), "fr-FR", "Avec les balises pci, prod"),
        (AppliedFilter(FilterKind.untagged), "en-US", "Untagged computers only"),
    ],
)
def test_given_a_filtered_report_when_rendering_then_its_title_names_the_filter(
    applied, locale, expected
):
    # Given a report narrowed by a filter of its own
    data = make_report(ReportType.computer, locale, filters=(applied,))

    # When it is rendered
    html = render_report_html(data)

    # Then the title block names it, beside the period and the zone
    title = html[html.index('<dl class="facts">') : html.index("</dl>")]
    assert expected in title.replace("<wbr>", "")


def test_given_no_filter_when_rendering_then_the_title_names_none():
    html = render_report_html(make_report(ReportType.computer))

    assert 'class="filter"' not in html


def test_given_names_with_dots_and_at_when_rendering_then_they_break_there_and_are_not_cut():
    # Given a long host name, a group path and an address, in narrow columns
    host = "frontend-cache-node-0042.tokyo.datacenter.example.internal"
    computer = ComputerRow(
        id=1,
        host_name=host,
        display_name=host,
        platform="Ubuntu Linux 22.04 (64 bit)",
        group_path="Datacenter Tokyo / Web Servers / Frontend",
        policy_name="Linux Server",
        agent_status="active",
        last_communication=EVENT_TIME,
    )
    system_event = SystemEventRow(
        id=1,
        time=EVENT_TIME,
        event_code=600,
        level="info",
        name="User Signed In",
        description="",
        computer_id=None,
        computer_name=None,
        actor="operations.team@example.com",
    )
    data = make_report(ReportType.summary, computers=[computer], system_events=[system_event])
    computers_html = render_report_html(dataclasses.replace(data, report_type=ReportType.computer))
    summary_html = render_report_html(data)

    # Then they wrap after dots and @ only, and nothing is cut with an ellipsis
    assert "frontend-cache-node-0042.<wbr>tokyo.<wbr>datacenter.<wbr>example.<wbr>internal" in (
        computers_html
    )
    assert "operations.<wbr>team@<wbr>example.<wbr>com" in summary_html
    assert "…" not in computers_html + summary_html


def test_given_a_column_no_row_fills_when_rendering_then_it_is_left_out():
    # Given system events with no description and about no computer
    event = SystemEventRow(
        id=1,
        time=EVENT_TIME,
        event_code=600,
        level="info",
        name="User Signed In",
        description="",
        computer_id=None,
        computer_name=None,
        actor="admin",
    )

    html = render_report_html(make_report(ReportType.system_event, system_events=[event]))

    table = html[html.index("<table>", html.index("System events</h2>")) :]
    assert "<th>Description</th>" not in table and "<th>Computer</th>" not in table
    assert "<th>Performed by</th>" in table


def test_given_severities_when_rendering_then_each_has_a_mark_of_its_own_and_a_legend():
    # Given events of every severity
    events = [
        EventRow(
            id=index,
            time=EVENT_TIME,
            module="firewall",
            severity=severity,
            computer_id=1,
            computer_name="web-01",
            name="rule",
            action="blocked",
            details="",
        )
        for index, severity in enumerate(("critical", "high", "medium", "low"))
    ]

    html = render_report_html(make_report(ReportType.firewall, events=events))

    # Then tables and charts mark each severity (a shape and a colour) and a legend explains
    # the stacked bars
    for severity in ("critical", "high", "medium", "low"):
        assert f"mark mark-{severity}" in html
        assert f"fill-{severity}" in html
    legend = html[html.index('<p class="legend">') :]
    assert all(name in legend[: legend.index("</p>")] for name in ("Critical", "High", "Low"))


def test_given_the_previous_period_when_rendering_the_summary_then_figures_show_the_change():
    # Given a Summary whose previous week had 3 security events and as many system events
    data = make_report(
        ReportType.summary,
        previous=PeriodCounts(
            period_start=datetime(2026, 11, 8, 15, 0, tzinfo=UTC),
            period_end=datetime(2026, 11, 15, 15, 0, tzinfo=UTC),
            events=3,
            alerts=0,
            system_events=1,
        ),
    )

    # When it is rendered
    html = render_report_html(data)

    # Then each figure reads against the previous period of the same length
    assert "Previous 7 days: 3" in html and "+4, +133%" in html  # 7 events now
    assert "Previous 7 days: 0" in html and "(▲ +1)" in html  # one alert, none before
    assert "±0" in html  # one system event, as before


def test_given_a_summary_when_rendering_then_it_ends_with_where_every_row_is_not_raw_rows():
    html = render_report_html(make_report(ReportType.summary, events=many_events(40)))

    assert "Where every row is" in html
    tail = html[html.index("Where every row is") :]
    assert "Anti-Malware Report" in tail and "Alert Report" in tail
    assert "<th>Details</th>" not in html  # no table of raw events
    assert html.count("event-") <= 10  # the top ten names only


@pytest.mark.parametrize(
    ("locale", "asked", "expected"),
    [
        ("de-DE", PeriodSpan(1, TimeUnit.month), "(1 Monat)"),
        ("en-US", PeriodSpan(3, TimeUnit.month), "(3 months)"),
        ("ja-JP", PeriodSpan(1, TimeUnit.month), "(1 か月)"),
        ("en-US", PeriodSpan(24, TimeUnit.hour), "(24 hours)"),
        ("de-DE", None, "(4 Wochen)"),  # a window asked some other way: its length
    ],
)
def test_given_the_last_months_when_rendering_then_the_period_is_called_months(
    locale, asked, expected
):
    # Given a report of the month before 1 April in Tokyo (29 days: "4 weeks" by length)
    data = make_report(
        ReportType.computer,
        locale,
        period_start=datetime(2026, 2, 28, 15, 0, tzinfo=UTC),
        period_end=datetime(2026, 3, 31, 15, 0, tzinfo=UTC),
        span=asked,
    )

    # When it is rendered, Then its title calls the period as it was asked
    html = render_report_html(data)
    period = html[html.index("<dd>", html.index('<dl class="facts">')) :]
    assert expected in period[: period.index("</dd>")]


@pytest.mark.parametrize(
    ("report_type", "changes", "empty"),
    [
        # a Summary listing computers but nothing of its period holds nothing
        (ReportType.summary, {"events": [], "alerts": [], "system_events": []}, True),
        (ReportType.summary, {"events": [], "system_events": []}, False),  # an alert
        (ReportType.firewall, {"events": []}, True),
        (ReportType.firewall, {}, False),
        (ReportType.alert, {"alerts": []}, True),
        (ReportType.system_event, {}, False),
        # kinds of no period: their computers
        (ReportType.computer, {"events": [], "alerts": [], "system_events": []}, False),
        (ReportType.security_module_usage, {"computers": []}, True),
    ],
)
def test_given_a_report_when_asked_whether_it_holds_nothing_then_its_kinds_content_decides(
    report_type, changes, empty
):
    # Given a report of this kind, When asked what skipIfEmpty asks, Then its content decides
    assert holds_nothing(make_report(report_type, **changes)) is empty
