"""Compacting Chromium's PDFs: smaller, the same pages and text, and still encryptable."""

from __future__ import annotations

import io

import pikepdf
import pytest

from service.delivery.compaction import compact_pdf
from service.delivery.encryption import encrypt_pdf
from service.delivery.pdf import PdfRenderer
from service.errors import RenderFailed
from tests.service.delivery.test_pdf import text_of

ROWS = "".join(
    f"<tr><td>host-{n:04d}.example.com</td><td>ウェブサーバー {n}</td><td>Windows Server</td></tr>"
    for n in range(400)
)
HTML = f"<html><body><h1>Computers</h1><table>{ROWS}</table></body></html>"


@pytest.fixture(scope="module")
def printed(renderer: PdfRenderer) -> bytes:
    return renderer.render(HTML)


def test_when_compacted_then_smaller_with_the_same_pages_and_text(printed: bytes) -> None:
    compact = compact_pdf(printed)

    assert len(compact) < 0.9 * len(printed)
    with pikepdf.open(io.BytesIO(printed)) as before, pikepdf.open(io.BytesIO(compact)) as after:
        assert len(after.pages) == len(before.pages) > 1
    assert text_of(compact) == text_of(printed)
    assert "host-0399.example.com" in text_of(compact) and "ウェブサーバー 399" in text_of(compact)


def test_when_a_compacted_pdf_is_encrypted_then_it_opens_with_the_password_only(
    printed: bytes,
) -> None:
    encrypted = encrypt_pdf(compact_pdf(printed), "s3cret")

    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(encrypted))
    with pikepdf.open(io.BytesIO(encrypted), password="s3cret") as opened:
        assert opened.encryption.R == 6


def test_given_bytes_that_are_no_pdf_when_compacted_then_render_failed() -> None:
    with pytest.raises(RenderFailed, match="cannot be read"):
        compact_pdf(b"<html>not a pdf</html>")
