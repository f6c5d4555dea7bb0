"""The synthetic residents the partner signs in with, and the region's municipalities.

The personal identity codes are made up: individual numbers from the test range (900–999),
birth dates nobody is known to have, and check characters computed as the real ones are.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
MUNICIPALITIES = ("porvoo", "loviisa", "lapinjarvi", "sipoo", "askola", "myrskyla", "pukkila")
LANGUAGES = ("fi", "sv", "en")


def check_char(birth: str, individual: str) -> str:
    """The check character of a personal identity code: the nine digits `ddmmyy` + `nnn` as
    one number, modulo 31, indexes CHECK_CHARS."""
    return CHECK_CHARS[int(birth + individual) % 31]


def personal_id(birth: str, century: str, individual: str) -> str:
    """A personal identity code from its birth date (`ddmmyy`), century sign and individual
    number, with its check character."""
    return f"{birth}{century}{individual}{check_char(birth, individual)}"


@dataclass(frozen=True)
class Identity:
    """A synthetic resident who can 'identify strongly' in the partner."""

    personal_id: str
    name: str
    municipality: str
    language: str


IDENTITIES = (
    Identity(personal_id("010280", "-", "952"), "Aino Testinen", "porvoo", "fi"),
    Identity(personal_id("150765", "-", "938"), "Erik Testström", "loviisa", "sv"),
    Identity(personal_id("070701", "A", "926"), "Maria Testi", "sipoo", "en"),
)


def identity(code: str | None) -> Identity | None:
    """The synthetic resident with this personal identity code, or None."""
    return next((i for i in IDENTITIES if i.personal_id == code), None)
