"""Response templates' placeholders, and Markdown from editors rendered safe."""

from __future__ import annotations

from html.parser import HTMLParser

from desk.guidance.markup import render
from desk.guidance.responses import check_template, fill, first_name, unfilled


def test_placeholders_with_values_are_filled_and_the_rest_listed():
    filled = fill(
        "Hei {first_name}, varaa aika: {self_booking_link}. {professional}, {queue} {other}",
        {"first_name": "Aino", "self_booking_link": None, "professional": "Hanna", "queue": ""},
    )
    assert filled.text == "Hei Aino, varaa aika: {self_booking_link}. Hanna, {queue} {other}"
    assert filled.missing == ["self_booking_link", "queue", "other"]


def test_a_text_about_to_be_saved_names_its_unfilled_known_placeholders_once():
    text = "Hei {first_name}! {first_name}, {deadline}. Asukas kirjoitti {jotain} ja {}."
    assert unfilled(text) == ["first_name", "deadline"]
    assert unfilled("Valmis viesti.") == [] and unfilled(None) == []


def test_first_name_is_the_first_of_the_names():
    assert first_name("Aino Maria Virtanen") == "Aino"
    assert first_name("  ") is None and first_name(None) is None


def test_markdown_keeps_lists_emphasis_and_safe_links_only():
    html = render(
        "**Tärkeää**: soita\n\n1. yksi\n2. kaksi\n\n- [Omaolo](https://www.omaolo.fi/)\n"
        "- [puhelin](tel:+358401234567)\n"
    )
    assert "<strong>Tärkeää</strong>" in html and "<ol>" in html and "<li>kaksi</li>" in html
    assert '<a href="https://www.omaolo.fi/" rel="noopener noreferrer">Omaolo</a>' in html
    assert 'href="tel:+358401234567"' in html


def test_markdown_never_carries_script_handlers_or_other_schemes():
    hostile = (
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[klikkaa](javascript:alert(3)) [data](data:text/html,<b>x</b>)\n\n"
        '<a href="https://x.example" onclick="alert(4)">x</a>\n\n![kuva](https://x.example/a.png)'
    )
    html = render(hostile)
    elements = Elements()
    elements.feed(html)
    assert {tag for tag, _ in elements.found} <= {"p", "a"}
    # The raw <a onclick> is text; the image is only a link to it (nothing loads by itself).
    assert [attrs for tag, attrs in elements.found if tag == "a"] == [
        {"href": "https://x.example/a.png", "rel": "noopener noreferrer"}
    ]
    assert "&lt;script&gt;" in html  # what was typed is shown as text, harmless


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_a_template_form_is_checked_field_by_field():
    known = dict(municipalities={"porvoo"}, channels={"chat"}, service_areas={"health"})
    good = {
        "title_fi": "Ajanvaraus",
        "title_sv": "Tidsbokning",
        "body_fi": "Hei {first_name}, varaa aika: {self_booking_link}",
        "body_sv": "Hej {first_name}!",
        "municipality": "porvoo",
        "channel": "",
        "active": "on",
    }
    values, problems = check_template(good, **known)
    assert problems == {}
    assert values["municipality_code"] == "porvoo" and values["channel"] is None
    assert values["active"] is True
    _, problems = check_template(
        {**good, "title_sv": " ", "body_fi": "Hei {etunimi}", "channel": "fax"}, **known
    )
    assert problems == {
        "title_sv": "required",
        "body_fi": "unknown_placeholder",
        "channel": "unknown",
    }
