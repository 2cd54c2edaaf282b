"""The table of field rules: what each type refuses, the limits behind them, and the
documentation generated from it."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest

from service import fields
from service.errors import InvalidInput
from service.fields import (
    ID,
    MAX_ID,
    Description,
    EmailAddress,
    EventText,
    HostName,
    Label,
    Name,
    ReportPassword,
    SearchID,
    TimeZone,
    check,
)

ROOT = Path(__file__).resolve().parents[2]
ONE_LINE = [Name, HostName, Label]
MULTI_LINE = [Description, EventText]


@pytest.mark.parametrize("kind", ONE_LINE + MULTI_LINE + [ReportPassword])
@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\x7fb", "a\x85b", "a\ud800b"])
def test_every_text_rule_refuses_nul_control_characters_and_surrogates(
    kind: object, bad: str
) -> None:
    with pytest.raises(InvalidInput, match="^field: "):
        check(kind, bad, "field")


@pytest.mark.parametrize("kind", ONE_LINE)
@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\tb", "a\u2028b"])
def test_one_line_rules_refuse_line_breaks_that_would_forge_an_audit_line(
    kind: object, bad: str
) -> None:
    with pytest.raises(InvalidInput, match="one line"):
        check(kind, bad, "name")


@pytest.mark.parametrize("kind", MULTI_LINE)
def test_multi_line_text_keeps_tabs_and_line_breaks(kind: object) -> None:
    assert check(kind, "first\tline\r\nsecond", "description") == "first\tline\r\nsecond"


def test_names_are_stripped_and_bounded() -> None:
    assert check(Name, "  Kim  ", "name") == "Kim"
    assert check(Name, "x" * 255, "name") == "x" * 255
    with pytest.raises(InvalidInput, match="name: String should have at most 255"):
        check(Name, "x" * 256, "name")
    with pytest.raises(InvalidInput, match="name: String should have at least 1"):
        check(Name, "   ", "name")


def test_a_report_password_is_at_most_127_bytes_of_utf8() -> None:
    assert check(ReportPassword, "a" * 127, "reportPDFPassword") == "a" * 127
    assert check(ReportPassword, "漢" * 42, "reportPDFPassword") == "漢" * 42  # 126 bytes
    with pytest.raises(InvalidInput, match=r"reportPDFPassword: at most 127 bytes .* not 129"):
        check(ReportPassword, "漢" * 43, "reportPDFPassword")
    with pytest.raises(InvalidInput, match="reportPDFPassword: .*U\\+0000"):
        check(ReportPassword, "secret\x00", "reportPDFPassword")


def _opens(data: bytes, password: str) -> bool:
    try:
        pikepdf.open(io.BytesIO(data), password=password).close()
    except pikepdf.PasswordError:
        return False
    return True


def _encrypted(password: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner=password, user=password, R=6))
    return out.getvalue()


def test_the_password_limit_is_where_aes_256_pdfs_stop_opening() -> None:
    # Given the longest accepted password and the shortest refused one
    longest, too_long = "a" * fields.MAX_PASSWORD_BYTES, "a" * (fields.MAX_PASSWORD_BYTES + 1)
    # Then a PDF encrypted with the first opens with it; one with the second opens with
    # neither the password given nor its first 127 bytes
    assert _opens(_encrypted(longest), longest)
    assert not _opens(_encrypted(too_long), too_long)
    assert not _opens(_encrypted(too_long), longest)


@pytest.mark.parametrize("value", [True, False, "5", 5.0, 0, -1, MAX_ID + 1, 10**400])
def test_ids_are_strict_integers_in_the_tables_range(value: object) -> None:
    with pytest.raises(InvalidInput, match="^roleID: "):
        check(ID, value, "roleID")


def test_a_search_id_may_be_zero_but_not_beyond_the_tables() -> None:
    assert check(SearchID, 0, "idValue") == 0
    with pytest.raises(InvalidInput, match="idValue"):
        check(SearchID, 10**400, "idValue")


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "right/UTC", "posix/UTC"])
def test_time_zones_that_are_not_places_are_refused(zone: str) -> None:
    with pytest.raises(InvalidInput, match="timeZone: unknown time zone"):
        check(TimeZone, zone, "timeZone")


def test_iana_zones_are_accepted() -> None:
    assert [check(TimeZone, z, "timeZone") for z in ("UTC", "Europe/Berlin")] == [
        "UTC",
        "Europe/Berlin",
    ]


def test_an_address_must_be_sendable_without_smtputf8() -> None:
    assert check(EmailAddress, "kim@bücher.example", "emailAddress") == "kim@bücher.example"
    with pytest.raises(InvalidInput, match="emailAddress: .*not a valid address"):
        check(EmailAddress, "jörg@example.com", "emailAddress")


def test_docs_fields_md_shows_the_table() -> None:
    text = (ROOT / "docs" / "FIELDS.md").read_text(encoding="utf-8")
    start = text.index("<!-- generated from service.fields.RULES")
    start = text.index("\n", start) + 1
    end = text.index("<!-- end of the generated table -->")
    assert text[start:end] == fields.markdown_table()
