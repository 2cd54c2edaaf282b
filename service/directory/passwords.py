"""Sign-in passwords: argon2id hashes and the policy a new password must meet.

Only the argon2id hash (argon2-cffi's ``PasswordHasher``: its RFC 9106 "low memory" profile,
64 MiB, 3 passes, 4 lanes) is stored; a hash made with older parameters is replaced at the
next successful sign-in. A password never reaches a log, an error message, the audit trail or
an answer: the policy's errors say what is wrong without repeating it.

The policy (``check_password``): at least ``MIN_LENGTH`` characters (and at most
``MAX_LENGTH``, so hashing stays bounded); not the user's name, username or address, nor one
of them with digits or symbols around it; not in the bundled list of common passwords
(``service/directory/data/common-passwords.txt.gz``, Django's list, provenance beside it),
also after digits and symbols at its ends are stripped (``Password2024!`` is ``password``).
"""

from __future__ import annotations

import gzip
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from service.errors import WeakPassword

#: Fewest characters in a password.
MIN_LENGTH = 12
#: Most characters in a password (a bound on what one sign-in may ask argon2 to hash).
MAX_LENGTH = 256
#: The bundled list of common passwords, lowercased, one a line.
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt.gz"
#: Characters stripped from a password's ends before it is looked up as a common one.
_DECORATION = "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters
#: A hash to verify against when there is no user, so an unknown address costs the same time.
_DUMMY_HASH = _HASHER.hash("reportd: no such user, the same work")


@dataclass(frozen=True)
class Verified:
    """A password check: whether it matched, and whether its hash should be made again."""

    ok: bool
    rehash: bool = False


def hash_password(password: str) -> str:
    """The argon2id hash to store for ``password`` (a fresh salt each time)."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> Verified:
    """Does ``password`` match ``stored_hash``? A missing or broken hash matches nothing.

    With no hash the dummy hash is verified all the same, so a user without a password
    (or no user at all) takes as long to refuse as a wrong password does.
    """
    if stored_hash is None or len(password) > MAX_LENGTH:
        _burn(password[:MAX_LENGTH])
        return Verified(ok=False)
    try:
        _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verified(ok=False)
    return Verified(ok=True, rehash=_HASHER.check_needs_rehash(stored_hash))


def burn_time(password: str) -> None:
    """Spend a verification's time for an address that has no user."""
    _burn(password[:MAX_LENGTH])


def _burn(password: str) -> None:
    try:
        _HASHER.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled common passwords, read once per process."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def check_password(password: str, *, name: str = "", email: str = "", username: str = "") -> None:
    """Refuse (``WeakPassword``, naming the rule) a password that breaks the policy."""
    if not isinstance(password, str):
        raise WeakPassword("password: must be a string")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password: must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"password: must have at most {MAX_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise WeakPassword("password: must not begin or end with spaces")
    if len(set(password)) < 4:
        raise WeakPassword("password: must not be a few characters repeated")
    folded = _folded(password)
    core = folded.strip(_DECORATION)
    personal = {_folded(value) for value in (name, email, username) if value}
    for value in list(personal):
        personal.add(value.partition("@")[0])  # the address's local part too
        personal.add(value.replace(" ", ""))
    personal.discard("")
    if folded in personal or core in personal:
        raise WeakPassword("password: must not be the user's name, username or address")
    if any(len(value) >= 4 and value in folded for value in personal):
        raise WeakPassword("password: must not contain the user's name, username or address")
    common = common_passwords()
    if folded in common or core in common:
        raise WeakPassword("password: is a commonly used password; choose another")
