"""Legal deadlines from the working-day calendar, in Europe/Helsinki."""

from __future__ import annotations

from datetime import datetime

import pytest

from desk.inbound.deadlines import HELSINKI, is_working_day
from tests.factories import CHANNELS


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HELSINKI)


def deadline_for(
    channel, submitted, *, assessment_kind=None, urgency=None, form_type=None, urgent=False
):
    """The deadline the channel's adapter gives a delivery with these facts."""
    payload = {
        "assessment": {"kind": assessment_kind, "urgency": urgency},
        "form": {"type": form_type},
        "urgent": urgent,
    }
    return CHANNELS.get(channel).deadline(payload, submitted)


def due(channel: str, submitted: str, **kw) -> str:
    d = deadline_for(channel, at(submitted), **kw).due_at
    return d.astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M")


SAME_DAY = {"assessment_kind": "symptom", "urgency": "P4"}


@pytest.mark.parametrize(
    ("submitted", "expected", "why"),
    [
        ("2026-11-25 09:00", "2026-11-25 16:00", "working day morning"),
        ("2026-11-25 15:59", "2026-11-25 16:00", "just before closing"),
        ("2026-11-25 16:00", "2026-11-26 16:00", "at closing: next working day"),
        ("2026-11-27 17:00", "2026-11-30 16:00", "Friday evening: Monday"),
        ("2026-11-28 10:00", "2026-11-30 16:00", "Saturday: Monday"),
        ("2026-12-23 17:00", "2026-12-28 16:00", "Christmas Eve, Christmas, weekend"),
        ("2027-03-25 17:00", "2027-03-30 16:00", "Good Friday and Easter Monday"),
        ("2026-06-18 16:30", "2026-06-22 16:00", "Midsummer Eve and Day"),
        ("2027-12-03 16:30", "2027-12-07 16:00", "Independence Day on a Monday"),
        ("2026-04-30 16:30", "2026-05-04 16:00", "May Day on a Friday"),
        ("2026-12-31 12:00", "2026-12-31 16:00", "New Year's Eve is a working day"),
    ],
)
def test_need_assessment_the_same_working_day(submitted, expected, why):
    assert due("omaolo", submitted, **SAME_DAY) == expected, why
    assert due("help-request", submitted) == expected, why
    assert due("eform", submitted, form_type="health-questionnaire") == expected, why


def test_days_treated_as_holidays_by_act_150_1930():
    for day in ["2026-12-24", "2026-06-19", "2026-05-01", "2027-12-06"]:
        assert not is_working_day(datetime.fromisoformat(day).date()), day
    assert is_working_day(datetime.fromisoformat("2026-12-31").date())


def test_emergency_p0_is_due_in_fifteen_minutes_any_hour():
    d = deadline_for("omaolo", at("2026-11-28 23:55"), assessment_kind="symptom", urgency="P0")
    assert d.emergency
    assert d.due_at == at("2026-11-29 00:10")


@pytest.mark.parametrize(
    ("urgency", "submitted", "expected"),
    [
        ("P1", "2026-11-25 09:00", "2026-11-25 11:00"),
        ("P2", "2026-11-25 09:00", "2026-11-25 19:00"),
        # Daylight saving ends 25.10.2026 04:00 -> 03:00: ten real hours, not wall-clock.
        ("P2", "2026-10-24 20:00", "2026-10-25 05:00"),
        # Daylight saving starts 29.3.2026 03:00 -> 04:00.
        ("P1", "2026-03-29 02:30", "2026-03-29 05:30"),
    ],
)
def test_urgent_symptoms_count_real_hours(urgency, submitted, expected):
    d = deadline_for("omaolo", at(submitted), assessment_kind="symptom", urgency=urgency)
    assert not d.emergency
    assert d.due_at.astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M") == expected


def test_social_forms_have_seven_working_days():
    assert due("eform", "2026-11-25 10:03", form_type="income-support") == "2026-12-04 16:00"
    assert due("eform", "2026-12-18 09:00", form_type="disability-services") == ("2026-12-31 16:00")
    assert due("eform", "2026-11-28 09:00", form_type="social-care-need") == "2026-12-08 16:00"


def test_urgent_income_support_is_due_the_next_working_day():
    assert due("eform", "2026-11-25 10:03", form_type="income-support", urgent=True) == (
        "2026-11-26 16:00"
    )
    assert due("eform", "2026-12-23 08:00", form_type="income-support", urgent=True) == (
        "2026-12-28 16:00"
    )


def test_service_assessments_are_same_day_and_chat_has_no_deadline():
    assert due("omaolo", "2026-11-24 18:20", assessment_kind="service") == "2026-11-25 16:00"
    assert deadline_for("chat", at("2026-11-25 09:00")).due_at is None
