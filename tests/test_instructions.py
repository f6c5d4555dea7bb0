"""Which instructions apply to an item: scope, precedence, validity in Finnish days, and what
changed since the item arrived. Plain domain code on plain objects."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from desk.guidance.instructions import (
    OTHER_MUNICIPALITY,
    Scope,
    applicable,
    conflicts,
    day_in_finland,
    for_item,
)

_ids = itertools.count(1)
LONG_AGO = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass
class V:
    """An instruction version as resolution sees it."""

    title_fi: str
    instruction_id: int = 0
    number: int = 1
    kind: str = "work"
    municipality_code: str | None = None
    system_area_code: str | None = None
    channel: str | None = None
    service_area_code: str | None = None
    topic: str | None = None
    valid_from: date = date(2023, 1, 1)
    valid_to: date | None = None
    created_at: datetime = LONG_AGO
    id: int = field(default_factory=lambda: next(_ids))


def instruction(title: str, **scope) -> list[V]:
    return [V(title, instruction_id=next(_ids), **scope)]


def edit(versions: list[V], at: datetime, **changes) -> list[V]:
    last = versions[-1]
    fields = {**last.__dict__, "number": last.number + 1, "created_at": at, **changes}
    fields.pop("id")
    return [*versions, V(**fields)]


PORVOO_OMAOLO = Scope(
    municipality="porvoo",
    system_area="porvoo",
    channel="omaolo",
    service_area="health",
    topics=frozenset({"respiratory-infection", "P4"}),
)
MYRSKYLA_OMAOLO = Scope(
    municipality="myrskyla",
    system_area="porvoo",
    channel="omaolo",
    service_area="health",
    topics=frozenset({"respiratory-infection", "P4"}),
)
TODAY = date(2026, 11, 26)


def titles(versions) -> list[str]:
    return [v.title_fi for v in versions]


def test_municipality_hides_system_area_which_hides_region_for_the_same_facets():
    region = instruction(
        "Alue: hengitystieinfektio", channel="omaolo", topic="respiratory-infection"
    )
    area = instruction(
        "Porvoon alue: hengitystieinfektio",
        system_area_code="porvoo",
        channel="omaolo",
        topic="respiratory-infection",
    )
    town = instruction(
        "Porvoo: hengitystieinfektio",
        municipality_code="porvoo",
        channel="omaolo",
        topic="respiratory-infection",
    )
    general = instruction("Omaolo yleisesti", channel="omaolo")
    everything = [region, area, town, general]

    assert titles(applicable(everything, PORVOO_OMAOLO, TODAY)) == [
        "Porvoo: hengitystieinfektio",
        "Omaolo yleisesti",  # other facets: not hidden, after the more specific
    ]
    # Myrskylä belongs to Porvoo's system area but is not Porvoo.
    assert titles(applicable(everything, MYRSKYLA_OMAOLO, TODAY)) == [
        "Porvoon alue: hengitystieinfektio",
        "Omaolo yleisesti",
    ]
    sipoo = Scope("sipoo", "sipoo", "omaolo", "health", frozenset({"respiratory-infection"}))
    assert titles(applicable(everything, sipoo, TODAY)) == [
        "Alue: hengitystieinfektio",  # the same level: the more specific first
        "Omaolo yleisesti",
    ]


def test_every_facet_must_match_and_unset_facets_match_anything():
    chat_only = instruction("Chat", channel="chat")
    social = instruction("Sosiaalipalvelut", service_area_code="social")
    other_topic = instruction("Virtsatie", topic="urinary-tract-infection")
    loviisa = instruction("Loviisa", municipality_code="loviisa")
    everyone = instruction("Kaikille")
    found = applicable([chat_only, social, other_topic, loviisa, everyone], PORVOO_OMAOLO, TODAY)
    assert titles(found) == ["Kaikille"]
    # An anonymous resident of no known municipality gets the region's only.
    anonymous = Scope(None, None, "chat", "general")
    assert titles(applicable([chat_only, loviisa, everyone], anonymous, TODAY)) == [
        "Chat",
        "Kaikille",
    ]


def test_validity_is_from_inclusive_to_exclusive_in_finnish_days():
    old = instruction("Oma asiointi", municipality_code="porvoo", valid_to=date(2027, 1, 1))
    new = instruction("Case M", municipality_code="porvoo", valid_from=date(2027, 1, 1))
    both = [old, new]
    assert titles(applicable(both, PORVOO_OMAOLO, date(2026, 12, 31))) == ["Oma asiointi"]
    assert titles(applicable(both, PORVOO_OMAOLO, date(2027, 1, 1))) == ["Case M"]
    # 31 December 22:30 UTC is already New Year's Day in Finland.
    assert day_in_finland(datetime(2026, 12, 31, 22, 30, tzinfo=UTC)) == date(2027, 1, 1)
    assert day_in_finland(datetime(2026, 12, 31, 21, 59, tzinfo=UTC)) == date(2026, 12, 31)
    # In summer Finland is three hours ahead.
    assert day_in_finland(datetime(2027, 6, 30, 21, 0, tzinfo=UTC)) == date(2027, 7, 1)


def test_an_edit_after_arrival_is_flagged_and_what_applied_then_is_kept():
    arrived = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    steady = instruction("Ennallaan", municipality_code="porvoo")
    edited = edit(
        instruction("Ajanvaraus", municipality_code="porvoo", topic="respiratory-infection"),
        arrived + timedelta(days=2),
        title_fi="Ajanvaraus (uusi ohje)",
    )
    ended = edit(
        instruction("Päättynyt", municipality_code="porvoo"),
        arrived + timedelta(days=1),
        valid_to=date(2026, 11, 22),
    )
    later = instruction("Uusi", municipality_code="porvoo")
    later[0].created_at = arrived + timedelta(days=3)

    shown, gone = for_item([steady, edited, ended, later], PORVOO_OMAOLO, arrived, now)
    by_title = {s.version.title_fi: s for s in shown}
    assert set(by_title) == {"Ennallaan", "Ajanvaraus (uusi ohje)", "Uusi"}
    assert by_title["Ajanvaraus (uusi ohje)"].changed
    assert by_title["Ajanvaraus (uusi ohje)"].then.title_fi == "Ajanvaraus"
    assert not by_title["Ennallaan"].changed
    assert not by_title["Uusi"].changed  # did not exist at arrival: nothing to compare
    assert titles(gone) == ["Päättynyt"]


def test_an_edit_before_arrival_is_not_a_change():
    arrived = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    edited = edit(instruction("Vanha", municipality_code="porvoo"), arrived - timedelta(hours=1))
    shown, gone = for_item([edited], PORVOO_OMAOLO, arrived, arrived + timedelta(days=1))
    assert [s.changed for s in shown] == [False] and gone == []


def test_another_municipality_instructions_show_only_when_the_resident_asks_elsewhere():
    general = instruction("Toisen kunnan palvelu", kind=OTHER_MUNICIPALITY)
    porvoo_offers = instruction(
        "Porvoon palvelut muille", kind=OTHER_MUNICIPALITY, municipality_code="porvoo"
    )
    work = instruction("Tavallinen ohje")
    everything = [general, porvoo_offers, work]
    sipoo_resident = Scope("sipoo", "sipoo", "chat", "health", frozenset())
    assert titles(applicable(everything, sipoo_resident, TODAY)) == ["Tavallinen ohje"]

    asks_porvoo = Scope("sipoo", "sipoo", "chat", "health", frozenset(), "porvoo", "porvoo")
    assert titles(applicable(everything, asks_porvoo, TODAY)) == [
        "Porvoon palvelut muille",  # the special case first, and it hides the general one
        "Tavallinen ohje",
    ]
    asks_askola = Scope("sipoo", "sipoo", "chat", "health", frozenset(), "askola", "askola")
    assert titles(applicable(everything, asks_askola, TODAY)) == [
        "Toisen kunnan palvelu",
        "Tavallinen ohje",
    ]
    asks_own = Scope("sipoo", "sipoo", "chat", "health", frozenset(), "sipoo", "sipoo")
    assert titles(applicable(everything, asks_own, TODAY)) == ["Tavallinen ohje"]


def test_two_instructions_for_the_same_scope_and_day_are_flagged():
    a = instruction("A", municipality_code="sipoo", channel="eform", valid_to=date(2027, 1, 1))
    b = instruction("B", municipality_code="sipoo", channel="eform", valid_from=date(2026, 12, 1))
    c = instruction("C", municipality_code="sipoo", channel="eform", valid_from=date(2027, 1, 1))
    d = instruction("D", municipality_code="sipoo", channel="chat")
    pairs = {(x.title_fi, y.title_fi) for x, y in conflicts([a, b, c, d])}
    # A ends the day C starts (to is exclusive): they follow each other, no clash.
    assert pairs == {("A", "B"), ("B", "C")}


def test_an_item_has_several_topics_and_an_instruction_needs_one_of_them():
    p0 = instruction("P0: hätätilanne", channel="omaolo", topic="P0")
    respiratory = instruction("Hengitystie", channel="omaolo", topic="respiratory-infection")
    emergency = Scope("porvoo", "porvoo", "omaolo", "health", frozenset({"chest-pain", "P0"}))
    assert titles(applicable([p0, respiratory], emergency, TODAY)) == ["P0: hätätilanne"]
    assert titles(applicable([p0, respiratory], PORVOO_OMAOLO, TODAY)) == ["Hengitystie"]
