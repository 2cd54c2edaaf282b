"""What each recipient receives: one run to contacts in all ten languages, half of them
password-protected, through a real worker, real Chromium and a real SMTP server (aiosmtpd).

Every mail is read back from the server's outbox and checked for its own recipient: the
address, the greeting by name in the recipient's language, the subject, the period and zone
in the recipient's zone, the file name, the password note only when protected, a PDF that
opens with that recipient's password only and holds that recipient's computers only, and a
CSV that travels in clear only to those whose reports are not protected.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pikepdf
import pypdf
import pytest
from babel.dates import format_interval
from sqlalchemy import select

from actors.embedded import EmbeddedDispatcher
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from service.reports.rendering import _translations
from storage.db import transaction
from storage.models import Role
from tests.actors.conftest import ALEX, JONAS, NOW, PASSWORDS, SECRET, World

#: The sample's computers by clearance: the Web Team sees the web servers and the frontends.
WEB = [f"{stem}-{n:02d}" for stem in ("web", "fron") for n in range(1, 7)]
ELSEWHERE = [f"{stem}-{n:02d}" for stem in ("data", "lapt") for n in range(1, 7)]

#: Per language: its zone, the greeting's form, the Computer Report's name, two people.
LANGUAGES = {
    "en-US": ("America/Los_Angeles", "Hello {},", "Computer Report", "Ava Miller", "Noah Davis"),
    "ja-JP": ("Asia/Tokyo", "{} 様", "コンピュータレポート", "山田 太郎", "鈴木 美咲"),
    "zh-CN": ("Asia/Shanghai", "{}，您好：", "计算机报告", "王 芳", "李 娜"),
    "zh-TW": ("Asia/Taipei", "{} 您好：", "電腦報告", "陳 怡君", "林 志明"),
    "ko-KR": ("Asia/Seoul", "{} 님, 안녕하세요.", "컴퓨터 보고서", "김 민준", "이 서연"),
    "de-DE": ("Europe/Berlin", "Hallo {},", "Computerbericht", "Jonas Becker", "Lea Wagner"),
    "fr-FR": (
        "Europe/Paris",
        "Bonjour {},",
        "Rapport des ordinateurs",
        "Camille Durand",
        "Hugo Petit",
    ),
    "es-ES": ("Europe/Madrid", "Hola, {}:", "Informe de equipos", "Lucía García", "Pablo Ruiz"),
    "pt-BR": (
        "America/Sao_Paulo",
        "Olá, {},",
        "Relatório de computadores",
        "João Silva",
        "Ana Souza",
    ),
    "it-IT": ("Europe/Rome", "Gentile {},", "Report dei computer", "Giulia Rossi", "Marco Bianchi"),
}
PASSWORD_NOTE = "The PDF is protected with the password agreed with you."
CSV_INSIDE = (
    "The CSV file with every row of the report's tables is inside the PDF: open the PDF with "
    "your password, then its attachments."
)


@dataclass(frozen=True)
class Person:
    name: str
    address: str
    locale: str
    zone: str
    clearance: str
    password: str | None

    @property
    def computers(self) -> list[str]:
        return WEB if self.clearance == "Web Team" else WEB + ELSEWHERE


def people() -> list[Person]:
    """Twenty contacts: in each language one protected, one not, of alternating clearances;
    in German both of the Web Team, so that they share one document."""
    made = []
    for index, (locale, (zone, _form, _report, plain, protected)) in enumerate(LANGUAGES.items()):
        clearances = ["Full Access", "Web Team"][:: 1 if index % 2 else -1]
        if locale == "de-DE":
            clearances = ["Web Team", "Web Team"]
        for name, clearance, password in (
            (plain, clearances[0], None),
            (protected, clearances[1], f"pw-{locale}-{index}"),
        ):
            address = f"{locale.lower()}.{'p' if password else 'o'}@example.com"
            made.append(Person(name, address, locale, zone, clearance, password))
    return made


@pytest.fixture
def recipients(world: World) -> list[tuple[Person, int]]:
    with transaction(world.sessions) as session:
        roles = {
            role.name: role.id
            for role in session.scalars(select(Role).where(Role.account_id == world.account_id))
        }
        return [
            (
                person,
                add_contact(
                    session,
                    account_id=world.account_id,
                    box=SecretBox(SECRET),
                    name=person.name,
                    email_address=person.address,
                    role_id=roles[person.clearance],
                    locale=person.locale,
                    time_zone=person.zone,
                    report_pdf_password_enabled=person.password is not None,
                    report_pdf_password=person.password,
                ).id,
            )
            for person in people()
        ]


def pdf_of(mail: EmailMessage) -> bytes:
    [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    payload = pdf.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def words(text: str) -> str:
    """``text`` with each run of spaces as one (a subject header folds thin spaces)."""
    return " ".join(text.split())


def text_of(pdf: bytes, password: str | None) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    if password is not None:
        assert reader.decrypt(password)
    return "\n".join(page.extract_text() for page in reader.pages)


def test_one_run_in_ten_languages_gives_each_recipient_their_own_mail(
    world: World, renderer: PdfRenderer, recipients: list[tuple[Person, int]]
) -> None:
    # Given twenty contacts in ten languages and zones, half with a report password
    # When one Computer report run with its CSV goes to all of them
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as worker:
        run_id, _ = world.new_run(
            Recipients(contact_ids=[contact_id for _, contact_id in recipients]),
            report_type="computer",
            attachCSV=True,
        )
        worker.start_runs([run_id])
        run = world.wait_finished(run_id, timeout=240)

    # Then each gets one mail, made for them
    assert (run.sent, run.failed) == (20, 0)
    passwords = [person.password for person, _ in recipients if person.password]
    csvs: dict[str, bytes] = {}
    for person, _ in recipients:
        [mail] = world.mails_to(person.address)
        zone, form, report, *_names = LANGUAGES[person.locale]
        catalog = _translations(person.locale)
        plain = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        # To, and the greeting by name in the form of the language, in both bodies
        [to] = mail["To"].addresses
        assert (to.display_name, to.addr_spec) == (person.name, person.address)
        assert plain.strip().splitlines()[0] == form.format(person.name), person
        assert f"<p>{form.format(person.name)}</p>" in html
        # The subject in the language; the period and the zone in the recipient's zone
        assert report in str(mail["Subject"])
        local = ZoneInfo(zone)
        period = format_interval(
            (NOW - timedelta(days=7)).astimezone(local),
            NOW.astimezone(local),
            "yMMMd",
            locale=person.locale.replace("-", "_"),
        )
        assert words(period) in words(str(mail["Subject"])) and period in plain
        assert zone in plain
        # The file name carries the day the report was made, in the recipient's zone
        pdf = pdf_of(mail)
        [attached] = [p.get_filename() for p in mail.iter_attachments() if p.get_filename()][:1]
        assert attached == f"Computer-Report_{NOW.astimezone(local).date().isoformat()}.pdf"
        # The password note only when protected; its CSV then inside the PDF, never beside it
        assert (catalog.gettext(PASSWORD_NOTE) in plain) == (person.password is not None)
        assert (catalog.gettext(CSV_INSIDE) in plain) == (person.password is not None)
        beside = [p for p in mail.iter_attachments() if p.get_content_type() == "text/csv"]
        # The PDF opens with this recipient's password only, and holds their computers only
        if person.password is None:
            assert len(beside) == 1
            csvs[person.address] = beside[0].get_payload(decode=True)
            text = text_of(pdf, None)
        else:
            assert beside == []
            with pytest.raises(pikepdf.PasswordError):
                pikepdf.open(io.BytesIO(pdf))
            for other in passwords:
                if other != person.password:
                    with pytest.raises(pikepdf.PasswordError):
                        pikepdf.open(io.BytesIO(pdf), password=other)
            with pikepdf.open(io.BytesIO(pdf), password=person.password) as opened:
                [(name, spec)] = opened.attachments.items()
                assert name == attached.replace(".pdf", ".csv")
                csvs[person.address] = spec.get_file().read_bytes()
            text = text_of(pdf, person.password)
        assert zone in text
        assert all(computer in text for computer in person.computers), person
        assert not any(c in text for c in WEB + ELSEWHERE if c not in person.computers), person
        # ... and so does its CSV, its columns named in the recipient's language
        rows = list(csv.reader(io.StringIO(csvs[person.address].decode("utf-8-sig"))))
        assert rows[0][1] == catalog.gettext("Computer")
        assert sorted(row[1] for row in rows[1:]) == sorted(person.computers)
    # Two contacts with the same clearance, language and zone share one document: the CSV
    # inside the protected one's PDF is the one the other gets in clear, byte for byte
    assert csvs["de-de.p@example.com"] == csvs["de-de.o@example.com"]
    # Nobody's name is in anybody else's mail
    for person, _ in recipients:
        [mail] = world.mails_to(person.address)
        body = mail.get_body(("plain",)).get_content()
        others = [p.name for p, _ in recipients if p.name != person.name]
        assert not any(name in body for name in others)


def test_the_csv_format_gives_a_protected_contact_a_protected_pdf_carrying_the_csv(
    world: World, renderer: PdfRenderer
) -> None:
    # Given the sample's contacts, Jonas's reports password protected
    # When a run asks for the CSV format
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as worker:
        run_id, _ = world.new_run(report_type="computer", format="csv")
        worker.start_runs([run_id])
        world.wait_finished(run_id)

    # Then Jonas gets no CSV in clear, but an encrypted PDF with the CSV inside
    [jonas] = world.mails_to(JONAS)
    types = [part.get_content_type() for part in jonas.iter_attachments()]
    assert types == ["application/pdf"]
    pdf = pdf_of(jonas)
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(pdf))
    with pikepdf.open(io.BytesIO(pdf), password=PASSWORDS[JONAS]) as opened:
        [(name, spec)] = opened.attachments.items()
        inside = spec.get_file().read_bytes()
    assert name.endswith(".csv") and "web-01" in inside.decode("utf-8-sig")
    # ... and the unprotected get the CSV alone, as before
    [alex] = world.mails_to(ALEX)
    assert [part.get_content_type() for part in alex.iter_attachments()] == ["text/csv"]
