"""Finnish personal identity codes (henkilötunnus): validation, masking, synthesis."""

from __future__ import annotations

import random
import re
from datetime import date

CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURIES = {"+": 1800, "-": 1900, "A": 2000}
CENTURIES.update(dict.fromkeys("UVWXY", 1900))
CENTURIES.update(dict.fromkeys("BCDEF", 2000))
_PATTERN = re.compile(r"^(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Y])$")


def problem(code: str) -> str | None:
    """What is wrong with `code` as a personal identity code, or None when it is valid."""
    match = _PATTERN.fullmatch(code)  # (match's $ would allow a newline after it)
    if not match:
        return "not a personal identity code (DDMMYYCZZZQ)"
    dd, mm, yy, sign, individual, check = match.groups()
    if sign not in CENTURIES:
        return "unknown century sign"
    try:
        date(CENTURIES[sign] + int(yy), int(mm), int(dd))
    except ValueError:
        return "not a real calendar date"
    if int(individual) < 2:
        return "individual number out of range"
    if CHECK_CHARS[int(dd + mm + yy + individual) % 31] != check:
        return "checksum does not match"
    return None


def birth_date(code: str) -> date:
    """The birth date a valid code carries."""
    dd, mm, yy, sign = int(code[0:2]), int(code[2:4]), int(code[4:6]), code[6]
    return date(CENTURIES[sign] + yy, mm, dd)


def masked(code: str) -> str:
    """The code with the individual part hidden: the birth date stays readable."""
    return code[:7] + "****"


def synthetic(rng: random.Random, born: date) -> str:
    """A valid code from the test range (individual number 900–999) for a synthetic resident."""
    sign = "-" if born.year < 2000 else "A"
    individual = rng.randint(900, 999)
    head = born.strftime("%d%m%y")
    return f"{head}{sign}{individual:03d}{CHECK_CHARS[int(head + f'{individual:03d}') % 31]}"
