"""Synthetic deliveries for demo data: what the four inbound channels might send in a few days.

Everything here is made up. Residents have Finnish, Finland-Swedish or international names and
personal identity codes from the test range (individual number 900–999); the texts are written
the way residents write, in fi, sv and en, and live in `data/*.json`. Every payload follows the
inbound contract (`shared/contract/inbound.md`), so it can be posted to
`POST /api/v1/inbound/{channel}` or stored as a delivery and handed to intake directly. No Flask
here: only the standard library.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..inbound.deadlines import is_working_day
from ..pid import synthetic

__all__ = ["CHANNELS", "deliveries"]

HELSINKI = ZoneInfo("Europe/Helsinki")
CHANNELS = ("chat", "omaolo", "eform", "help-request", "callback")
# The phone is still the region's largest channel: about a third of the desk's items are
# callback requests (the calls answered on the line never reach the desk).
_CHANNEL_SHARE = {
    "chat": 0.32,
    "omaolo": 0.1,
    "eform": 0.16,
    "help-request": 0.1,
    "callback": 0.32,
}
_LANGUAGES = ("fi", "sv", "en")
_LANGUAGE_WEIGHTS = (70, 25, 5)
_SPAN = timedelta(days=4)
_RECENT_OMAOLO = 8  # Omaolo assessments placed within the last two hours
_RECENT = timedelta(hours=2)

Tri = dict[str, str]  # the same text in fi, sv and en: {"fi": ..., "sv": ..., "en": ...}

# The texts themselves are in data/*.json, read once here.
_DATA = Path(__file__).parent / "data"


def _load(name: str) -> Any:
    return json.loads((_DATA / f"{name}.json").read_text(encoding="utf-8"))


def _tr(lang: str, tri: Tri) -> str:
    return tri[lang]


# --- places ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    code: str
    fi: str
    fi_in: str  # the Finnish locative: "Porvoossa", "Lapinjärvellä"
    sv: str
    weight_fi: float
    weight_sv: float


_PLACES = (
    _Place("porvoo", "Porvoo", "Porvoossa", "Borgå", 40, 44),
    _Place("loviisa", "Loviisa", "Loviisassa", "Lovisa", 14, 22),
    _Place("lapinjarvi", "Lapinjärvi", "Lapinjärvellä", "Lappträsk", 4, 6),
    _Place("sipoo", "Sipoo", "Sipoossa", "Sibbo", 20, 24),
    _Place("askola", "Askola", "Askolassa", "Askola", 8, 0.5),
    _Place("myrskyla", "Myrskylä", "Myrskylässä", "Mörskom", 5, 2),
    _Place("pukkila", "Pukkila", "Pukkilassa", "Pukkila", 5, 0.5),
)
_PLACE = {p.code: p for p in _PLACES}


def _place_words(code: str, lang: str) -> dict[str, str]:
    place = _PLACE[code]
    if lang == "fi":
        return {"place": place.fi, "in_place": place.fi_in}
    if lang == "sv":
        return {"place": place.sv, "in_place": f"i {place.sv}"}
    return {"place": place.fi, "in_place": f"in {place.fi}"}


class _Homes:
    """Picks home municipalities by language, making sure each one shows up early on."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pending = [p.code for p in _PLACES]
        rng.shuffle(self.pending)

    def pick(self, lang: str, shown: bool = True) -> str:
        if shown and lang == "fi" and self.pending:
            return self.pending.pop()
        weights = [p.weight_sv if lang == "sv" else p.weight_fi for p in _PLACES]
        code = self.rng.choices([p.code for p in _PLACES], weights)[0]
        if shown and code in self.pending:
            self.pending.remove(code)
        return code

    def service(self, lang: str) -> str:
        """Omaolo service assessments are offered mostly in Myrskylä and Pukkila."""
        if self.rng.random() < 0.75:
            code = self.rng.choice(("myrskyla", "pukkila"))
            if code in self.pending:
                self.pending.remove(code)
            return code
        return self.pick(lang)


# --- people ----------------------------------------------------------------------------------

_RESIDENTS = _load("residents")
# First names by language and sex ("female", "male"), last names by language.
_FIRST_NAMES: dict[str, dict[str, list[str]]] = _RESIDENTS["first_names"]
_LAST_NAMES: dict[str, list[str]] = _RESIDENTS["last_names"]
# Residents who write in English: whole names, {"name": ..., "female": ...}.
_ENGLISH_NAMES: list[dict[str, Any]] = _RESIDENTS["english_names"]
_ASCII = str.maketrans({"ä": "a", "ö": "o", "å": "a", "é": "e", " ": "."})
_MAIL_DOMAINS = ("example.fi", "example.com", "example.net")
_MOBILE_PREFIXES = ("40", "41", "44", "45", "46", "50")


