"""Password protection of rendered PDFs: pikepdf AES-256 (PDF 2.0 security handler, R=6).

A report is rendered once and encrypted per recipient (about 20 ms each), so this is where
each contact's password meets the shared PDF. The user password opens the document; the
owner password is random and thrown away, so nobody can lift the permissions below with it.

Permissions are advisory (readers honour them, tools need not), so they state intent: print
in full quality, read aloud and copy text (host names and CVE ids go into tickets), but do not
edit, annotate, fill in or reassemble the report.
"""

from __future__ import annotations

import io
import secrets

import pikepdf

from service.errors import EncryptionError

__all__ = ["PERMISSIONS", "encrypt_pdf"]

#: What a reader may do with an opened report.
PERMISSIONS = pikepdf.Permissions(
    accessibility=True,
    extract=True,
    print_lowres=True,
    print_highres=True,
    modify_annotation=False,
    modify_assembly=False,
    modify_form=False,
    modify_other=False,
)
#: Bytes of randomness in the owner password nobody keeps.
OWNER_PASSWORD_BYTES = 32


def encrypt_pdf(pdf: bytes, password: str) -> bytes:
    """Return ``pdf`` encrypted with AES-256 so that it opens only with ``password``."""
    if not password.strip():
        raise EncryptionError("the PDF password is empty; refusing to send an open PDF")
    if b"%PDF-" not in pdf[:1024]:  # where the standard allows the header to be
        raise EncryptionError("the data to encrypt is not a PDF (no %PDF- header)")
    encryption = pikepdf.Encryption(
        user=password,
        owner=secrets.token_urlsafe(OWNER_PASSWORD_BYTES),
        R=6,
        aes=True,
        metadata=True,
        allow=PERMISSIONS,
    )
    try:
        with pikepdf.open(io.BytesIO(pdf)) as document:
            if document.is_encrypted:
                raise EncryptionError("the PDF is already encrypted")
            out = io.BytesIO()
            document.save(out, encryption=encryption)
    except pikepdf.PasswordError as exc:
        raise EncryptionError("the PDF is already encrypted") from exc
    except pikepdf.PdfError as exc:
        raise EncryptionError(f"the PDF cannot be read: {exc}") from exc
    return out.getvalue()
