"""Files the desk hands out for download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response


def csv_download(filename: str, header: list[str], rows: Iterable[Iterable]) -> Response:
    """Rows as a CSV attachment, UTF-8 with a BOM so that spreadsheets read ä and ö right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
