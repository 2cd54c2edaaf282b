"""Message catalogs: the .pot matches the templates, and every locale translates all of it.

Two catalogs follow the same rules: the reports' (``report_templates/locale``) and the web
console's (``service/console/locale``, its templates and the ``N_`` messages of its code).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from report_templates import TEMPLATES_DIR
from service.console.i18n import CONSOLE_DIR
from service.console.i18n import LOCALE_DIR as CONSOLE_LOCALE_DIR
from service.reports.locales import SUPPORTED_LOCALES
from service.reports.rendering import LOCALE_DIR, _translations

#: Each catalog: (the folder extracted from, with its babel.cfg; its locale folder).
CATALOGS = {
    "reports": (TEMPLATES_DIR, LOCALE_DIR),
    "console": (CONSOLE_DIR, CONSOLE_LOCALE_DIR),
}


def refresh(catalog: str) -> str:
    source, locales = (p.relative_to(Path.cwd()) for p in CATALOGS[catalog])
    return (
        f"run: pybabel extract -F {source}/babel.cfg --no-location --sort-output "
        f"-o {locales}/messages.pot {source}, then pybabel update and translate "
        f"(see {source}/babel.cfg)"
    )


MessageKey = tuple[str, str | None]  # (msgid, msgctxt); a plural's key is its singular


def key(message: Message) -> MessageKey:
    msgid = message.id[0] if isinstance(message.id, tuple | list) else message.id
    return (msgid, message.context)


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def messages(catalog: Catalog) -> dict[MessageKey, Message]:
    return {key(m): m for m in catalog if m.id}


def po_path(locale: str, catalog: str = "reports") -> Path:
    return CATALOGS[catalog][1] / locale.replace("-", "_") / "LC_MESSAGES" / "messages.po"


def pot_path(catalog: str) -> Path:
    return CATALOGS[catalog][1] / "messages.pot"


def extract_templates(catalog: str = "reports") -> Catalog:
    """What ``pybabel extract`` finds in the sources today, with the catalog's babel.cfg."""
    source = CATALOGS[catalog][0]
    with (source / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    catalog_found = Catalog()
    for _file, line, message, comments, context in extract_from_dir(
        source, method_map, options_map
    ):
        catalog_found.add(message, None, [(_file, line)], auto_comments=comments, context=context)
    return catalog_found


@pytest.mark.parametrize("catalog_name", sorted(CATALOGS))
def test_given_the_templates_when_extracting_then_the_pot_holds_exactly_their_strings(
    catalog_name,
):
    # Given the templates (and code) as they are now, When their strings are extracted again
    extracted = messages(extract_templates(catalog_name))

    # Then the committed .pot has the same messages, plural ids included
    pot = messages(read_catalog(pot_path(catalog_name)))
    hint = refresh(catalog_name)
    assert set(extracted) - set(pot) == set(), f"strings missing from messages.pot; {hint}"
    assert set(pot) - set(extracted) == set(), f"stale strings in messages.pot; {hint}"
    for message_key, message in extracted.items():
        assert pot[message_key].id == message.id


@pytest.mark.parametrize("catalog_name", sorted(CATALOGS))
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_given_a_supported_locale_when_reading_its_catalog_then_everything_is_translated(
    locale, catalog_name
):
    # Given the locale's .po file
    path = po_path(locale, catalog_name)
    assert path.is_file(), f"no catalog for {locale} at {path}"
    catalog = read_catalog(path, locale.replace("-", "_"))
    pot = messages(read_catalog(pot_path(catalog_name)))
    hint = refresh(catalog_name)

    # When it is compared with the .pot
    translated = messages(catalog)

    # Then it has every message, none fuzzy or empty, with every plural form of the locale
    assert set(pot) - set(translated) == set(), f"{locale} lacks messages; {hint}"
    assert set(translated) - set(pot) == set(), f"{locale} has stale messages; {hint}"
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    expected_plurals = Catalog(locale=locale.replace("-", "_")).num_plurals
    assert catalog.num_plurals == expected_plurals
    for message_key, message in translated.items():
        assert not message.fuzzy, f"{locale}: fuzzy {message_key}"
        forms = [message.string] if isinstance(message.string, str) else message.string or []
        expected_forms = expected_plurals if message.pluralizable else 1
        assert len(forms) == expected_forms, f"{locale}: plural forms of {message_key}"
        assert all(form.strip() for form in forms), f"{locale}: untranslated {message_key}"


@pytest.mark.parametrize("catalog_name", sorted(CATALOGS))
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_given_a_catalog_when_checking_placeholders_then_translations_keep_them(
    locale, catalog_name
):
    catalog = read_catalog(po_path(locale, catalog_name), locale.replace("-", "_"))

    problems = [
        (key(message), str(error)) for message, errors in catalog.check() for error in errors
    ]

    assert problems == []


@pytest.mark.parametrize("catalog_name", sorted(CATALOGS))
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_given_a_catalog_when_the_plural_header_is_read_then_it_matches_cldr(locale, catalog_name):
    catalog = read_catalog(po_path(locale, catalog_name), locale.replace("-", "_"))

    assert catalog.locale == Locale.parse(locale, sep="-")
    assert catalog.plural_forms == Catalog(locale=locale.replace("-", "_")).plural_forms


@pytest.mark.parametrize(
    ("locale", "source", "expected"),
    [
        ("ja-JP", "Anti-Malware", "不正プログラム対策"),
        ("zh-CN", "Intrusion Prevention", "入侵防御"),
        ("de-DE", "Integrity Monitoring", "Integritätsüberwachung"),
        ("en-US", "Firewall", "Firewall"),
    ],
)
def test_given_a_po_file_when_loading_at_runtime_then_its_translations_apply(
    locale, source, expected
):
    # Given only the .po file (no compiled .mo in the tree), When the catalog is loaded
    translations = _translations(locale)

    # Then it translates, once per process
    assert translations.gettext(source) == expected
    assert _translations(locale) is translations


def test_given_german_when_a_count_is_plural_then_the_plural_form_is_used():
    translations = _translations("de-DE")
    singular, plural = (
        "%(count)s more row is in the CSV export.",
        "%(count)s more rows are in the CSV export.",
    )

    assert (
        translations.ngettext(singular, plural, 1) == "%(count)s weitere Zeile steht im CSV-Export."
    )
    assert translations.ngettext(singular, plural, 2) == (
        "%(count)s weitere Zeilen stehen im CSV-Export."
    )


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("fr-FR", 0, "0 autre ligne figure dans l'export CSV."),
        ("fr-FR", 2, "2 autres lignes figurent dans l'export CSV."),
        ("fr-FR", 1_000_000, "1000000 autres lignes figurent dans l'export CSV."),
        ("es-ES", 1_000_000, "1000000 filas más figuran en la exportación CSV."),
        ("de-DE", 1_000_000, "1000000 weitere Zeilen stehen im CSV-Export."),
    ],
)
def test_given_cldr_plural_categories_when_counting_rows_then_every_form_is_translated(
    locale, count, expected
):
    # Given a locale whose CLDR rules have a "many" form for round millions (fr, es) or not (de)
    translations = _translations(locale)

    # When a plural message is formatted for a count
    text = translations.ngettext(
        "%(count)s more row is in the CSV export.",
        "%(count)s more rows are in the CSV export.",
        count,
    ) % {"count": count}

    # Then the form CLDR picks for that count is translated ("many" reads as "other": digits)
    assert text == expected
