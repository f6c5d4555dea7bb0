"""The region's three 2025 targets, checked against two months built by hand on PostgreSQL and
SQLite — one with a municipality's phone statistics missing and a municipality with three
answers — and the feedback endpoint, the care-contacts import and the targets pages as a
team lead uses them."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from desk.inbound import tokens
from desk.models import (
    AccessLog,
    CareContacts,
    ItemFeedback,
    MonthlyArrivals,
    PhoneCalls,
    WorkItem,
)
from desk.reports import targets
from desk.work import lifecycle
from tests.factories import CHANNELS, make_item, make_user
from tests.web import Browser, text

FI = ZoneInfo("Europe/Helsinki")
SEPTEMBER, OCTOBER = date(2026, 9, 1), date(2026, 10, 1)
MUNICIPALITIES = ["askola", "porvoo", "sipoo"]


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=FI)


def two_months(session) -> dict[str, WorkItem]:
    """September and October 2026 in three municipalities (see each block)."""
    made = {}

    def arrived(name, queue, channel, municipality, moment):
        item = make_item(
            session, queue=queue, channel=channel, municipality=municipality, submitted_at=moment
        )
        item.created_at = moment
        made[name] = item
        return item

    # October: Porvoo 3 chats and a form (digital) and 2 callbacks (TeleQ's calls); Sipoo 2
    # Omaolo assessments; Askola a request for help; an anonymous chat of no municipality.
    for n in range(3):
        arrived(f"porvoo-chat-{n}", "chat-regional", "chat", "porvoo", at(10, 2 + n))
    arrived("porvoo-form", "social-porvoo", "eform", "porvoo", at(10, 5))
    for n in range(2):
        arrived(f"porvoo-call-{n}", "callback-regional", "callback", "porvoo", at(10, 6 + n))
    for n in range(2):
        arrived(f"sipoo-{n}", "omaolo-sipoo", "omaolo", "sipoo", at(10, 8 + n))
    arrived("askola", "help-regional", "help-request", "askola", at(10, 9))
    arrived("anonymous", "chat-regional", "chat", None, at(10, 10))
    # 1 October 00:10 in Finland is 30 September in UTC: counted in October.
    arrived("first-minutes", "chat-regional", "chat", "porvoo", at(10, 1, 0, 10))
    # 1 November 00:10 in Finland is still 31 October in UTC: not in October.
    arrived("november", "chat-regional", "chat", "porvoo", at(11, 1, 0, 10))
    # September: a chat from Porvoo.
    arrived("september", "chat-regional", "chat", "porvoo", at(9, 15))

    # TeleQ: October from Porvoo (3 calls on two days) and Askola (5), none from Sipoo;
    # September from all three.
    for day, municipality, calls in [
        (date(2026, 10, 1), "porvoo", 2),
        (date(2026, 10, 2), "porvoo", 1),
        (date(2026, 10, 1), "askola", 5),
        (date(2026, 9, 1), "porvoo", 1),
        (date(2026, 9, 1), "sipoo", 2),
        (date(2026, 9, 1), "askola", 1),
        (date(2026, 11, 1), "sipoo", 50),  # outside
    ]:
        session.add(PhoneCalls(day=day, municipality_code=municipality, calls=calls))

    # Other contacts and care, October: Porvoo 30 of 100 digital (not over 30 %), Sipoo half;
    # none from Askola.
    for municipality, mode, n in [
        ("porvoo", "in_person", 60),
        ("porvoo", "phone", 10),
        ("porvoo", "remote", 20),
        ("porvoo", "digital", 10),
        ("sipoo", "in_person", 50),
        ("sipoo", "digital", 50),
    ]:
        session.add(
            CareContacts(month=OCTOBER, municipality_code=municipality, mode=mode, contacts=n)
        )

    # Satisfaction, October: Porvoo 30 answers (20 of 10, 5 of 8, 5 of 3: NPS 50; 20 satisfied,
    # 5 not, 5 did not say), the first at 00:30 on 1 October; Askola three (10, 10, 2); the
    # anonymous chat one (9); two callbacks of Porvoo rated 0 (phone: not in the target).
    answers = []
    answers += [("porvoo-chat-0", 10, True)] * 20
    answers += [("porvoo-chat-1", 8, False)] * 5 + [("porvoo-form", 3, None)] * 5
    answers += [("askola", 10, True), ("askola", 10, True), ("askola", 2, False)]
    answers += [("anonymous", 9, True), ("porvoo-call-0", 0, False), ("porvoo-call-1", 0, False)]
    session.flush()
    for n, (name, score, satisfied) in enumerate(answers):
        item = made[name]
        session.add(
            ItemFeedback(
                item_id=item.id,
                feedback_id=f"fb-{n}",
                at=at(10, 1, 0, 30) if n == 0 else at(10, 20),
                score=score,
                satisfied=satisfied,
                comment=None,
                channel=item.channel,
                municipality_code=item.municipality_code,
                queue_code=item.queue_code,
            )
        )
    session.flush()
    return made


def test_the_first_line_share_is_measured_where_phone_statistics_are_and_said_where_not(session):
    two_months(session)
    found = targets.build(session, SEPTEMBER, OCTOBER, MUNICIPALITIES)
    first_line = found.first_line
    # October: Porvoo 5 digital (three chats, the form, the first minutes' chat) against 3 calls.
    porvoo = first_line.cell(OCTOBER, "porvoo")
    assert (porvoo.digital, porvoo.other) == (5, 3) and porvoo.value == pytest.approx(5 / 8)
    assert targets.verdict(targets.FIRST_LINE, porvoo) is True
    askola = first_line.cell(OCTOBER, "askola")
    assert askola.value == pytest.approx(1 / 6)
    assert targets.verdict(targets.FIRST_LINE, askola) is False
    # Sipoo has no phone statistics for October: not measured, never 0 %.
    sipoo = first_line.cell(OCTOBER, "sipoo")
    assert sipoo.digital == 2 and sipoo.value is None and not sipoo.measured
    assert targets.verdict(targets.FIRST_LINE, sipoo) is None
    # So the region's October is not measured, and says which municipality it lacks.
    assert first_line.cell(OCTOBER).value is None
    assert first_line.missing == {OCTOBER: ["sipoo"]}
    # September: 1 digital against 4 calls; Sipoo's 0 % is a measured 0 %.
    assert first_line.cell(SEPTEMBER).value == pytest.approx(1 / 5)
    assert first_line.cell(SEPTEMBER, "sipoo").value == 0
    assert first_line.cell(SEPTEMBER, "porvoo").value == pytest.approx(0.5)
    assert targets.verdict(targets.FIRST_LINE, first_line.cell(SEPTEMBER, "porvoo")) is False
    # The period: over September only, the month measured.
    assert first_line.measured_months == [SEPTEMBER]
    assert first_line.period.value == pytest.approx(1 / 5) and first_line.met is False
    # Porvoo's period counts both its months: 6 digital against 4 calls.
    assert first_line.cell(None, "porvoo").value == pytest.approx(6 / 10)
    assert found.contacts_by_channel[OCTOBER] == {
        "chat": 5,
        "eform": 1,
        "omaolo": 2,
        "help-request": 1,
        "phone": 8,
    }
    assert found.phone_days[OCTOBER, "porvoo"] == 2


def test_other_care_is_digital_by_mode_and_missing_where_not_imported(session):
    two_months(session)
    other = targets.build(session, SEPTEMBER, OCTOBER, MUNICIPALITIES).other_care
    porvoo = other.cell(OCTOBER, "porvoo")
    assert (porvoo.digital, porvoo.total) == (30, 100)
    assert targets.verdict(targets.OTHER_CARE, porvoo) is False, "30 % is not over 30 %"
    assert targets.verdict(targets.OTHER_CARE, other.cell(OCTOBER, "sipoo")) is True
    assert other.cell(OCTOBER, "askola").value is None
    assert other.missing == {SEPTEMBER: MUNICIPALITIES, OCTOBER: ["askola"]}
    assert other.measured_months == [] and other.period.value is None and other.met is None
    assert other.missing_runs() == [
        (SEPTEMBER, SEPTEMBER, MUNICIPALITIES),
        (OCTOBER, OCTOBER, ["askola"]),
    ]


def test_satisfaction_is_nps_and_share_satisfied_of_the_digital_services(session):
    two_months(session)
    found = targets.build(session, SEPTEMBER, OCTOBER, MUNICIPALITIES)
    satisfaction = found.satisfaction
    porvoo = satisfaction.cell(OCTOBER, "porvoo")
    assert porvoo.answers == 30 and porvoo.nps == pytest.approx(50)
    assert porvoo.satisfied_share == pytest.approx(20 / 25)
    assert targets.verdict(targets.SATISFACTION, porvoo) is True
    # Three answers: the figures are there, the verdict is not.
    askola = satisfaction.cell(OCTOBER, "askola")
    assert askola.answers == 3 and askola.too_few and askola.nps == pytest.approx(100 / 3)
    assert targets.verdict(targets.SATISFACTION, askola) is None
    assert not satisfaction.cell(OCTOBER, "sipoo").measured
    # The region: Porvoo, Askola and the anonymous chat; the callbacks are phone.
    region = satisfaction.cell(OCTOBER)
    assert region.answers == 34 and region.nps == pytest.approx(50)
    assert satisfaction.met is True and satisfaction.measured_months == [OCTOBER]
    assert satisfaction.missing == {SEPTEMBER: MUNICIPALITIES}
    callbacks = found.satisfaction_by_channel["callback"]
    assert callbacks.answers == 2 and callbacks.nps == -100
    assert found.satisfaction_by_channel["chat"].answers == 26
    assert "callback-regional" not in found.digital_queues
    assert "chat-regional" in found.digital_queues


def test_nps_and_the_verdict_by_hand():
    def answers(*scores, satisfied=0, rated=0):
        return targets.Satisfaction(
            len(scores),
            sum(s >= 9 for s in scores),
            sum(s <= 6 for s in scores),
            satisfied,
            rated,
        )

    enough = [10] * 15 + [7] * 10 + [0] * 5
    assert answers(*enough).nps == pytest.approx(100 * 10 / 30)
    # NPS 33 but 19 of 30 satisfied (63 %): met by the share satisfied.
    assert targets.verdict("satisfied", answers(*enough, satisfied=19, rated=30)) is True
    assert targets.verdict("satisfied", answers(*enough, satisfied=18, rated=30)) is False
    assert targets.verdict("satisfied", answers(*[10] * 29)) is None, "29 answers: too few"
    assert targets.verdict("satisfied", targets.Satisfaction()) is None


def test_a_care_contacts_file_is_all_or_nothing_and_says_where(session):
    bad = (
        "month;municipality;mode;contacts\n"
        "2026-10;Porvoo;remote;12\n"
        "2026-13;Porvoo;remote;1\n"
        "10/2026;Borgå;teleport;1\n"
        "10.2026;Helsinki;phone;1\n"
        "2026-10;Sipoo;puhelin;many\n"
        "2026-10;Sipoo;12\n"
    )
    stored, problems = targets.import_care_contacts(session, bad, {"porvoo", "sipoo"})
    assert stored == 0
    assert [(p.line, p.kind, p.value) for p in problems] == [
        (3, "month", "2026-13"),
        (4, "municipality", "Borgå"),  # a set of codes: names are not known
        (5, "municipality", "Helsinki"),
        (6, "contacts", "many"),
        (7, "columns", "2026-10;Sipoo;12"),
    ]
    assert session.scalars(select(CareContacts)).all() == []
    good = (
        "2026-10;porvoo;Etävastaanotto;12\n10/2026;PORVOO;lähikäynti;30\n10.2026;sipoo;viesti;4\n"
    )
    assert targets.import_care_contacts(session, good, {"porvoo", "sipoo"}) == (2, [])
    # Porvoo's October again, corrected: its month is replaced, Sipoo's stays.
    assert targets.import_care_contacts(session, "2026-10;porvoo;remote;7", {"porvoo"}) == (1, [])
    rows = session.execute(
        select(CareContacts.municipality_code, CareContacts.mode, CareContacts.contacts).order_by(
            CareContacts.municipality_code
        )
    ).all()
    assert [tuple(r) for r in rows] == [("porvoo", "remote", 7), ("sipoo", "digital", 4)]


# --- the feedback endpoint -----------------------------------------------------------------


@pytest.fixture
def source(app_session):
    _row, secret = tokens.create(app_session, "Partner", list(CHANNELS.names()))
    app_session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _delivered(client, source, app_session) -> WorkItem:
    from tests.test_answering import fresh_chat

    payload = fresh_chat()
    assert client.post("/api/v1/inbound/chat", json=payload, headers=source).status_code == 202
    item = app_session.scalar(
        select(WorkItem).where(WorkItem.external_id == payload["external_id"])
    )
    assert item is not None
    return item


def test_the_feedback_endpoint_as_the_contract_says(client, app_session, source):
    from tests.contract import example

    item = _delivered(client, source, app_session)
    url = f"/api/v1/inbound/chat/{item.external_id}/feedback"
    answer = {**example("outbound/feedback.json"), "at": datetime.now(FI).isoformat()}
    # Not resolved yet: 409, nothing kept.
    refused = client.post(url, json=answer, headers=source)
    assert refused.status_code == 409 and refused.json["error"] == "not_resolved"
    nurse = make_user(app_session, queues=["chat-regional"])
    lifecycle.take(app_session, item, nurse)
    lifecycle.resolve(app_session, item, nurse, "self-care-guidance")
    app_session.commit()
    assert client.post(url, json=answer, headers=source).status_code == 202
    # The same feedback_id again, even with another score: the first answer stands.
    again = client.post(url, json={**answer, "score": 0}, headers=source)
    assert again.status_code == 200 and again.json == {"status": "duplicate"}
    kept = app_session.scalars(select(ItemFeedback).where(ItemFeedback.item_id == item.id)).all()
    assert [(k.score, k.satisfied, k.comment, k.channel, k.queue_code) for k in kept] == [
        (9, True, "Sain nopeasti apua, kiitos!", "chat", item.queue_code)
    ]
    # Bad input changes nothing and says what is wrong.
    for body, field in (
        ({**answer, "feedback_id": "x2", "score": 11}, "score"),
        ({**answer, "feedback_id": "x3", "comment": "ä" * 1001}, "comment"),
        ({**answer, "feedback_id": "x4", "at": "yesterday"}, "at"),
    ):
        invalid = client.post(url, json=body, headers=source)
        assert invalid.status_code == 422
        assert field in str(invalid.json["problems"])
    unknown = client.post("/api/v1/inbound/chat/no-such/feedback", json=answer, headers=source)
    assert unknown.status_code == 404
    assert client.post(url, json=answer).status_code == 401
    assert (
        app_session.scalar(select(ItemFeedback.id).where(ItemFeedback.feedback_id == "x2")) is None
    )
    paths = client.get("/api/v1/openapi.json").json["paths"]
    documented = paths["/api/v1/inbound/{channel}/{external_id}/feedback"]["post"]
    assert {"200", "202", "404", "409", "422"} <= set(documented["responses"])


# --- the pages -----------------------------------------------------------------------------


def test_a_lead_reads_the_targets_imports_care_exports_and_reads_comments(app, app_session):
    made = two_months(app_session)
    low = app_session.scalar(
        select(ItemFeedback).where(ItemFeedback.item_id == made["porvoo-form"].id).limit(1)
    )
    low.comment = "Odotin vastausta liian kauan"
    high = app_session.scalar(
        select(ItemFeedback)
        .where(ItemFeedback.item_id == made["porvoo-chat-0"].id)
        .order_by(ItemFeedback.id)
        .limit(1)
    )
    high.comment = "Nopea ja ystävällinen"
    made["porvoo-chat-0"].status, made["porvoo-chat-0"].resolved_at = "resolved", at(9, 30)
    lead = make_user(
        app_session,
        role="team_lead",
        queues=["chat-regional", "social-porvoo"],
        municipalities=["porvoo"],
    )
    app_session.commit()
    browser = Browser(app.test_client()).login(lead)
    page = text(browser.get("/reports/targets?from=2026-09&to=2026-10"))
    # The region has seven municipalities; three imported September, two October.
    assert (
        "Puhelintilastot puuttuvat (lokakuu 2026): Lapinjärvi, Loviisa, Myrskylä, Pukkila, Sipoo."
        in page
    )
    assert 'role="img"' in page and "<title" in page
    assert "liian vähän" in page.lower(), "Askola's three answers are too few to judge"

    # The targets table as CSV: the region's and each municipality's figures per month.
    rows = list(
        csv.DictReader(
            io.StringIO(
                text(browser.get("/reports/targets.csv?from=2026-09&to=2026-10")).lstrip("\ufeff")
            )
        )
    )
    sipoo = next(
        r
        for r in rows
        if (r["target"], r["month"], r["municipality"])
        == ("digital_first_line", "2026-10", "sipoo")
    )
    assert sipoo["measured"] == "" and sipoo["result"] == "not_measured"
    porvoo = next(
        r
        for r in rows
        if (r["target"], r["month"], r["municipality"]) == ("satisfied", "2026-10", "porvoo")
    )
    assert porvoo["answers"] == "30" and porvoo["nps"] == "50.0" and porvoo["result"] == "met"

    # Askola's care contacts for October, imported through the page.
    answer = browser.client.post(
        "/reports/care-contacts?from=2026-09&to=2026-10",
        data={
            "csrf_token": browser.token,
            "file": (
                io.BytesIO(b"2026-10;Askola;remote;40\n2026-10;Askola;in_person;60\n"),
                "c.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302 and "/reports/targets?" in answer.headers["Location"]
    assert app_session.scalar(
        select(CareContacts.contacts).where(CareContacts.municipality_code == "askola")
    )
    refused = browser.client.post(
        "/reports/care-contacts",
        data={
            "csrf_token": browser.token,
            "file": (io.BytesIO(b"2026-10;Askola;fax;4\n"), "c.csv"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "rivi 1" in text(refused) and "fax" in text(refused)

    # The printable page has no forms.
    printable = text(browser.get("/reports/targets/print?from=2026-09&to=2026-10"))
    assert "<form" not in printable.split("<main", 1)[1] and "data-print" in printable

    # The comments: those of the lead's items, the low ones on their own, each look logged.
    before = app_session.scalar(select(AccessLog.id).order_by(AccessLog.id.desc()).limit(1)) or 0
    shown = text(browser.get("/reports/comments?from=2026-09&to=2026-10"))
    assert "Odotin vastausta liian kauan" in shown and "Nopea ja ystävällinen" in shown
    assert f'/items/{made["porvoo-form"].id}"' in shown
    # The comment's link leads to the item, whose page shows the answer with it.
    item_page = text(browser.get(f"/items/{made['porvoo-chat-0'].id}"))
    assert "Nopea ja ystävällinen" in item_page and "10 / 10" in item_page
    low_only = text(browser.get("/reports/comments?from=2026-09&to=2026-10&low=1"))
    assert "Odotin vastausta liian kauan" in low_only and "Nopea ja ystävällinen" not in low_only
    looks = app_session.scalars(
        select(AccessLog).where(AccessLog.id > before).order_by(AccessLog.id)
    ).all()
    # Newest first: the form's comment (20 October), then the chat's (1 October).
    assert [(r.purpose, r.item_id, r.user_id) for r in looks] == [
        ("feedback", made["porvoo-form"].id, lead.id),
        ("feedback", made["porvoo-chat-0"].id, lead.id),
        ("view", made["porvoo-chat-0"].id, lead.id),
        ("feedback", made["porvoo-form"].id, lead.id),
    ]

    # A lead of other municipalities sees no Porvoo comments; a professional no targets.
    other = make_user(
        app_session, role="team_lead", queues=["chat-regional"], municipalities=["sipoo"]
    )
    app_session.commit()
    elsewhere = text(Browser(app.test_client()).login(other).get("/reports/comments"))
    assert "Odotin" not in elsewhere
    nurse = Browser(app.test_client()).login(make_user(app_session))
    for url in ("/reports/targets", "/reports/targets.csv", "/reports/comments"):
        assert nurse.get(url).status_code == 403


def test_an_ended_months_arrivals_are_kept_and_counted_again_when_a_caller_says_where_they_live(
    session,
):
    from desk.work import calls
    from tests.test_calls import PID

    made = two_months(session)
    december = at(12, 1)
    found = targets.build(session, SEPTEMBER, OCTOBER, MUNICIPALITIES, now=december)
    kept = session.scalars(select(MonthlyArrivals).where(MonthlyArrivals.month == OCTOBER))
    assert sum(row.items for row in kept) == 11
    assert found.first_line.cell(OCTOBER, "porvoo").digital == 5
    # Read back, not counted again: a chat written into October behind the desk's back (as
    # no intake can) is not seen.
    late = make_item(session, queue="chat-regional", municipality="porvoo", submitted_at=at(10, 3))
    late.created_at = at(10, 3)
    session.flush()
    again = targets.build(session, SEPTEMBER, OCTOBER, MUNICIPALITIES, now=december)
    assert again.first_line.cell(OCTOBER, "porvoo").digital == 5
    # A month not yet ended is always counted from the items.
    live = targets.build(session, SEPTEMBER, OCTOBER, MUNICIPALITIES, now=at(10, 31))
    assert live.first_line.cell(OCTOBER, "porvoo").digital == 6
    # A caller of October says they live in Sipoo: October is counted afresh.
    nurse = make_user(session, queues=["callback-regional"])
    caller = made["porvoo-call-0"]
    lifecycle.take(session, caller, nurse)
    calls.identify_caller(
        session, caller, nurse, personal_id=PID, name="Maija", municipality_code="sipoo"
    )
    recounted = targets.build(session, SEPTEMBER, OCTOBER, MUNICIPALITIES, now=december)
    assert recounted.first_line.cell(OCTOBER, "porvoo").digital == 6


def test_the_monthly_chart_has_a_percent_axis_a_target_line_and_month_labels_that_fit():
    from desk.reports import charts

    months = targets.months_between(date(2025, 12, 1), date(2026, 11, 1))
    values = [None] * 11 + [0.37]
    chart = charts.monthly_shares(months, values, 0.5)
    assert [t.value for t in chart.y_ticks] == [0, 25, 50, 75, 100]
    bottom, top = chart.y_ticks[0].position, chart.y_ticks[-1].position
    assert chart.target_y == pytest.approx((bottom + top) / 2)
    # One bar, for the month measured; the other eleven are gaps, not bars of 0.
    assert len(chart.bars) == 1 and len(chart.gaps) == 11
    assert chart.bars[0].height == pytest.approx((bottom - top) * 0.37, abs=0.01)
    # Twelve months' labels would overlap: every other one.
    assert [t.value for t in chart.x_ticks] == months[::2]
    assert [t.value for t in charts.monthly_shares(months[:4], [0.1] * 4, 0.3).x_ticks] == (
        months[:4]
    )
