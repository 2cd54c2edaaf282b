"""Password protection of rendered PDFs: pikepdf AES-256 (PDF 2.0 security handler, R=6).

A report is rendered once and encrypted per recipient (about 20 ms each), so this is where
each contact's password meets the shared PDF. Workers encrypt through an :class:`Encryptor`,
in a helper process: pikepdf holds the GIL for the whole of an encryption. The user password
opens the document; the owner password is random and thrown away, so nobody can lift the
permissions below with it.

Files that must not travel in clear beside the PDF (the report's CSV) go inside it
(:class:`EmbeddedFile`): the encryption covers embedded files as it covers the pages. They
are added per recipient, in the same pass as the encryption, so the shared PDF stays as it
was printed and costs no second parse.

Permissions are advisory (readers honour them, tools need not), so they state intent: print
in full quality, read aloud and copy text (host names and CVE ids go into tickets), but do not
edit, annotate, fill in or reassemble the report.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from service.errors import EncryptionError, EncryptionUnavailable

__all__ = ["PERMISSIONS", "EmbeddedFile", "Encryptor", "encrypt_pdf"]

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
#: Bytes of randomness in the owner password nobody keeps: 128 bits, out of reach of a
#: search. Not more: revision 6 hashes the password 64 times over in each of its 64 or more
#: rounds, twice, so 32 bytes (43 characters) made an encryption ~9 % slower (20.5 vs 18.7 ms).
OWNER_PASSWORD_BYTES = 16


@dataclass(frozen=True)
class EmbeddedFile:
    """A file carried inside an encrypted PDF (its attachments panel), e.g. the report's CSV."""

    filename: str
    content: bytes
    mime_type: str
    description: str = ""


def encrypt_pdf(pdf: bytes, password: str, embedded: Sequence[EmbeddedFile] = ()) -> bytes:
    """Return ``pdf`` encrypted with AES-256 so that it opens only with ``password``, with
    the ``embedded`` files inside it, encrypted alike."""
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
            for file in embedded:
                document.attachments[file.filename] = pikepdf.AttachedFileSpec(
                    document,
                    file.content,
                    description=file.description,
                    filename=file.filename,
                    mime_type=file.mime_type,
                    relationship=pikepdf.Name.Supplement,
                )
            out = io.BytesIO()
            document.save(out, encryption=encryption)
    except pikepdf.PasswordError as exc:
        raise EncryptionError("the PDF is already encrypted") from exc
    except pikepdf.PdfError as exc:
        raise EncryptionError(f"the PDF cannot be read: {exc}") from exc
    return out.getvalue()


class Encryptor:
    """``encrypt_pdf`` in a helper process, for the threads of a worker.

    pikepdf holds the GIL for the whole of an encryption (15-25 ms, most of it the
    deliberately slow password hashing of AES-256 R=6), so in a worker every other thread,
    and the mail of every recipient without a password, would wait that long; the helper
    runs it beside them, on another core, for a copy of the PDF each way (~0.3 ms). The
    helper starts at first use, in the process that uses it (dramatiq forks its worker
    processes after start-up), and again after it died; a call it died during raises
    :class:`EncryptionUnavailable` (retried), and errors of ``encrypt_pdf`` come back as
    they are.
    """

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._owner = 0  # the pid that started the helper

    def __call__(self, pdf: bytes, password: str, embedded: Sequence[EmbeddedFile] = ()) -> bytes:
        executor = self._running()
        try:
            return executor.submit(encrypt_pdf, pdf, password, tuple(embedded)).result()
        except BrokenProcessPool as error:
            self._forget(executor)
            raise EncryptionUnavailable(f"the encryption process stopped: {error}") from error

    def start(self) -> None:
        """Start the helper now rather than at the first call (it imports pikepdf: ~0.5 s)."""
        self._running().submit(_ready).result()

    def close(self) -> None:
        """Stop the helper (a later call starts a new one)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and self._owner == os.getpid():
            executor.shutdown(wait=True, cancel_futures=True)

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None or self._owner != os.getpid():
                # spawn, not fork: a fork of a worker would copy its threads' locks mid-use.
                context = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=context,
                    initializer=_end_with_parent,
                    initargs=(os.getpid(),),
                )
                self._owner = os.getpid()
            return self._executor

    def _forget(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)


#: The helper's process name (``comm``, at most 15 characters).
HELPER_NAME = "reportd-encrypt"
#: Seconds between two looks of the helper at whether its parent is still there.
PARENT_CHECK_EVERY = 1.0


def _end_with_parent(parent: int) -> None:
    """Run in the helper at start: exit once the process that started it is gone.

    A parent killed (SIGKILL, the OOM killer) cannot stop its helper, and the helper would
    wait for work forever, holding multiprocessing's resource tracker with it.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_EVERY)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
    # Named, so that a worker's tree tells its Python from its encryption (service.proctree).
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(HELPER_NAME)


def _ready() -> bool:
    """Run in the helper: unpickling it imports this module, pikepdf with it."""
    return True
