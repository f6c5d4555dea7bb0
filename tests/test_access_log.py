"""The access log: every display of a resident's data writes a row, nothing can change or
remove one, and an auditor finds and exports a resident's log."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError

from desk.models import AccessLog, AccessPurpose, WorkItem
from desk.pid import synthetic
from desk.work.access import record_access
from tests.factories import make_item, make_user
from tests.web import Browser, text

RESIDENT = "Elina Esimerkki"


def identified_item(session, queue="omaolo-porvoo", municipality="porvoo") -> WorkItem:
    import random
    from datetime import date

    item = make_item(
        session,
        queue=queue,
        municipality=municipality,
        personal_id=synthetic(random.Random(len(queue)), date(1970, 5, 1)),
    )
    item.resident_name = RESIDENT
    session.flush()
    return item


def rows_for(session, item_id: int) -> list[AccessLog]:
    return list(
        session.scalars(
            select(AccessLog).where(AccessLog.item_id == item_id).order_by(AccessLog.id)
        )
    )


def test_every_route_that_shows_a_resident_writes_a_log_row(app, app_session):
    """Each route of an item, called as its user would: whenever the answer shows the
    resident, a row says who, which item, which resident and why."""
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    browser = Browser(app.test_client()).login(nurse)
    displaying = []
    for rule in app.url_map.iter_rules():
        if "item_id" not in rule.arguments:
            continue
        item = identified_item(app_session)
        method = "GET" if "GET" in rule.methods else "POST"
        url = rule.build({"item_id": item.id}, append_unknown=False)[1]
        before = len(rows_for(app_session, item.id))
        if method == "GET":
            answer = browser.get(url)
        else:
            browser.post(f"/items/{item.id}/take")  # most actions need the item in hand
            before = len(rows_for(app_session, item.id))
            answer = browser.post(url, {"text": "Soitettu.", "outcome": "self-care-guidance"})
        if RESIDENT not in text(answer):
            continue
        displaying.append(rule.endpoint)
        new = rows_for(app_session, item.id)[before:]
        assert new, f"{method} {rule.rule} showed the resident without a log row"
        for row in new:
            assert (row.user_id, row.username, row.role) == (
                nurse.id,
                nurse.username,
                "professional",
            )
            assert row.resident_id == item.personal_id
            assert (row.queue_code, row.municipality_code) == ("omaolo-porvoo", "porvoo")
        expected = {"items.summary": "export"}.get(rule.endpoint, "view")
        assert (expected if method == "GET" else "action") in {row.purpose for row in new}
    # Not vacuous: the item page and its actions were among them.
    assert {"items.show", "items.note", "items.reveal", "items.resolve"} <= set(displaying)


def test_copying_an_item_for_the_client_system_is_an_export_of_plain_text(app, app_session):
    from desk.work import lifecycle

    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    item = identified_item(app_session)
    item.content = {
        "conversation": [
            {"sender": "resident", "sent_at": item.submitted_at.isoformat(), "text": "<b>Apua</b>"}
        ]
    }
    lifecycle.take(app_session, item, nurse)
    lifecycle.add_note(app_session, item, nurse, "Soitettu, ohjattu Lifecareen.")
    app_session.commit()
    browser = Browser(app.test_client()).login(nurse)
    answer = browser.get(f"/items/{item.id}/summary")
    body = text(answer)
    assert answer.mimetype == "text/plain" and answer.headers["Cache-Control"] == "no-store"
    assert RESIDENT in body and item.personal_id in body  # the whole code, for the system
    assert "<b>Apua</b>" in body and "Soitettu, ohjattu Lifecareen." in body
    rows = rows_for(app_session, item.id)
    assert [r.purpose for r in rows][-1] == "export" and rows[-1].user_id == nurse.id


def test_revealing_the_personal_identity_code_is_its_own_row(app, browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    item = identified_item(app_session)
    browser.login(nurse)
    browser.get(f"/items/{item.id}")
    assert item.personal_id not in text(browser.get(f"/items/{item.id}"))
    answer = browser.post(f"/items/{item.id}/reveal")
    assert item.personal_id in text(answer)
    assert [r.purpose for r in rows_for(app_session, item.id)][-2:] == ["action", "reveal"]


def test_the_log_cannot_be_changed_or_removed(session):
    user = make_user(session)
    item = make_item(session)
    record_access(session, user, AccessPurpose.VIEW, item=item)
    session.flush()
    for statement in (
        update(AccessLog).values(username="someone-else"),
        delete(AccessLog),
    ):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
        nested.rollback()
    assert session.scalar(select(AccessLog.username)) == user.username


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE access_log",
        "TRUNCATE access_log RESTART IDENTITY",
        # A cascade from the items or the accounts the log names would empty it too.
        "TRUNCATE work_item CASCADE",
        "TRUNCATE user_account CASCADE",
    ],
)
def test_the_log_cannot_be_emptied_with_truncate(session, statement):
    if session.get_bind().dialect.name != "postgresql":
        # SQLite has no TRUNCATE; its truncating form is a DELETE without WHERE.
        statement = "DELETE FROM access_log"
    user = make_user(session)
    record_access(session, user, AccessPurpose.VIEW, item=make_item(session))
    session.flush()
    nested = session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(sql(statement))
    nested.rollback()
    assert session.scalar(select(func.count()).select_from(AccessLog)) == 1


def test_no_route_writes_to_the_log(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("audit."):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_an_auditor_finds_and_exports_a_residents_log(app, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"], name="Hanna Hoitaja")
    auditor = make_user(app_session, role="auditor", queues=[], name="Tuula Tarkastaja")
    item = identified_item(app_session)
    other = identified_item(app_session, queue="omaolo-sipoo", municipality="sipoo")
    browser = Browser(app.test_client()).login(nurse)
    browser.get(f"/items/{item.id}")
    browser.get(f"/items/{item.id}")
    colleague = make_user(app_session, queues=["omaolo-sipoo"])
    Browser(app.test_client()).login(colleague).get(f"/items/{other.id}")

    audit = Browser(app.test_client()).login(auditor)
    assert audit.get(f"/items/{item.id}").status_code == 403, "an auditor opens no item"
    page = text(audit.get(f"/audit?resident={item.personal_id}"))
    assert page.count("Hanna Hoitaja") == 2 and colleague.display_name not in page
    searched = app_session.scalars(
        select(AccessLog).where(AccessLog.purpose == "audit", AccessLog.user_id == auditor.id)
    ).all()
    assert [r.resident_id for r in searched] == [item.personal_id]

    exported = audit.get(f"/audit/export.csv?resident={item.personal_id}")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(text(exported).lstrip("\ufeff"))))
    assert {r["resident_id"] for r in table} == {item.personal_id}
    assert [r["purpose"] for r in table].count("view") == 2
    document = json.loads(text(audit.get(f"/audit/export.json?resident={item.personal_id}")))
    assert document["resident"] == item.personal_id
    assert {e["username"] for e in document["entries"]} == {nurse.username, auditor.username}

    by_professional = text(audit.get(f"/audit?professional={colleague.username}"))
    assert other.personal_id in by_professional and item.personal_id not in by_professional
    assert audit.get("/audit?resident=123456-7890").status_code == 422
    assert audit.get("/audit/export.csv?resident=nonsense").status_code == 400
    future = text(audit.get(f"/audit?resident={item.personal_id}&from=2099-01-01"))
    assert "Hanna Hoitaja" not in future


def test_exports_are_never_cached_and_hold_no_spreadsheet_formulas(app, app_session):
    # A name as a spreadsheet would run it (they come from single sign-on and from residents).
    nurse = make_user(app_session, queues=["omaolo-porvoo"], name='=HYPERLINK("http://x.example")')
    auditor = make_user(app_session, role="auditor", queues=[])
    item = identified_item(app_session)
    Browser(app.test_client()).login(nurse).get(f"/items/{item.id}")
    audit = Browser(app.test_client()).login(auditor)
    for kind in ("csv", "json"):
        exported = audit.get(f"/audit/export.{kind}?resident={item.personal_id}")
        assert exported.status_code == 200
        assert exported.headers["Cache-Control"] == "no-store", kind
    table = csv.DictReader(
        io.StringIO(
            text(audit.get(f"/audit/export.csv?resident={item.personal_id}")).lstrip("\ufeff")
        )
    )
    names = {row["display_name"] for row in table}
    assert '\'=HYPERLINK("http://x.example")' in names
    # The JSON export is data, not a spreadsheet: the name as it is.
    document = json.loads(text(audit.get(f"/audit/export.json?resident={item.personal_id}")))
    assert nurse.display_name in {e["display_name"] for e in document["entries"]}


def test_only_auditors_read_the_log(app, app_session):
    for role in ("professional", "team_lead", "trainer", "admin"):
        user = make_user(app_session, role=role)
        browser = Browser(app.test_client()).login(user)
        for url in ("/audit", "/audit/export.csv?resident=x", "/audit/export.json?resident=x"):
            assert browser.get(url).status_code == 403, (role, url)
    count = app_session.scalar(select(func.count()).select_from(AccessLog))
    assert count == 0


def test_the_log_names_queues_links_items_to_their_log_and_exports_finnish_time(app, app_session):
    from datetime import UTC, datetime

    nurse = make_user(app_session, queues=["omaolo-porvoo"], name="Hanna Hoitaja")
    auditor = make_user(app_session, role="auditor", queues=[], name="Tuula Tarkastaja")
    item = identified_item(app_session)
    other = identified_item(app_session)
    Browser(app.test_client()).login(nurse).get(f"/items/{item.id}")
    Browser(app.test_client()).login(nurse).get(f"/items/{other.id}")
    audit = Browser(app.test_client()).login(auditor)

    page = text(audit.get(f"/audit?professional={nurse.username}"))
    assert "<td>Omaolo-arviot: Porvoo · Porvoo</td>" in page
    assert "omaolo-porvoo" not in page, "names, not codes"
    # An auditor opens no item: its number leads to every look at that item instead.
    assert audit.get(f"/items/{item.id}").status_code == 403
    assert f'href="/audit?item={item.id}"' in page
    by_item = text(audit.get(f"/audit?item={item.id}"))
    assert f'href="/audit?item={item.id}"' in by_item
    assert f'href="/audit?item={other.id}"' not in by_item
    looked = app_session.scalars(
        select(AccessLog).where(AccessLog.user_id == auditor.id, AccessLog.purpose == "audit")
    ).all()
    assert [(r.item_id, r.resident_id) for r in looked] == [(item.id, item.personal_id)], (
        "an item's log names its resident: looking it up is recorded"
    )
    assert audit.get("/audit?item=12x").status_code == 422

    # Swedish: the queue's Swedish name.
    swedish = make_user(app_session, role="auditor", queues=[], language="sv")
    page = text(Browser(app.test_client()).login(swedish).get(f"/audit?item={item.id}"))
    assert "<td>Omaolo-bedömningar: Borgå · Borgå</td>" in page

    # What was stored before the export: the export records itself after reading the log.
    stored = app_session.scalars(
        select(AccessLog.at).where(AccessLog.resident_id == item.personal_id)
    ).all()
    exported = text(audit.get(f"/audit/export.csv?resident={item.personal_id}")).lstrip("\ufeff")
    table = list(csv.DictReader(io.StringIO(exported)))
    assert list(table[0])[0] == "at (Europe/Helsinki)"
    for row in table:
        moment = datetime.fromisoformat(row["at (Europe/Helsinki)"])
        assert moment.utcoffset().total_seconds() in (7200, 10800), "+02:00 or +03:00"
    assert len(table) == len(stored)
    assert {datetime.fromisoformat(r["at (Europe/Helsinki)"]) for r in table} == {
        at.astimezone(UTC).replace(microsecond=0) for at in stored
    }
    document = json.loads(text(audit.get(f"/audit/export.json?resident={item.personal_id}")))
    assert document["time_zone"] == "Europe/Helsinki"
    assert all(e["at"].endswith(("+02:00", "+03:00")) for e in document["entries"])