@dataclass(frozen=True)
class _Person:
    first: str
    last: str
    born: date
    female: bool

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def age(self, today: date) -> int:
        return (
            today.year
            - self.born.year
            - ((today.month, today.day) < (self.born.month, self.born.day))
        )


def _person(
    rng: random.Random, lang: str, born: tuple[int, int] = (1935, 2006), female: bool | None = None
) -> _Person:
    start = date(born[0], 1, 1)
    day = start + timedelta(days=rng.randrange((date(born[1], 12, 31) - start).days + 1))
    if female is None:
        female = rng.random() < 0.55  # women contact sote services somewhat more often
    if lang == "en":
        name = rng.choice([n for n in _ENGLISH_NAMES if n["female"] == female])["name"]
        first, last = name.split(" ", 1)
    else:
        first = rng.choice(_FIRST_NAMES[lang]["female" if female else "male"])
        last = rng.choice(_LAST_NAMES[lang])
    return _Person(first, last, day, female)


def _personal_id(rng: random.Random, person: _Person) -> str:
    """A test-range code whose individual number also matches the person's sex (even: female)."""
    code = synthetic(rng, person.born)
    for _ in range(30):
        if int(code[7:10]) % 2 == (0 if person.female else 1):
            break
        code = synthetic(rng, person.born)
    return code


def _phone(rng: random.Random) -> str:
    return f"+358{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"


def _email(rng: random.Random, person: _Person) -> str:
    first, last = person.first.lower().translate(_ASCII), person.last.lower().translate(_ASCII)
    local = rng.choice((f"{first}.{last}", f"{first}{last}", f"{first}.{last[0]}", first))
    if local == first:
        local += str(rng.randint(1, 99))
    return f"{local}@{rng.choice(_MAIL_DOMAINS)}"


def _identified(
    rng: random.Random, person: _Person, phone: float = 0.6, email: float = 0.25
) -> dict[str, Any]:
    resident: dict[str, Any] = {
        "identification": "strong",
        "personal_id": _personal_id(rng, person),
        "name": person.name,
    }
    if rng.random() < phone:
        resident["phone"] = _phone(rng)
    if rng.random() < email:
        resident["email"] = _email(rng, person)
    return resident


# --- times -----------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(HELSINKI).isoformat()


def _ago(
    rng: random.Random,
    now: datetime,
    low: timedelta = timedelta(seconds=30),
    high: timedelta = _SPAN,
) -> datetime:
    """A moment between `high` and `low` before now, weighted to recent and to waking hours."""
    moment = now
    for _ in range(12):
        age = low + (high - low) * rng.random() ** 1.4
        moment = (now - age).replace(microsecond=0)
        if moment.astimezone(HELSINKI).hour >= 6 or rng.random() < 0.2:
            break
    return moment


# --- texts that must be shown exactly as typed ------------------------------------------------

_SPECIAL = _load("special")
# Closing lines a resident adds to a chat.
_SPECIAL_CHAT: dict[str, list[str]] = _SPECIAL["chat"]
# Notes a resident adds to a form, an assessment or a help request.
_SPECIAL_NOTE: dict[str, list[str]] = _SPECIAL["note"]

# --- chat ------------------------------------------------------------------------------------

# A bot's line that is one of its greetings or one of its handovers to a professional.
_GREET = "@greet"
_HANDOVER = "@handover"
_CHAT = _load("chat")
_GREETINGS: dict[str, list[str]] = _CHAT["greetings"]
_HANDOVERS: dict[str, list[str]] = _CHAT["handovers"]


@dataclass(frozen=True)
class _Chat:
    topic: str
    summary: str
    lines: tuple[tuple[str, str], ...]  # (sender, text)
    born: tuple[int, int] = (1935, 2006)
    female: bool | None = None


def _scene(data: dict[str, Any]) -> _Chat:
    """A chat from its JSON: lines are {"bot": text} or {"resident": text}."""
    lines = []
    for line in data["lines"]:
        ((sender, text),) = line.items()
        lines.append((sender, text))
    born = data.get("born", _Chat.born)
    return _Chat(
        data["topic"], data["summary"], tuple(lines), (born[0], born[1]), data.get("female")
    )


_CHATS: dict[str, tuple[_Chat, ...]] = {
    lang: tuple(_scene(scene) for scene in scenes) for lang, scenes in _CHAT["chats"].items()
}


