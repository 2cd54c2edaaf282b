"""PDF encryption with the real pikepdf, read back with pikepdf and pypdf."""

from __future__ import annotations

import io
import os
import re
import signal
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from service.delivery.encryption import EmbeddedFile, Encryptor, encrypt_pdf
from service.errors import EncryptionError, EncryptionUnavailable
from service.runtime.proctree import tree

PASSWORD = "correct horse battery staple"


def plain_pdf(text: str = "quarterly summary") -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    document.docinfo["/Title"] = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def encrypted() -> bytes:
    return encrypt_pdf(plain_pdf(), PASSWORD)


def test_given_encrypted_pdf_when_opened_without_password_then_refused(encrypted):
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(encrypted))
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(encrypted), password="wrong")


def test_given_encrypted_pdf_when_opened_with_password_then_content_is_there(encrypted):
    with pikepdf.open(io.BytesIO(encrypted), password=PASSWORD) as document:
        assert len(document.pages) == 1
        assert str(document.docinfo["/Title"]) == "quarterly summary"
        assert not document.owner_password_matched  # the owner password is random


def test_given_encrypted_pdf_then_it_uses_aes_256_revision_6(encrypted):
    with pikepdf.open(io.BytesIO(encrypted), password=PASSWORD) as document:
        info = document.encryption
        assert (info.R, info.V, info.bits) == (6, 5, 256)
        assert info.stream_method.name == "aesv3"  # AES-256
        assert info.string_method.name == "aesv3"

    reader = PdfReader(io.BytesIO(encrypted))
    assert reader.is_encrypted
    assert reader.decrypt(PASSWORD)
    assert reader.metadata is not None and reader.metadata.title == "quarterly summary"


def test_given_encrypted_pdf_then_printing_and_copying_allowed_and_editing_not(encrypted):
    with pikepdf.open(io.BytesIO(encrypted), password=PASSWORD) as document:
        allowed = document.allow
    assert allowed.print_highres and allowed.print_lowres
    assert allowed.accessibility and allowed.extract
    assert not allowed.modify_other
    assert not allowed.modify_annotation
    assert not allowed.modify_form
    assert not allowed.modify_assembly


def test_given_same_pdf_twice_then_owner_passwords_and_ciphertexts_differ():
    pdf = plain_pdf()

    assert encrypt_pdf(pdf, PASSWORD) != encrypt_pdf(pdf, PASSWORD)


def test_given_non_ascii_password_then_it_opens_with_that_password():
    encrypted = encrypt_pdf(plain_pdf(), "パスワード-ü")

    with pikepdf.open(io.BytesIO(encrypted), password="パスワード-ü") as document:
        assert len(document.pages) == 1


@pytest.mark.parametrize("password", ["", " ", "\t\n "])
def test_given_empty_password_when_encrypting_then_encryption_error(password):
    with pytest.raises(EncryptionError, match="empty"):
        encrypt_pdf(plain_pdf(), password)


@pytest.mark.parametrize("data", [b"", b"<html>not a pdf</html>", b"%PDF-1.7 truncated"])
def test_given_non_pdf_when_encrypting_then_encryption_error(data):
    with pytest.raises(EncryptionError, match="PDF"):
        encrypt_pdf(data, PASSWORD)


def test_given_already_encrypted_pdf_when_encrypting_then_encryption_error(encrypted):
    with pytest.raises(EncryptionError, match="already encrypted"):
        encrypt_pdf(encrypted, "another password")


def test_given_pdf_encrypted_without_user_password_when_encrypting_then_encryption_error():
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(plain_pdf())) as document:
        document.save(out, encryption=pikepdf.Encryption(owner="owner", user="", R=6))

    with pytest.raises(EncryptionError, match="already encrypted"):
        encrypt_pdf(out.getvalue(), PASSWORD)


# Files carried inside the encrypted PDF

#: A CSV export whose rows must not be readable without the password.
ROWS_CSV = (
    "\ufeffcomputer,host_name,events\r\n"
    + "secret-web-01,secret-web-01.example.internal,7\r\n" * 40
).encode()


