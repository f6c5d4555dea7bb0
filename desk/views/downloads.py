"""Files the desk hands out for download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

#: what makes a spreadsheet program read a cell as a formula (or a DDE command)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula, as plain text: a leading
    apostrophe, which spreadsheets show as text and hide (OWASP's advice). Residents and staff
    type names and titles; "=HYPERLINK(…)" must stay words. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_download(filename: str, header: list[str], rows: Iterable[Iterable]) -> Response:
    """Rows as a CSV attachment, UTF-8 with a BOM so that spreadsheets read ä and ö right;
    text that would be a formula is written as text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