def _context(rng: random.Random, lang: str, home: str, person: _Person, today: date) -> dict:
    age = person.age(today)
    temp = rng.choice(("37,9", "38,2", "38,5", "38,7", "39,1", "39,4"))
    return {
        **_place_words(home, lang),
        "age": age,
        "age_spouse": age + rng.randint(-3, 6),
        "age_old": rng.randint(78, 94),
        "kid_months": rng.randint(2, 18),
        "days": rng.randint(2, 6),
        "temp": temp.replace(",", ".") + " °C" if lang == "en" else temp,
    }


def _conversation(
    rng: random.Random,
    lang: str,
    scene: _Chat,
    ctx: dict,
    end: datetime,
    identified: bool,
    special: str | None,
) -> list[dict[str, str]]:
    lines = list(scene.lines)
    if identified and len(lines) > 1 and lines[0][1] == _GREET and rng.random() < 0.35:
        lines = lines[1:]  # identified chats often open straight with the resident's message
    texts = []
    for sender, text in lines:
        if text == _GREET:
            text = rng.choice(_GREETINGS[lang])
        elif text == _HANDOVER:
            text = rng.choice(_HANDOVERS[lang])
        else:
            text = text.format(**ctx)
        texts.append((sender, text))
    if special:
        texts.append(("resident", special))
    # Walk back from the last message: bots answer in seconds, residents take time to type.
    moment = end - timedelta(seconds=rng.randint(0, 45))
    stamps = []
    for sender, text in reversed(texts):
        stamps.append(moment)
        typing = rng.randint(3, 20) if sender == "bot" else len(text) // 4 + rng.randint(8, 90)
        moment -= timedelta(seconds=typing)
    stamps.reverse()
    return [
        {"sender": sender, "sent_at": _iso(stamp), "text": text}
        for (sender, text), stamp in zip(texts, stamps, strict=True)
    ]


