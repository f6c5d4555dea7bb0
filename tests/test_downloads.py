"""Downloads: spreadsheets get text, not formulas; nothing but static files is cached."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from desk.views.downloads import csv_download
from tests.factories import make_user
from tests.web import Browser, text


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+358401234567", "'+358401234567"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindented", "'\tindented"),
        ("\r=1", "'\r=1"),
        ("Anna = Anni", "Anna = Anni"),
        ("Åsa", "Åsa"),
        (-5, "-5"),
        (0, "0"),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell, written):
    response = csv_download("x.csv", ["value"], [[cell]])
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["value"], [written]]


def test_the_reports_csv_and_api_answers_are_not_cached_but_static_files_are(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["help-regional"])
    browser = Browser(app.test_client()).login(lead)
    exported = browser.get("/reports/items.csv")
    assert exported.status_code == 200 and exported.headers["Cache-Control"] == "no-store"
    assert text(exported).startswith("\ufeff")
    assert browser.get("/api/v1/openapi.json").headers["Cache-Control"] == "no-store"
    static = browser.get("/static/css/desk.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_every_download_link_is_left_to_the_browser():
    """The body boosts links with htmx, which would swap a file's text into the page: every
    link to a file says `hx-boost="false"` (tests/test_browser_downloads.py clicks them)."""
    templates = Path(__file__).resolve().parents[1] / "desk" / "templates"
    links = [
        (path.name, tag)
        for path in templates.rglob("*.html")
        for tag in re.findall(r"<a\b[^>]*>", path.read_text(encoding="utf-8"))
        if re.search(r"\sdownload\b", tag)
    ]
    assert len(links) >= 6
    assert [link for link in links if 'hx-boost="false"' not in link[1]] == []
