"""Reports from the item events, checked against a history built by hand, on PostgreSQL and
SQLite: counts per day in Finnish days, the backlog, durations, deadlines, the digital share."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from desk import reports
from desk.models import ItemEvent, ItemMessage, PhoneCalls
from tests.factories import make_item, make_user

FI = ZoneInfo("Europe/Helsinki")


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=FI)


def history(session):
    nurse = make_user(session, queues=["chat-regional"])
    items = {}

    def item(name, queue, channel, municipality, arrived, due=None, taken=None, resolved=None):
        it = make_item(
            session, queue=queue, channel=channel, municipality=municipality, submitted_at=arrived
        )
        it.due_at = due
        it.created_at = arrived
        session.add(ItemEvent(item=it, kind="routed", at=arrived, to_queue_code=queue))
        if taken:
            it.first_action_at = taken
            session.add(ItemEvent(item=it, kind="taken", at=taken, actor=nurse))
        if resolved:
            it.status, it.resolved_at = "resolved", resolved
            session.add(
                ItemEvent(
                    item=it, kind="resolved", at=resolved, actor=nurse, outcome_code="advice-given"
                )
            )
        items[name] = it

    item("A", "chat-regional", "chat", "porvoo", at(1, 8), at(1, 10), at(1, 8, 30), at(1, 9))
    item("B", "omaolo-sipoo", "omaolo", "sipoo", at(1, 23, 30), at(2, 0, 30), at(2, 1), at(3, 12))
    item("C", "social-porvoo", "eform", "porvoo", at(30, 10, month=9), resolved=at(2, 10))
    item("D", "help-regional", "help-request", None, at(3, 23, 59))
    # 00:10 on 4 October in Finland is still 3 October in UTC: outside the period.
    item("E", "help-regional", "help-request", None, at(4, 0, 10))
    session.flush()
    return items


def test_a_period_is_counted_in_finnish_days_from_the_events(session):
    history(session)
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 4))
    assert report.arrivals == 3 and report.resolutions == 3
    assert report.by_day == {
        date(2026, 10, 1): [2, 1],
        date(2026, 10, 2): [0, 1],
        date(2026, 10, 3): [1, 1],
    }
    assert report.backlog == {
        date(2026, 10, 1): 2,
        date(2026, 10, 2): 1,
        date(2026, 10, 3): 1,
    }
    assert report.by_hour[8] == 1 and report.by_hour[23] == 2 and sum(report.by_hour) == 3
    assert report.by_channel == {
        "chat": [1, 1],
        "omaolo": [1, 1],
        "help-request": [1, 0],
        "eform": [0, 1],
    }
    assert report.by_municipality == {"porvoo": [1, 2], "sipoo": [1, 1], None: [1, 0]}
    assert report.by_queue["omaolo-sipoo"] == [1, 1]
    assert report.outcomes == {"advice-given": 3}


def test_durations_deadlines_and_the_digital_share(session):
    history(session)
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 4))
    # First action: A after 30 min, B after 90 min (D was never taken).
    assert report.first_action_minutes == pytest.approx({"median": 60, "p90": 84})
    # Resolution: A 60 min, B 36.5 h, C two days.
    assert report.resolution_minutes == pytest.approx({"median": 2190, "p90": 2742})
    # A's deadline was met on both counts, B's on neither.
    assert (report.deadlines, report.deadline_first_action_met) == (2, 1)
    assert report.deadline_resolved_met == 1 and report.attainment == 0.5
    assert report.digital_share is None, "no phone figures yet"
    stored, problems = reports.import_phone_calls(
        session,
        "date;municipality;calls\n2026-10-01;porvoo;3\n2026-10-02;sipoo;1\n",
        {"porvoo", "sipoo"},
    )
    assert (stored, problems) == (2, [])
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 4))
    assert report.phone_calls == 4 and report.digital_share == pytest.approx(3 / 7)


def test_matters_resolved_with_a_message_instead_of_a_call(session):
    items = history(session)

    def wrote(name, kind):
        session.add(
            ItemMessage(
                id=f"msg-{name}-{kind}",
                item_id=items[name].id,
                outgoing=True,
                at=items[name].created_at,
                text="…",
                language="fi",
                kind=kind,
                state="delivered",
            )
        )

    wrote("A", "reply")  # a chat's replies are the chat, not a message instead of a call
    wrote("C", "request-for-information")  # the application, completed by message
    wrote("B", "message")
    items["B"].outcome_code = "callback-arranged"  # ...but settled on the phone after all
    session.flush()
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 4))
    assert (report.resolved_with_message, report.resolved_with_call) == (1, 1)
    assert report.message_share == 0.5
    # D, still open, and E, outside the period, count in neither.
    wrote("D", "message")
    session.flush()
    assert reports.build(session, date(2026, 10, 1), date(2026, 10, 4)).message_share == 0.5
    assert reports.Report(date(2026, 10, 1), date(2026, 10, 2)).message_share is None


def test_a_bad_phone_file_stores_nothing_and_says_where(session):
    stored, problems = reports.import_phone_calls(
        session,
        "2026-10-01;porvoo;3\n2026-13-01;porvoo;1\n2026-10-02;tampere;2\nrubbish\n",
        {"porvoo"},
    )
    assert stored == 0 and [(p.line, p.kind) for p in problems] == [
        (2, "date"),
        (3, "municipality"),
        (4, "columns"),
    ]
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 3))
    assert report.phone_calls == 0


def test_teleq_names_the_municipalities_as_people_write_them(session):
    names = reports.municipality_names(
        [("porvoo", "Porvoo", "Borgå", "Porvoo"), ("lapinjarvi", "Lapinjärvi", "Lappträsk", "")]
    )
    stored, problems = reports.import_phone_calls(
        session,
        "Päivä;Kunta;Puhelut\n"
        "2026-10-01;Porvoo;3\n"
        "2.10.2026;BORGÅ;4\n"
        "2026-10-01;lapinjärvi ;1\n"
        "2026-10-02,Lapintjärvi,2\n",
        names,
    )
    assert stored == 0 and problems == [reports.LineProblem(5, "municipality", "Lapintjärvi")]
    stored, problems = reports.import_phone_calls(
        session,
        "2026-10-01;Porvoo;3\n2.10.2026;BORGÅ;4\n2026-10-01;LAPINJARVI;1\n"
        "2026-10-02;Lappträsk;2\n2026-10-02;lapinjarvi;5\n",
        names,
    )
    assert (stored, problems) == (4, []), "the last count of a day stands"
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 3))
    assert report.phone_by_municipality == {"porvoo": 7, "lapinjarvi": 6}


def test_the_2025_targets_are_met_not_met_or_not_measured():
    report = reports.Report(date(2026, 10, 1), date(2026, 10, 2), arrivals=6)
    goals = {goal.key: goal for goal in report.targets}
    assert list(goals) == ["digital_first_line", "digital_other", "satisfied"]
    assert goals["digital_first_line"].met is None
    assert goals["digital_first_line"].missing == "phone_calls"
    assert goals["digital_other"].met is None and goals["satisfied"].threshold == 0.6
    report.phone_calls = 6  # exactly half: the target is over 50 %
    assert report.targets[0].measured == 0.5 and report.targets[0].met is False
    report.phone_calls = 5
    assert report.targets[0].met is True and report.targets[0].missing is None


def test_the_previous_period_has_the_same_length():
    assert reports.previous(date(2026, 10, 1), date(2026, 11, 1)) == (
        date(2026, 8, 31),
        date(2026, 10, 1),
    )


def test_the_report_page_csv_and_phone_import_for_a_lead(app, app_session):
    import csv
    import io

    from tests.web import Browser, text

    history(app_session)
    lead = make_user(app_session, role="team_lead", queues=["chat-regional"])
    browser = Browser(app.test_client()).login(lead)
    page = browser.get("/reports?from=2026-10-01&to=2026-10-03")
    assert page.status_code == 200
    body = text(page)
    assert "<svg" in body and 'role="img"' in body
    rows = list(
        csv.reader(
            io.StringIO(
                text(browser.get("/reports/items.csv?from=2026-10-01&to=2026-10-03")).lstrip(
                    "\ufeff"
                )
            )
        )
    )
    assert rows[0][:3] == ["item_id", "channel", "municipality"]
    assert [r[1] for r in rows[1:]] == ["chat", "omaolo", "help-request"]
    by_due = [rows[0].index("first_action_by_due"), rows[0].index("resolved_by_due")]
    assert [rows[1][n] for n in by_due] == ["1", "1"] and [rows[2][n] for n in by_due] == ["0", "0"]
    assert rows[0][-1] == "messages_to_resident" and {r[-1] for r in rows[1:]} == {"0"}
    answer = browser.client.post(
        "/reports/phone-calls?from=2026-10-01&to=2026-10-03",
        data={
            "csrf_token": browser.token,
            "file": (io.BytesIO(b"date;municipality;calls\n2026-10-01;porvoo;3\n"), "teleq.csv"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    shown = text(browser.get("/reports?from=2026-10-01&to=2026-10-03"))
    assert "50 %" in shown, "3 digital contacts against 3 phone calls"
    nurse = Browser(app.test_client()).login(make_user(app_session))
    assert nurse.get("/reports").status_code == 403


def test_the_headline_of_a_period_agrees_with_its_full_report(session):
    history(session)
    full = reports.build(session, date(2026, 10, 1), date(2026, 10, 4))
    short = reports.headline(session, date(2026, 10, 1), date(2026, 10, 4))
    assert (short.arrivals, short.resolutions, short.attainment) == (
        full.arrivals,
        full.resolutions,
        full.attainment,
    )


def test_the_daily_chart_has_round_numbers_up_its_axis_and_dates_that_fit():
    from datetime import timedelta

    from desk.reports import charts

    days = [date(2026, 10, 1) + timedelta(days=n) for n in range(31)]
    arrived = [n % 7 * 6 for n in range(31)]  # up to 36
    chart = charts.daily_bars(days, [arrived, [3] * 31])
    assert [t.value for t in chart.y_ticks] == [0, 10, 20, 30, 40]
    assert chart.y_ticks[0].position == chart.bottom and chart.y_ticks[-1].position == chart.top
    labelled = [t.value for t in chart.x_ticks]
    assert labelled[0] == days[0] and labelled[-1] == days[-1]
    gaps = [b.position - a.position for a, b in itertools.pairwise(chart.x_ticks)]
    assert min(gaps) >= charts.LABEL_ROOM, "no two dates overlap"
    tallest = max(chart.bars[0], key=lambda bar: bar.value)
    assert tallest.value == 36 and tallest.height == pytest.approx(
        (chart.bottom - chart.top) * 36 / 40
    )
    # Each day's two bars sit side by side within its slot, the arrivals first.
    assert chart.bars[0][3].x + chart.bars[0][3].width == pytest.approx(chart.bars[1][3].x)
    week = charts.daily_bars(days[:7], [[0] * 7, [0] * 7])
    assert [t.value for t in week.x_ticks] == days[:7], "a week: every day labelled"
    assert [t.value for t in week.y_ticks] == [0, 1], "an empty week still has an axis"


def test_a_lead_imports_teleq_with_the_municipalities_names_or_is_told_what_is_expected(
    app, app_session
):
    import io

    from tests.web import Browser, text

    lead = make_user(app_session, role="team_lead", queues=["chat-regional"], language="sv")
    browser = Browser(app.test_client()).login(lead)
    browser.get("/reports?from=2026-10-01&to=2026-10-03")

    def send(content: bytes):
        answer = browser.client.post(
            "/reports/phone-calls?from=2026-10-01&to=2026-10-03",
            data={"csrf_token": browser.token, "file": (io.BytesIO(content), "teleq.csv")},
            content_type="multipart/form-data",
        )
        assert answer.status_code == 302
        return text(browser.get(answer.headers["Location"]))

    page = send("datum;kommun;samtal\n2026-10-01;Porvoo;3\n2.10.2026;Borgå;2\n".encode())
    assert "Samtalsmängder importerades för 2 dagar." in page
    page = send(b"2026-10-01;Helsinki;3\n2026-10-01;porvoo;kolme\n")
    assert "Inget importerades" in page
    assert "rad 1: ”Helsinki” är inte en av områdets kommuner" in page
    assert "Askola, Borgå, Lappträsk, Lovisa, Mörskom, Pukkila, Sibbo" in page
    assert "rad 2: ”kolme” är inte ett antal samtal" in page
    # The first file's calls stay: a refused file stores nothing.
    page = text(browser.get("/reports?from=2026-10-01&to=2026-10-03"))
    assert "Digitala kontakter 0, samtal 5" in page


def test_the_report_page_shows_the_targets_and_a_chart_with_axes_dates_and_a_legend(
    app, app_session
):
    from tests.web import Browser, text

    history(app_session)
    app_session.add(PhoneCalls(day=date(2026, 10, 1), municipality_code="porvoo", calls=2))
    app_session.flush()
    for language, words in (
        ("fi", ["Täyttyy", "Mitataan kuukausittain", "Selite", "Saapuneet (täytetyt pylväät)"]),
        ("sv", ["Uppfyllt", "Mäts per månad", "Teckenförklaring", "Inkomna (fyllda staplar)"]),
    ):
        lead = make_user(app_session, role="team_lead", queues=["chat-regional"], language=language)
        page = text(
            Browser(app.test_client()).login(lead).get("/reports?from=2026-10-01&to=2026-10-03")
        )
        for word in words:
            assert word in page, (language, word)
        # 3 arrivals against 2 calls: 60 %, over the 50 % target.
        assert '<td class="num">60 %</td>' in page
        for label in ("1.10.", "2.10.", "3.10."):
            assert f">{label}</text>" in page, (language, label)
        assert page.count('class="y-label"') >= 2 and page.count('class="axis-title"') == 2
        assert 'aria-describedby="days-chart-desc"' in page
        assert " style=" not in page, "no inline style (CSP)"


def test_phone_work_callbacks_by_hour_and_topic_and_what_came_of_the_calls(session):
    history(session)

    def callback(topic, arrived, due, *results, channel="callback"):
        it = make_item(
            session,
            queue="callback-regional",
            channel=channel,
            submitted_at=arrived,
            content={"callback": {"topic": topic, "phone": "+358401234567"}},
        )
        it.created_at, it.due_at = arrived, due
        session.add(ItemEvent(item=it, kind="routed", at=arrived, to_queue_code=it.queue_code))
        for when, result in results:
            session.add(ItemEvent(item=it, kind="call_attempt", at=when, outcome_code=result))
        return it

    # Called at 9.20, no answer; again at 10.30, reached: two attempts, 20 min to the first.
    callback("health", at(1, 9), at(1, 16), (at(1, 9, 20), "no-answer"), (at(1, 10, 30), "reached"))
    # Reached at once, 60 min after the request, after its window had ended.
    callback("social", at(2, 9, 15), at(2, 10), (at(2, 10, 15), "reached"))
    # Never reached in three attempts.
    callback(
        "health",
        at(2, 13),
        at(2, 16),
        (at(2, 13, 30), "busy"),
        (at(2, 14, 40), "no-answer"),
        (at(3, 8), "voicemail"),
    )
    # Arrived in the period, not yet called; its deadline is after the period.
    callback("health", at(3, 15, 50), at(5, 16))
    # First called before the period: not one of the period's residents.
    callback(
        "health",
        at(30, 9, month=9),
        at(30, 16, month=9),
        (at(30, 9, 30, month=9), "busy"),
        (at(1, 11), "reached"),
    )
    # An Omaolo contact request called and reached: a resident called, not a callback request.
    callback("omaolo", at(1, 12), None, (at(1, 12, 40), "reached"), channel="omaolo")
    session.flush()

    work = reports.build(session, date(2026, 10, 1), date(2026, 10, 4)).phone_work
    assert work.callbacks == 4
    assert work.callbacks_by_hour[9] == 2 and work.callbacks_by_hour[13] == 1
    assert work.callbacks_by_hour[15] == 1 and sum(work.callbacks_by_hour) == 4
    assert work.callbacks_by_topic == {"health": 3, "social": 1}
    assert (work.called, work.attempts, work.reached) == (4, 7, 3)
    assert work.reached_first == 2 and work.reached_first_share == 0.5
    assert work.attempts_to_reach == 4 and work.attempts_per_reached == pytest.approx(4 / 3)
    # Request to the first attempt, callbacks only: 20, 60, 30 minutes.
    assert work.first_attempt_minutes == pytest.approx({"median": 30, "p90": 54})
    # Deadlines in the period: 1 Oct 16.00 (called 9.20), 2 Oct 10.00 (called 10.15, late),
    # 2 Oct 16.00 (called 13.30).
    assert (work.deadlines, work.deadlines_met) == (3, 2)
    assert work.attainment == pytest.approx(2 / 3)

    # Callbacks are phone contacts: TeleQ's statistics count them, the digital share does not.
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 4))
    assert (report.arrivals, report.phone_arrivals, report.digital_arrivals) == (8, 4, 4)
    reports.import_phone_calls(session, "2026-10-01;porvoo;12\n", {"porvoo"})
    report = reports.build(session, date(2026, 10, 1), date(2026, 10, 4))
    assert report.digital_share == pytest.approx(4 / 16)