def _chat(
    rng: random.Random, homes: _Homes, lang: str, when: datetime, special: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    scene = rng.choice(_CHATS[lang])
    person = _person(rng, lang, scene.born, scene.female)
    identified = rng.random() < 0.4
    shown = identified or rng.random() < 0.3
    home = homes.pick(lang, shown)
    ctx = _context(rng, lang, home, person, when.astimezone(HELSINKI).date())
    extra = rng.choice(_SPECIAL_CHAT[lang]) if special else None
    payload: dict[str, Any] = {
        "external_id": "",
        "submitted_at": _iso(when),
        "municipality": home if shown else None,
        "language": lang,
    }
    if identified:
        payload["resident"] = _identified(rng, person, phone=0.6, email=0.2)
    elif rng.random() < 0.2:
        payload["resident"] = {"identification": "none"}
        if rng.random() < 0.5:
            payload["resident"]["name"] = person.first
    payload["topic"] = scene.topic
    conversation = _conversation(rng, lang, scene, ctx, when, identified, extra)
    if any(m["sender"] == "bot" for m in conversation) and rng.random() < 0.85:
        payload["bot_summary"] = scene.summary.format(**ctx)
    payload["conversation"] = conversation
    return payload, {"kind": "chat-id" if identified else "chat-anon"}


# --- omaolo ----------------------------------------------------------------------------------

_Q = tuple[Tri, tuple[Tri, ...]]  # a question and its answer options, mildest first
_OMAOLO = _load("omaolo")


@dataclass(frozen=True)
class _Assessment:
    code: str
    title: Tri
    questions: tuple[_Q, ...]
    urgency: tuple[int, int] = (0, 8)  # the urgency classes a symptom assessment can produce
    recommendation: Tri | None = None  # for service assessments


def _question(data: str | dict[str, Any]) -> _Q:
    """A question with its options, or the name of one in "questions" that many assessments ask."""
    if isinstance(data, str):
        data = _OMAOLO["questions"][data]
    return data["question"], tuple(data["options"])


def _assessment(data: dict[str, Any]) -> _Assessment:
    urgency = data.get("urgency", _Assessment.urgency)
    return _Assessment(
        data["code"],
        data["title"],
        tuple(_question(question) for question in data["questions"]),
        urgency=(urgency[0], urgency[1]),
        recommendation=data.get("recommendation"),
    )


_ANYTHING_ELSE: Tri = _OMAOLO["anything_else"]
_SYMPTOMS = tuple(_assessment(data) for data in _OMAOLO["symptoms"])
_SERVICES = tuple(_assessment(data) for data in _OMAOLO["services"])
# Omaolo's recommendation for each urgency class P0–P8.
_RECOMMENDATIONS: tuple[Tri, ...] = tuple(_OMAOLO["recommendations"][f"P{u}"] for u in range(9))
# Urgency of the assessments that are not among the recent ones: mostly P3–P8, never P0.
_OLDER_URGENCY = (0, 1, 2, 10, 20, 20, 18, 14, 11)
# Urgency of the recent ones: the urgent classes first, then ordinary ones.
_RECENT_URGENCY = (0, 1, 1, 2, 2)


def _answers(
    rng: random.Random, lang: str, questions: tuple[_Q, ...], severity: float | None, most: int
) -> list[dict[str, str]]:
    count = rng.randint(min(2, len(questions)), min(most, len(questions)))
    chosen = sorted(rng.sample(range(len(questions)), count))
    answers = []
    for index in chosen:
        question, options = questions[index]
        if severity is None:
            pick = rng.randrange(len(options))
        else:  # the more urgent, the more severe the answers
            pick = round(severity * (len(options) - 1) + rng.gauss(0, 0.6))
            pick = min(max(pick, 0), len(options) - 1)
        answers.append({"question": _tr(lang, question), "answer": _tr(lang, options[pick])})
    return answers


def _omaolo(
    rng: random.Random,
    homes: _Homes,
    lang: str,
    when: datetime,
    special: bool,
    urgency: int | None,
    service: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    home = homes.service(lang) if service else homes.pick(lang)
    person = _person(rng, lang)
    note = rng.choice(_SPECIAL_NOTE[lang]) if special else None
    most = 5 if note else 6
    if service:
        template = rng.choice(_SERVICES)
        assessment: dict[str, Any] = {"kind": "service", "code": template.code}
        assessment["title"] = _tr(lang, template.title)
        assessment["recommendation"] = _tr(lang, template.recommendation or _RECOMMENDATIONS[5])
        contact = rng.random() < 0.8
        answers = _answers(rng, lang, template.questions, None, most)
    else:
        if urgency is None:
            urgency = rng.choices(range(9), _OLDER_URGENCY)[0]
        fitting = [a for a in _SYMPTOMS if a.urgency[0] <= urgency <= a.urgency[1]]
        template = rng.choice(fitting)
        assessment = {"kind": "symptom", "code": template.code}
        assessment["title"] = _tr(lang, template.title)
        assessment["urgency"] = f"P{urgency}"
        assessment["recommendation"] = _tr(lang, _RECOMMENDATIONS[urgency])
        contact = rng.random() < (0.9 if urgency <= 4 else 0.45)
        answers = _answers(rng, lang, template.questions, (8 - urgency) / 8, most)
    if note:
        answers.append({"question": _tr(lang, _ANYTHING_ELSE), "answer": note})
    assessment["contact_request"] = contact
    assessment["answers"] = answers
    payload: dict[str, Any] = {
        "external_id": "",
        "submitted_at": _iso(when),
        "municipality": home,
        "language": lang,
    }
    if service or rng.random() < 0.85:
        payload["resident"] = _identified(rng, person, phone=0.75 if contact else 0.4, email=0.2)
    else:
        payload["resident"] = {"identification": "none"}
        if contact:
            payload["resident"]["phone"] = _phone(rng)
    payload["assessment"] = assessment
    return payload, {"kind": "omaolo-svc" if service else "omaolo"}


# --- e-forms ---------------------------------------------------------------------------------

_PDF = "application/pdf"
_JPEG = "image/jpeg"
_Form = tuple[str, dict[str, Any], list[dict[str, Any]]]  # title, fields, attachments


def _attachment(rng: random.Random, name: str, content_type: str = _PDF) -> dict[str, Any]:
    low, high = (60_000, 900_000) if content_type == _PDF else (400_000, 3_500_000)
    size = rng.randint(low, high)
    return {"name": name, "content_type": content_type, "size": size}


# The forms' titles, field labels, answers and attachment names, by form type.
_EFORM = _load("eform")


class _Say:
    """Picks the resident's language out of a text in fi, sv and en and fills in the context."""

    def __init__(self, rng: random.Random, lang: str, ctx: dict[str, Any]) -> None:
        self.rng, self.lang, self.ctx = rng, lang, ctx

    def __call__(self, text: Tri) -> str:
        return _tr(self.lang, text).format(**self.ctx)

    def pick(self, texts: list[Tri]) -> str:
        return self(self.rng.choice(texts))


def _form_income_support(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    texts = _EFORM["income-support"]
    label = texts["labels"]
    fields: dict[str, Any] = {}
    support = t(label["support"])
    amount = t(label["amount"])
    household = t(label["household"])
    if urgent:
        title = t(texts["urgent"]["title"])
        fields[support] = t(texts["urgent"]["support"])
        fields[amount] = float(rng.randrange(80, 320, 10))
        fields[t(label["urgency"])] = t.pick(texts["urgent"]["reasons"])
        fields[household] = rng.randint(1, 5)
        statement = t(texts["urgent"]["statement"])
        return title, fields, [_attachment(rng, statement)]
    title = t.pick(texts["titles"])
    need = rng.choice(texts["needs"])
    fields[support] = t(need["need"])
    fields[amount] = round(rng.uniform(need["low"], need["high"]), 2)
    with_decision = rng.random() < 0.7
    fields[t(label["kela_decision"])] = with_decision
    fields[household] = rng.randint(1, 5)
    files = texts["attachments"]
    attachments = []
    if with_decision:
        attachments.append(_attachment(rng, t(files["kela_decision"])))
    if rng.random() < 0.6:
        attachments.append(_attachment(rng, t(files["invoice"])))
    if rng.random() < 0.2:
        attachments.append(_attachment(rng, t(files["receipt"]), _JPEG))
    return title, fields, attachments


def _form_disability(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    texts = _EFORM["disability-services"]
    label = texts["labels"]
    title = t(texts["title"])
    service = rng.choice(texts["services"])
    fields: dict[str, Any] = {
        t(label["service"]): t(service["service"]),
        t(label["applicant"]): t.pick(texts["applicants"]),
        t(label["aids"]): [t(aid) for aid in texts["aids"] if rng.random() < 0.3],
        t(label["reasons"]): t(service["reason"]),
    }
    attachments = [_attachment(rng, t(texts["attachments"]["statement"]))]
    if rng.random() < 0.3:
        attachments.append(_attachment(rng, t(texts["attachments"]["photo"]), _JPEG))
    return title, fields, attachments


def _form_social_care(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    fields: dict[str, Any]
    if rng.random() < 0.4:
        texts = _EFORM["social-care-need"]["informal_care"]
        label = texts["labels"]
        title = t(texts["title"])
        fields = {
            t(label["age"]): t.ctx["age_old"],
            t(label["hours"]): rng.choice((4, 6, 8, 12, 24)),
            t(label["home_care"]): rng.random() < 0.5,
            t(label["illnesses"]): t.pick(texts["illnesses"]),
        }
        return title, fields, [_attachment(rng, t(texts["summary"]))]
    texts = _EFORM["social-care-need"]["contact"]
    label = texts["labels"]
    title = t(texts["title"])
    fields = {
        t(label["whose"]): t.pick(texts["whose"]),
        t(label["description"]): t.pick(texts["descriptions"]),
        t(label["other_authorities"]): rng.random() < 0.7,
        t(label["contact"]): t.pick(texts["contact_ways"]),
    }
    return title, fields, []


def _form_health(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    texts = _EFORM["health-questionnaire"]
    label = texts["labels"]
    title = t.pick(texts["titles"])
    fields: dict[str, Any] = {
        t(label["height"]): rng.randint(152, 194),
        t(label["weight"]): rng.randint(50, 128),
        t(label["smoking"]): rng.random() < 0.15,
        t(label["alcohol"]): rng.choice((0, 0, 1, 2, 4, 7, 12)),
        t(label["medicines"]): sorted(rng.sample(texts["medicines"], rng.randint(0, 3))),
        t(label["allergies"]): t.pick(texts["allergies"]),
    }
    if rng.random() < 0.5:
        fields[t(label["blood_pressure"])] = f"{rng.randint(122, 168)}/{rng.randint(72, 99)}"
    attachments = []
    if rng.random() < 0.25:
        attachments.append(_attachment(rng, t(texts["readings"])))
    return title, fields, attachments


def _form_other(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    fields: dict[str, Any]
    if rng.random() < 0.5:
        texts = _EFORM["other"]["feedback"]
        label = texts["labels"]
        title = t(texts["title"])
        fields = {
            t(label["service"]): t.pick(texts["services"]),
            t(label["feedback"]): t.pick(texts["feedbacks"]),
            t(label["contact"]): rng.random() < 0.6,
        }
        return title, fields, []
    texts = _EFORM["other"]["records"]
    label = texts["labels"]
    title = t(texts["title"])
    year = 2016 + rng.randint(0, 6)
    fields = {
        t(label["period"]): f"{year}–{year + rng.randint(1, 3)}",
        t(label["which"]): t.pick(texts["which"]),
        t(label["delivery"]): t.pick(texts["deliveries"]),
    }
    return title, fields, []


# form type, weight, builder
_FORMS = (
    ("income-support", 35, _form_income_support),
    ("disability-services", 15, _form_disability),
    ("social-care-need", 15, _form_social_care),
    ("health-questionnaire", 25, _form_health),
    ("other", 10, _form_other),
)
_FORM_NOTE: Tri = _EFORM["note"]


def _eform(
    rng: random.Random, homes: _Homes, lang: str, when: datetime, special: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    form_type, _, build = rng.choices(_FORMS, [f[1] for f in _FORMS])[0]
    urgent = form_type == "income-support" and rng.random() < 0.3
    home = homes.pick(lang)
    born = (1960, 2006) if form_type == "income-support" else (1935, 2006)
    person = _person(rng, lang, born)
    say = _Say(rng, lang, _context(rng, lang, home, person, when.astimezone(HELSINKI).date()))
    title, fields, attachments = build(rng, say, urgent)
    if special:
        fields[say(_FORM_NOTE)] = rng.choice(_SPECIAL_NOTE[lang])
    payload: dict[str, Any] = {
        "external_id": "",
        "submitted_at": _iso(when),
        "municipality": home,
        "language": lang,
        "resident": _identified(rng, person, phone=0.5, email=0.6),
        "form": {"type": form_type, "title": title, "fields": fields, "attachments": attachments},
        "urgent": urgent,
    }
    return payload, {"kind": "eform", "home": home, "type": form_type}


# --- help requests ---------------------------------------------------------------------------

# Topics by language: {"topic": ..., "messages": [...], "born": [from, to]}, where "born" (1950–2006
# when missing) gives the birth years that fit the writer.
_HELP: dict[str, list[dict[str, Any]]] = _load("help_request")


def _help_request(
    rng: random.Random, homes: _Homes, lang: str, when: datetime, special: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    topic = rng.choice(_HELP[lang])
    born = topic.get("born", (1950, 2006))
    person = _person(rng, lang, (born[0], born[1]))
    identified = rng.random() < 0.4
    shown = identified or rng.random() < 0.6
    home = homes.pick(lang, shown)
    ctx = _context(rng, lang, home, person, when.astimezone(HELSINKI).date())
    message = rng.choice(topic["messages"]).format(**ctx)
    if special:
        message += " " + rng.choice(_SPECIAL_NOTE[lang])
    if identified:
        resident = _identified(rng, person, phone=0.8, email=0.4)
        options = [p for p in ("phone", "email") if p in resident] + ["message"]
        preference = rng.choice(options)
    else:
        resident = {"identification": "none"}
        if rng.random() < 0.7:
            resident["name"] = person.first
        preference = "phone" if rng.random() < 0.75 else "email"
        if preference == "phone":
            resident["phone"] = _phone(rng)
        else:
            resident["email"] = _email(rng, person)
    payload: dict[str, Any] = {
        "external_id": "",
        "submitted_at": _iso(when),
        "municipality": home if shown else None,
        "language": lang,
        "request": {"topic": topic["topic"], "message": message, "contact_preference": preference},
        "resident": resident,
    }
    return payload, {"kind": "help"}


# --- phone callbacks -------------------------------------------------------------------------

# The phone menu's topics and how often callers choose them.
_TOPICS = (("health", 45), ("medication", 20), ("social", 15), ("oral-health", 10), ("other", 10))
_CALL_OPENS, _CALL_CLOSES = 8, 16


def _while_the_line_is_open(rng: random.Random, now: datetime) -> datetime:
    """When a caller left a callback request: TeleQ takes them while the phone line is open
    (working days 8–16), most of them recently."""
    when = now
    for _ in range(30):
        when = _ago(rng, now)
        local = when.astimezone(HELSINKI)
        if is_working_day(local.date()) and _CALL_OPENS <= local.hour < _CALL_CLOSES:
            break
    return when


def _callback(
    rng: random.Random, homes: _Homes, lang: str, when: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A TeleQ callback request: most callers chose a municipality in the menu, some asked for
    a window later the same working day, some left a recorded message."""
    topic = rng.choices([t for t, _ in _TOPICS], [w for _, w in _TOPICS])[0]
    shown = rng.random() < 0.6
    call: dict[str, Any] = {
        "phone": _phone(rng),
        "topic": topic,
        "queue_position": rng.randint(1, 40),
    }
    local = when.astimezone(HELSINKI)
    if (
        is_working_day(local.date())
        and _CALL_OPENS <= local.hour < _CALL_CLOSES - 1
        and rng.random() < 0.35
    ):
        hour = local.replace(minute=0, second=0, microsecond=0)
        start = hour + timedelta(hours=rng.randint(1, 2))
        end = min(start + timedelta(hours=2), hour.replace(hour=_CALL_CLOSES))
        if start < end:
            call["window"] = {"from": _iso(start), "to": _iso(end)}
    if rng.random() < 0.35:
        call["recording_seconds"] = rng.randint(8, 90)
    payload: dict[str, Any] = {
        "external_id": "",
        "submitted_at": _iso(when),
        "municipality": homes.pick(lang) if shown else None,
        "language": lang,
        "callback": call,
    }
    return payload, {"kind": "callback"}


def callback_request(rng: random.Random, when: datetime, lang: str) -> dict[str, Any]:
    """One TeleQ callback request as the demo makes them, arriving at `when` (the benchmark
    turns items into callbacks with it); its external_id is left to the caller."""
    payload, _info = _callback(rng, _Homes(rng), lang, when)
    return payload


# --- external ids ----------------------------------------------------------------------------

_EFORM_CODES = {
    "income-support": "TT",
    "disability-services": "VP",
    "social-care-need": "SH",
    "health-questionnaire": "TK",
    "other": "MU",
}


class _Ids:
    """Realistic-looking source-system ids, counting up with time within each series."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counters: dict[str, int] = {}
        self.used: set[str] = set()

    def _next(self, series: str, start: tuple[int, int]) -> int:
        if series not in self.counters:
            self.counters[series] = self.rng.randint(*start)
        else:
            self.counters[series] += self.rng.randint(1, 4)
        return self.counters[series]

    def make(self, when: datetime, info: dict[str, Any]) -> str:
        local = when.astimezone(HELSINKI)
        kind = info["kind"]
        if kind == "chat-anon":
            value = f"zoturi-{local:%Y%m%d}-{self._next(f'z{local:%Y%m%d}', (1, 30)):04d}"
        elif kind == "chat-id":
            value = f"chat-id-{local:%Y-%m-%d}-{self._next(f'c{local:%Y%m%d}', (1, 20)):04d}"
        elif kind in ("omaolo", "omaolo-svc"):
            prefix = "omaolo-svc-" if kind == "omaolo-svc" else "omaolo-"
            value = f"{prefix}{self.rng.getrandbits(24):06x}"
            while value in self.used:
                value = f"{prefix}{self.rng.getrandbits(24):06x}"
        elif kind == "eform":
            value = self._eform(local, info["home"], info["type"])
        elif kind == "callback":
            value = f"teleq-cb-{local:%Y%m%d}-{self._next(f't{local:%Y%m%d}', (1, 60)):04d}"
        else:
            value = f"pyyda-apua-{self._next('help', (4200, 5600))}"
        if value in self.used:  # cannot happen with the series above; keep the promise anyway
            value = f"{value}-{len(self.used)}"
        self.used.add(value)
        return value

    def _eform(self, local: datetime, home: str, form_type: str) -> str:
        year = local.year
        if home in ("loviisa", "lapinjarvi"):
            code = _EFORM_CODES[form_type]
            return f"eAsiointi-{code}-{year}-{self._next(f'ea{code}{year}', (300, 1200)):05d}"
        if home == "porvoo":
            return f"OmaPalvelu-{year}-{self._next(f'op{year}', (10_000, 40_000)):06d}"
        if home == "sipoo":
            return f"CaseM-SIP-{year}-{self._next(f'cm{year}', (200, 2000)):05d}"
        return f"ihva-lomake-{year}-{self._next(f'ih{year}', (100, 900)):05d}"


# --- the whole set ---------------------------------------------------------------------------


def _channel_counts(count: int) -> dict[str, int]:
    """Largest-remainder split of `count` by the channel shares, each channel at least once."""
    exact = {c: count * share for c, share in _CHANNEL_SHARE.items()}
    counts = {c: int(v) for c, v in exact.items()}
    by_remainder = sorted(CHANNELS, key=lambda c: exact[c] - counts[c], reverse=True)
    for channel in by_remainder[: count - sum(counts.values())]:
        counts[channel] += 1
    if count >= len(CHANNELS):
        for channel in CHANNELS:
            if counts[channel] == 0:
                counts[channel] = 1
                counts[max(counts, key=lambda c: counts[c])] -= 1
    return counts


def deliveries(rng: random.Random, now: datetime, count: int = 300) -> list[tuple[str, dict]]:
    """(channel, payload) pairs of synthetic deliveries shaped exactly by the inbound contract.

    The deliveries are spread over the four days before `now` (weighted to recent hours and to
    waking hours) and returned oldest first; a handful of Omaolo assessments, the urgent ones
    among them, arrive in the last two hours so that their deadlines are still ahead. A naive
    `now` is taken as UTC. The same seed gives the same deliveries for the same `now`.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    plan = [channel for channel, n in _channel_counts(count).items() for _ in range(n)]
    rng.shuffle(plan)
    # About 3 % carry text that must be escaped when shown: < > & quotes and emoji.
    special = set(rng.sample(range(count), min(count, max(1, round(count * 0.03)))))
    homes = _Homes(rng)
    recent_urgency = list(_RECENT_URGENCY)
    omaolo_seen = 0
    made: list[tuple[datetime, int, str, dict[str, Any], dict[str, Any]]] = []
    for index, channel in enumerate(plan):
        lang = rng.choices(_LANGUAGES, _LANGUAGE_WEIGHTS)[0]
        odd = index in special
        if channel == "chat":
            when = _ago(rng, now)
            payload, info = _chat(rng, homes, lang, when, odd)
        elif channel == "omaolo":
            if omaolo_seen < _RECENT_OMAOLO:
                urgency = recent_urgency.pop(0) if recent_urgency else rng.randint(3, 6)
                # P0 is due in 15 minutes and P1 in two hours: keep their deadlines ahead.
                high = {0: timedelta(minutes=12), 1: timedelta(minutes=95)}.get(
                    urgency, _RECENT - timedelta(minutes=8)
                )
                when = _ago(rng, now, timedelta(minutes=2), high)
                payload, info = _omaolo(rng, homes, lang, when, odd, urgency, service=False)
            else:
                when = _ago(rng, now, _RECENT + timedelta(minutes=5))
                service = rng.random() < 0.22
                payload, info = _omaolo(rng, homes, lang, when, odd, None, service)
            omaolo_seen += 1
        elif channel == "eform":
            when = _ago(rng, now)
            payload, info = _eform(rng, homes, lang, when, odd)
        elif channel == "callback":
            when = _while_the_line_is_open(rng, now)
            payload, info = _callback(rng, homes, lang, when)
        else:
            when = _ago(rng, now)
            payload, info = _help_request(rng, homes, lang, when, odd)
        made.append((when, index, channel, payload, info))
    made.sort(key=lambda m: (m[0], m[1]))
    ids = _Ids(rng)
    result = []
    for when, _, channel, payload, info in made:
        payload["external_id"] = ids.make(when, info)
        result.append((channel, payload))
    return result


# --- the residents' satisfaction answers and the care outside the desk (the targets page) ----

_FEEDBACK = _load("feedback")
#: the scores residents give the digital services, as the region's surveys spread them
_SCORES = {10: 30, 9: 21, 8: 15, 7: 10, 6: 6, 5: 5, 4: 3, 3: 3, 2: 2, 1: 2, 0: 3}
#: the share of residents who answer the question at all, and who also write a comment
_ANSWERED = 0.55
_COMMENTED = 0.35


def feedback(rng: random.Random, item_id: int, language: str, ended: datetime) -> dict | None:
    """A resident's answer to the satisfaction question after their matter ended, as a source
    system delivers it (the outbound contract's `feedback`), or None when they did not answer."""
    if rng.random() > _ANSWERED:
        return None
    score = rng.choices(list(_SCORES), list(_SCORES.values()))[0]
    band = "high" if score >= 9 else "middle" if score >= 7 else "low"
    texts = _FEEDBACK[band].get(language) or _FEEDBACK[band]["fi"]
    satisfied = rng.random() < (0.95 if score >= 8 else 0.6 if score == 7 else 0.1)
    return {
        "feedback_id": f"fb-demo-{item_id}",
        "score": score,
        "satisfied": None if rng.random() < 0.15 else satisfied,
        "comment": rng.choice(texts) if rng.random() < _COMMENTED else None,
        "at": _iso(ended + timedelta(minutes=rng.randint(2, 180))),
    }


#: other contacts and care a month per 1,000 residents, by mode, a year ago; the digital modes
#: grow a little each month, as the region's plan hopes
_CARE_PER_THOUSAND = {"in_person": 210, "phone": 120, "remote": 40, "digital": 70}
_DIGITAL_GROWTH = 0.03


def care_contacts(rng: random.Random, residents: dict[str, int], months: list[date]) -> list[str]:
    """A municipality's monthly figures of other contacts and care, as the CSV a lead imports
    (`month;municipality;mode;contacts`), for `months` (oldest first)."""
    lines = ["month;municipality;mode;contacts"]
    for n, month in enumerate(months):
        for code, people in residents.items():
            for mode, rate in _CARE_PER_THOUSAND.items():
                growth = (1 + _DIGITAL_GROWTH) ** n if mode in ("remote", "digital") else 1
                count = round(people / 1000 * rate * growth * rng.uniform(0.85, 1.15))
                lines.append(f"{month:%Y-%m};{code};{mode};{count}")
    return lines