def streams_of(pdf: bytes) -> list[bytes]:
    """Every stream of a PDF file as stored, and inflated when it inflates."""
    found = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        found.append(match.group(1))
        try:
            found.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return found


def test_given_a_csv_embedded_when_encrypting_then_it_opens_with_the_password_only():
    # Given a report PDF and its CSV, When they are encrypted together
    pdf = encrypt_pdf(
        plain_pdf(), PASSWORD, [EmbeddedFile("Summary-Report_2026-11-23.csv", ROWS_CSV, "text/csv")]
    )

    # Then nothing opens without the password, and no stream holds the rows in clear
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(pdf))
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(pdf), password="wrong")
    assert not any(b"secret-web-01" in stream for stream in [pdf, *streams_of(pdf)])
    # ... and with it the CSV is there, byte for byte, as an attachment
    with pikepdf.open(io.BytesIO(pdf), password=PASSWORD) as document:
        [(name, spec)] = document.attachments.items()
        assert name == "Summary-Report_2026-11-23.csv"
        assert spec.get_file().read_bytes() == ROWS_CSV
        assert spec.get_file().mime_type == "text/csv"
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.decrypt(PASSWORD)
    assert reader.attachments == {"Summary-Report_2026-11-23.csv": [ROWS_CSV]}


# The helper process workers encrypt in


@pytest.fixture
def encryptor() -> Iterator[Encryptor]:
    helper = Encryptor()
    yield helper
    helper.close()


def _helpers() -> list[int]:
    """This process's children started by multiprocessing's spawn (not its resource tracker)."""
    found = []
    for process in tree(os.getpid())[1:]:
        try:
            command = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(process.pid)
    return found


def test_an_encryptor_encrypts_for_many_threads_in_a_process_of_its_own(encryptor):
    passwords = [f"{PASSWORD} {index}" for index in range(6)]
    with ThreadPoolExecutor(max_workers=4) as threads:
        results = list(threads.map(lambda p: encryptor(plain_pdf(p), p), passwords))

    assert _helpers(), "no helper process"
    for password, result in zip(passwords, results, strict=True):
        with pikepdf.open(io.BytesIO(result), password=password) as document:
            assert str(document.docinfo["/Title"]) == password
            assert document.encryption.R == 6


def test_an_encryptor_embeds_files_as_encrypt_pdf_does(encryptor):
    pdf = encryptor(plain_pdf(), PASSWORD, [EmbeddedFile("rows.csv", ROWS_CSV, "text/csv")])

    with pikepdf.open(io.BytesIO(pdf), password=PASSWORD) as document:
        assert document.attachments["rows.csv"].get_file().read_bytes() == ROWS_CSV


def test_an_encryptor_raises_what_encrypt_pdf_raises(encryptor):
    with pytest.raises(EncryptionError, match="empty"):
        encryptor(plain_pdf(), "  ")
    with pytest.raises(EncryptionError, match="not a PDF"):
        encryptor(b"GIF89a", PASSWORD)


def test_a_dead_helper_fails_that_call_as_transient_and_the_next_call_gets_a_new_one(encryptor):
    encryptor(plain_pdf(), PASSWORD)
    [helper] = _helpers()
    os.kill(helper, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while helper in _helpers() and time.monotonic() < deadline:
        time.sleep(0.05)

    with pytest.raises(EncryptionUnavailable):
        encryptor(plain_pdf(), PASSWORD)
    result = encryptor(plain_pdf(), PASSWORD)
    with pikepdf.open(io.BytesIO(result), password=PASSWORD) as document:
        assert len(document.pages) == 1
    assert _helpers() and helper not in _helpers()


def test_an_encryptor_started_ahead_has_its_helper_before_the_first_call(encryptor):
    assert _helpers() == []
    encryptor.start()
    [helper] = _helpers()
    encryptor(plain_pdf(), PASSWORD)
    assert _helpers() == [helper]
