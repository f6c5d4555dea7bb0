"""Synthetic deliveries for demo data: what the four inbound channels might send in a few days.

Everything here is made up. Residents have Finnish, Finland-Swedish or international names and
personal identity codes from the test range (individual number 900–999); the texts are written
the way residents write. Every payload follows the inbound contract
(`shared/contract/inbound.md`), so it can be posted to `POST /api/v1/inbound/{channel}` or stored
as a delivery and handed to intake directly. No Flask here: only the standard library.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..pid import synthetic

__all__ = ["CHANNELS", "deliveries"]

HELSINKI = ZoneInfo("Europe/Helsinki")
CHANNELS = ("chat", "omaolo", "eform", "help-request")
_CHANNEL_SHARE = {"chat": 0.45, "omaolo": 0.15, "eform": 0.25, "help-request": 0.15}
_LANGUAGES = ("fi", "sv", "en")
_LANGUAGE_WEIGHTS = (70, 25, 5)
_LANG = {"fi": 0, "sv": 1, "en": 2}
_SPAN = timedelta(days=4)
_RECENT_OMAOLO = 8  # Omaolo assessments placed within the last two hours
_RECENT = timedelta(hours=2)

Tri = tuple[str, str, str]  # the same text in fi, sv and en


def _tr(lang: str, tri: Tri) -> str:
    return tri[_LANG[lang]]


def _tri(text: str) -> Tri:
    """Split "fi | sv | en" into its three languages."""
    fi, sv, en = text.split(" | ")
    return fi, sv, en


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

_FIRST_NAMES = {
    "fi": (
        (
            "Aino", "Anna", "Anneli", "Elina", "Emilia", "Hanna", "Heidi", "Helena", "Johanna",
            "Kaisa", "Katja", "Laura", "Leena", "Marja", "Minna", "Noora", "Pirjo", "Päivi",
            "Riitta", "Sanna", "Satu", "Sirkka", "Tiina", "Veera",
        ),
        (
            "Aleksi", "Antti", "Eero", "Heikki", "Ilkka", "Jari", "Jere", "Joonas", "Juha",
            "Jukka", "Kari", "Lauri", "Markku", "Matti", "Mikko", "Olli", "Pekka", "Sami",
            "Tapio", "Timo", "Veikko", "Ville",
        ),
    ),
    "sv": (
        (
            "Agneta", "Anna", "Annika", "Birgitta", "Camilla", "Ebba", "Elin", "Emma",
            "Gunilla", "Ida", "Jessica", "Johanna", "Karin", "Linnea", "Maria", "Marianne",
            "Sofia", "Ulla", "Ulrika", "Vivan",
        ),
        (
            "Anders", "Bo", "Christer", "Erik", "Fredrik", "Göran", "Henrik", "Johan", "Jonas",
            "Kaj", "Kim", "Lars", "Mats", "Mikael", "Niklas", "Patrik", "Rasmus", "Stefan",
            "Tom", "Ulf",
        ),
    ),
}  # fmt: skip
_LAST_NAMES = {
    "fi": (
        "Aaltonen", "Hakala", "Heikkinen", "Heinonen", "Hiltunen", "Hämäläinen", "Järvinen",
        "Kallio", "Kauppinen", "Kinnunen", "Korhonen", "Koskinen", "Laaksonen", "Lahtinen",
        "Laine", "Lehtonen", "Leinonen", "Mäkelä", "Mäkinen", "Nieminen", "Peltonen",
        "Pitkänen", "Rantanen", "Saarinen", "Salminen", "Salonen", "Turunen", "Virtanen",
    ),
    "sv": (
        "Backman", "Björklund", "Blomqvist", "Ekman", "Eriksson", "Forsman", "Granholm",
        "Grönroos", "Holmberg", "Johansson", "Lindholm", "Lindqvist", "Lindroos", "Lindström",
        "Mattsson", "Nyberg", "Nyström", "Sjöberg", "Strömberg", "Sundström", "Söderholm",
        "Westerlund", "Wikström", "Åberg", "Öhman",
    ),
}  # fmt: skip
# Residents who write in English: whole names, (name, female).
_ENGLISH_NAMES = (
    ("Olena Kovalenko", True), ("Daniel Smith", False), ("Priya Sharma", True),
    ("Ahmed Hassan", False), ("Maria Garcia", True), ("Tomasz Nowak", False),
    ("Sarah Wilson", True), ("Dmytro Petrenko", False), ("Nguyen Thi Lan", True),
    ("Kofi Mensah", False), ("Aisha Ahmadi", True), ("James Brown", False),
    ("Ana Silva", True), ("Carlos Okafor", False), ("Emily Clarke", True),
    ("Arjun Patel", False),
)  # fmt: skip
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
        name, _ = rng.choice([n for n in _ENGLISH_NAMES if n[1] == female])
        first, last = name.split(" ", 1)
    else:
        first = rng.choice(_FIRST_NAMES[lang][0 if female else 1])
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

# Closing lines a resident adds to a chat.
_SPECIAL_CHAT = {
    "fi": (
        'Kiitos <3 😊 Oon jonottanut jo > 15 min & ruudulla lukee vaan "odota hetki"',
        'Ok kiitos!! Onko tää nyt "kiireellinen"? Kipu on nyt 7/10 (eilen <5) & pahenee 😟',
    ),
    "sv": (
        'Tack <3 😊 Jag har köat > 15 min & det står bara "vänta en stund"',
        'Ok tack!! Är det här "brådskande"? Smärtan är 7/10 nu (igår <5) & blir värre 😟',
    ),
    "en": ('Thanks <3 😊 I have waited > 15 min & it only says "please wait"',),
}
# Notes a resident adds to a form, an assessment or a help request.
_SPECIAL_NOTE = {
    "fi": (
        'Kuume > 38 astetta jo kolmatta päivää & kurkku "ihan tulessa" <3 😷',
        'Lääkäri sanoi "soita jos yläpaine > 160 tai alapaine < 60" & nyt yläpaine on 172 😟',
        "Voiko Buranaa & Panadolia ottaa yhtä aikaa, kun paino < 50 kg? "
        'Apteekissa sanottiin "kysy lääkäriltä" 🤔',
        "Tytär kirjoitti lapulle <en jaksa enää> & itki koko illan 😢",
    ),
    "sv": (
        'Feber > 38 grader redan tredje dagen & halsen "brinner" <3 😷',
        'Läkaren sa "ring om övertrycket > 160 eller undertrycket < 60" & nu är det 172 😟',
        "Kan man ta Burana & Panadol samtidigt om man väger < 50 kg? "
        'På apoteket sa de "fråga läkaren" 🤔',
    ),
    "en": (
        'Fever > 38 °C for three days now & my throat is "on fire" <3 😷',
        "The doctor said \"call if it's > 160 or < 60\" & now it's 172 😟",
    ),
}

# --- chat ------------------------------------------------------------------------------------

_GREET = "@greet"
_HANDOVER = "@handover"
_GREETINGS = {
    "fi": (
        "Hei! Olen Itä-Uudenmaan hyvinvointialueen chatbot. Miten voin auttaa?",
        "Hei! Kerro lyhyesti, missä asiassa tarvitset apua.",
        "Tervetuloa digitaaliseen sote-keskukseen! Miten voin auttaa?",
    ),
    "sv": (
        "Hej! Jag är Östra Nylands välfärdsområdes chattbot. Hur kan jag hjälpa dig?",
        "Hej! Berätta kort vad du behöver hjälp med.",
        "Välkommen till den digitala social- och hälsocentralen! Hur kan jag hjälpa dig?",
    ),
    "en": (
        "Hello! I am the chatbot of Itä-Uusimaa wellbeing services county. How can I help you?",
        "Hi! Please tell me briefly what you need help with.",
    ),
}
_HANDOVERS = {
    "fi": (
        "Ohjaan sinut ammattilaiselle. Odota hetki, joku vastaa sinulle pian.",
        "Siirrän keskustelun hoitajalle. Jonossa voi olla hetken odotusta.",
        "Kiitos! Ammattilainen jatkaa keskustelua kanssasi mahdollisimman pian.",
    ),
    "sv": (
        "Jag kopplar dig vidare till en yrkesperson. Vänta en stund.",
        "Jag flyttar samtalet till en skötare. Det kan vara en kort kö.",
        "Tack! En yrkesperson fortsätter samtalet med dig så snart som möjligt.",
    ),
    "en": (
        "I will transfer you to a professional. Please wait a moment.",
        "Thank you! A nurse will continue the conversation as soon as possible.",
    ),
}


@dataclass(frozen=True)
class _Chat:
    topic: str
    summary: str
    lines: tuple[tuple[str, str], ...]
    born: tuple[int, int] = (1935, 2006)
    female: bool | None = None


def _b(text: str) -> tuple[str, str]:
    return ("bot", text)


def _r(text: str) -> tuple[str, str]:
    return ("resident", text)


_CHATS: dict[str, tuple[_Chat, ...]] = {
    "fi": (
        _Chat(
            "ajanvaraus",
            "Asukas tarvitsee ajan hammaslääkärille, hammas vihloo kylmästä.",
            (
                _b(_GREET),
                _r("Moi, miten saan ajan hammaslääkärille? Asun {in_place}."),
                _b(
                    "Kiireettömän hammashoidon ajan voi varata puhelimitse. "
                    "Onko sinulla särkyä tai turvotusta?"
                ),
                _r(
                    "Ei varsinaista särkyä, mutta yksi poskihammas vihloo kylmästä "
                    "ja siitä on lohjennut pala."
                ),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "lääkitys",
            "Asukas pyytää verenpainelääkkeen reseptin uusimista.",
            (
                _b(_GREET),
                _r("Hei, verenpainelääkkeen resepti on loppumassa. Voiko sen uusia tätä kautta?"),
                _b(
                    "Reseptin voi uusia myös Omakannassa. Jos uusiminen ei onnistu siellä, "
                    "ammattilainen voi auttaa."
                ),
                _r(
                    "Omakannassa lukee, että reseptiä ei voi enää uusia. "
                    "Lääkettä on jäljellä noin viikoksi."
                ),
                _b(_HANDOVER),
            ),
            born=(1940, 1975),
        ),
        _Chat(
            "neuvola",
            "Asukas haluaa varata lastenneuvolan ajan {kid_months} kk:n ikäiselle vauvalle.",
            (
                _b(_GREET),
                _r("Hei! Vauva on {kid_months} kk ja pitäisi varata neuvola-aika. Mistä sen saa?"),
                _b(
                    "Lastenneuvolan ajan voi varata omalta terveydenhoitajalta. "
                    "Asutteko jo hyvinvointialueella?"
                ),
                _r(
                    "Joo, muutettiin {in_place} kuukausi sitten, eikä meillä ole vielä "
                    "omaa terveydenhoitajaa."
                ),
                _b(_HANDOVER),
            ),
            born=(1985, 2003),
        ),
        _Chat(
            "ikääntyneiden palvelut",
            "Asukkaan {age_old}-vuotias äiti ei pärjää enää yksin kotona.",
            (
                _b(_GREET),
                _r(
                    "Äitini on {age_old}-vuotias ja asuu yksin {in_place}. Hän on kaatunut kaksi "
                    "kertaa tässä kuussa eikä muista ottaa lääkkeitään."
                ),
                _b(
                    "Kiitos kun kerroit. Ikääntyneen palvelutarpeen arviointia voi pyytää myös "
                    "omainen. Haluatko jutella ammattilaisen kanssa?"
                ),
                _r("Kyllä. Asun itse Helsingissä enkä pysty käymään hänen luonaan joka päivä."),
                _b(_HANDOVER),
                _r("Kiitos, odotan."),
            ),
            born=(1950, 1985),
        ),
        _Chat(
            "toimeentulotuki",
            "Asukas kysyy täydentävästä toimeentulotuesta Kelan päätöksen jälkeen.",
            (
                _b(_GREET),
                _r(
                    "Sain Kelasta päätöksen perustoimeentulotuesta, mutta lääkekulut ja "
                    "silmälasit jäivät korvaamatta. Voiko niihin hakea apua teiltä?"
                ),
                _b(
                    "Täydentävää toimeentulotukea haetaan hyvinvointialueelta. "
                    "Liitä hakemukseen Kelan päätös ja kuitit."
                ),
                _r("Okei. Voinko hakea sähköisesti vai pitääkö tulla paikan päälle?"),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "mielenterveys",
            "Asukas kertoo univaikeuksista ja ahdistuksesta ja haluaa keskustella.",
            (
                _b(_GREET),
                _r(
                    "En oo nukkunut kunnolla viikkoihin ja ahdistaa melkein koko ajan. "
                    "En tiedä kenelle pitäisi puhua."
                ),
                _b(
                    "Kiitos, että otit yhteyttä. Jos olet välittömässä vaarassa, soita 112. "
                    "Voinko ohjata sinut mielenterveyshoitajalle?"
                ),
                _r("Ei oo hätätilanne. Haluaisin vaan jutella jonkun kanssa."),
                _b(_HANDOVER),
            ),
            born=(1975, 2006),
        ),
        _Chat(
            "oireet",
            "Asukkaalla on ollut kuumetta ja yskää {days} päivää.",
            (
                _b(_GREET),
                _r(
                    "Mulla on ollut kuumetta {days} päivää ja nyt yskäkin on pahentunut. "
                    "Pitäisikö tulla näytille?"
                ),
                _b(
                    "Voit tehdä myös hengitystieinfektion oirearvion Omaolossa. "
                    "Onko sinulla hengenahdistusta?"
                ),
                _r("Ei oikeastaan, mutta yskiessä rintaan sattuu. Kuume oli aamulla {temp}."),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "oireet",
            "Asukkaan selkä kipeytyi nostaessa, kipu säteilee pakaraan.",
            (
                _b(_GREET),
                _r(
                    "Selkä kipeytyi eilen kun nostin kauppakasseja, ja nyt en meinaa päästä "
                    "sängystä ylös. Voiko tähän saada jotain apua?"
                ),
                _b("Onko sinulla puutumista jaloissa tai vaikeuksia virtsata?"),
                _r("Ei ole, mutta kipu säteilee vasempaan pakaraan."),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "rokotukset",
            "Asukas kysyy influenssarokotuksesta itselleen ja puolisolleen.",
            (
                _b(_GREET),
                _r(
                    "Milloin influenssarokotuksia annetaan {in_place}? "
                    "Olen {age} ja mieheni on {age_spouse}."
                ),
                _b(
                    "Kausi-influenssarokotteet annetaan syksyllä. Rokotusajan voi varata "
                    "sähköisesti tai puhelimitse."
                ),
                _r("Me ei olla tottuneita nettiin. Voisiko joku soittaa meille?"),
                _b(_HANDOVER),
            ),
            born=(1944, 1959),
            female=True,
        ),
        _Chat(
            "omaishoito",
            "Asukas kysyy omaishoidon tuesta muistisairaan puolison hoitoon.",
            (
                _b(_GREET),
                _r(
                    "Hoidan miestäni kotona, hänellä todettiin muistisairaus viime vuonna. "
                    "Voinko saada omaishoidon tukea?"
                ),
                _b(
                    "Omaishoidon tukea haetaan hakemuksella, ja sen jälkeen tehdään "
                    "palvelutarpeen arviointi kotikäynnillä."
                ),
                _r("Mistä hakemuksen saa? Ja saako omaishoitaja vapaapäiviä?"),
                _b(_HANDOVER),
            ),
            born=(1938, 1960),
            female=True,
        ),
        _Chat(
            "vammaispalvelut",
            "Asukas kysyy kuljetuspalvelusta pyörätuolia käyttävälle tyttärelle.",
            (
                _b(_GREET),
                _r(
                    "Tyttäreni käyttää pyörätuolia ja tarvitsisimme kuljetuspalvelua "
                    "harrastuksiin. Miten sitä haetaan?"
                ),
                _b(
                    "Vammaispalvelulain mukaista kuljetuspalvelua haetaan hakemuksella. "
                    "Liitteeksi tarvitaan lääkärinlausunto."
                ),
                _r("Meillä on tuore lausunto neurologilta, käykö se?"),
                _b(_HANDOVER),
            ),
            born=(1965, 1990),
        ),
        _Chat(
            "laboratorio",
            "Asukas kysyy laboratorion ajanvarauksesta ja paastosta.",
            (
                _b(_GREET),
                _r(
                    "Lääkäri määräsi verikokeet. Pitääkö laboratorioon varata aika "
                    "vai voiko vaan mennä?"
                ),
                _b("Laboratorioon tarvitaan ajanvaraus. Onko lähetteessä paasto-ohje?"),
                _r("En tiedä, siinä lukee vain kolesteroli ja sokerit."),
            ),
        ),
        _Chat(
            "tulokset",
            "Asukas kysyy viime viikon laboratoriotuloksista.",
            (
                _b(_GREET),
                _r(
                    "Kävin viime viikolla verikokeissa {in_place}, mutta kukaan ei ole "
                    "soittanut tuloksista. Onko kaikki kunnossa?"
                ),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "ajanvaraus",
            "Asukas tarvitsee lääkärintodistuksen ajokorttia varten.",
            (
                _b(_GREET),
                _r(
                    "Hei, tarvitsisin lääkärintodistuksen ajokortin uusimista varten. "
                    "Milloin olisi vapaita aikoja?"
                ),
            ),
            born=(1940, 1958),
        ),
        _Chat(
            "neuvola",
            "Asukas on raskausviikolla 8 ja kysyy äitiysneuvolaan pääsystä.",
            (
                _b(_GREET),
                _r("Olen raskaana, viikkoja on nyt 8. Miten pääsen äitiysneuvolaan?"),
                _b(
                    "Onnittelut! Ensimmäinen neuvolakäynti on yleensä raskausviikoilla 8–10. "
                    "Ohjaan sinut ammattilaiselle."
                ),
            ),
            born=(1988, 2004),
            female=True,
        ),
        _Chat(
            "sosiaalipalvelut",
            "Asukkaan vuokrasopimus on irtisanottu, hän tarvitsee apua asunnon löytämiseen.",
            (
                _b(_GREET),
                _r(
                    "Vuokranantaja irtisanoi asuntoni ja pitäisi muuttaa kuukauden päästä. "
                    "En tiedä mistä löydän uuden asunnon näillä tuloilla."
                ),
                _b(
                    "Sosiaaliohjaaja voi auttaa asumiseen liittyvissä asioissa. "
                    "Kerrotko vielä, asuuko kanssasi lapsia?"
                ),
                _r("Kaksi kouluikäistä lasta."),
                _b(_HANDOVER),
            ),
            born=(1975, 1998),
        ),
    ),
    "sv": (
        _Chat(
            "tidsbeställning",
            "Invånaren behöver en tandläkartid, en tand ilar vid kyla.",
            (
                _b(_GREET),
                _r("Hej, hur får jag en tid till tandläkaren? Jag bor {in_place}."),
                _b(
                    "Tid till icke-brådskande tandvård bokar du per telefon. "
                    "Har du värk eller svullnad?"
                ),
                _r(
                    "Ingen värk egentligen, men en kindtand ilar när jag dricker något kallt "
                    "och en bit har lossnat."
                ),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "recept",
            "Invånaren vill förnya sitt recept på blodtrycksmedicin.",
            (
                _b(_GREET),
                _r("Hej, jag behöver förnya mitt recept på blodtrycksmedicin."),
                _b(
                    "Du kan också förnya recept via Mina Kanta-sidor. Om det inte lyckas "
                    "kan en yrkesperson hjälpa dig."
                ),
                _r(
                    "Där står det att receptet inte kan förnyas längre. "
                    "Jag har medicin kvar för ungefär en vecka."
                ),
                _b(_HANDOVER),
            ),
            born=(1940, 1975),
        ),
        _Chat(
            "rådgivning",
            "Invånaren vill boka tid till barnrådgivningen för en bebis på {kid_months} mån.",
            (
                _b(_GREET),
                _r(
                    "Hej! Vår bebis är {kid_months} månader och vi borde boka tid till "
                    "barnrådgivningen. Hur gör vi?"
                ),
                _b(
                    "Tid till barnrådgivningen bokar ni hos er egen hälsovårdare. "
                    "Bor ni redan i välfärdsområdet?"
                ),
                _r(
                    "Ja, vi flyttade till {place} för en månad sedan och har ingen egen "
                    "hälsovårdare ännu."
                ),
                _b(_HANDOVER),
            ),
            born=(1985, 2003),
        ),
        _Chat(
            "äldreomsorg",
            "Invånarens mamma ({age_old} år) klarar sig inte längre ensam hemma.",
            (
                _b(_GREET),
                _r(
                    "Min mamma är {age_old} år och bor ensam {in_place}. Hon har fallit två "
                    "gånger den här månaden och glömmer att ta sina mediciner."
                ),
                _b(
                    "Tack för att du berättar. Också en anhörig kan be om en bedömning av "
                    "servicebehovet. Vill du prata med en yrkesperson?"
                ),
                _r("Ja tack. Jag bor själv i Helsingfors och kan inte åka dit varje dag."),
                _b(_HANDOVER),
                _r("Tack, jag väntar."),
            ),
            born=(1950, 1985),
        ),
        _Chat(
            "utkomststöd",
            "Invånaren frågar om kompletterande utkomststöd efter FPA:s beslut.",
            (
                _b(_GREET),
                _r(
                    "Jag fick beslut från FPA om grundläggande utkomststöd, men mina "
                    "läkemedelskostnader och glasögon blev inte ersatta. Kan jag söka stöd av er?"
                ),
                _b(
                    "Kompletterande utkomststöd söks hos välfärdsområdet. "
                    "Bifoga FPA:s beslut och kvittona till ansökan."
                ),
                _r("Okej. Kan jag söka elektroniskt eller måste jag komma till byrån?"),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "psykisk hälsa",
            "Invånaren berättar om sömnsvårigheter och ångest och vill prata med någon.",
            (
                _b(_GREET),
                _r(
                    "Jag har inte sovit ordentligt på flera veckor och har ångest nästan hela "
                    "tiden. Jag vet inte vem jag ska prata med."
                ),
                _b(
                    "Tack för att du tog kontakt. Om du är i akut fara, ring 112. "
                    "Får jag koppla dig till en psykiatrisk sjukskötare?"
                ),
                _r("Det är ingen nödsituation. Jag skulle bara vilja prata med någon."),
                _b(_HANDOVER),
            ),
            born=(1975, 2006),
        ),
        _Chat(
            "symtom",
            "Invånaren har haft feber och hosta i {days} dagar.",
            (
                _b(_GREET),
                _r(
                    "Jag har haft feber i {days} dagar och nu har hostan blivit värre. "
                    "Borde jag komma in?"
                ),
                _b(
                    "Du kan också göra en symtombedömning för luftvägsinfektion i Omaolo. "
                    "Har du andnöd?"
                ),
                _r(
                    "Inte direkt, men det gör ont i bröstet när jag hostar. "
                    "I morse hade jag {temp} grader."
                ),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "symtom",
            "Invånaren fick ryggskott när hen lyfte, smärtan strålar ut i skinkan.",
            (
                _b(_GREET),
                _r(
                    "Jag fick ont i ryggen igår när jag lyfte matkassar och nu kommer jag "
                    "knappt upp ur sängen. Kan jag få hjälp?"
                ),
                _b("Har du domningar i benen eller svårt att kasta vatten?"),
                _r("Nej, men smärtan strålar ut i vänster skinka."),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "vaccinationer",
            "Invånaren frågar om influensavaccination för sig själv och sin man.",
            (
                _b(_GREET),
                _r(
                    "När ges influensavaccinationerna {in_place}? "
                    "Jag är {age} och min man är {age_spouse}."
                ),
                _b(
                    "Säsongsinfluensavaccinet ges på hösten. Du kan boka tid elektroniskt "
                    "eller per telefon."
                ),
                _r("Vi är inte så vana vid datorer. Kunde någon ringa oss?"),
                _b(_HANDOVER),
            ),
            born=(1944, 1959),
            female=True,
        ),
        _Chat(
            "närståendevård",
            "Invånaren frågar om närståendevårdsstöd för sin minnessjuka man.",
            (
                _b(_GREET),
                _r(
                    "Jag sköter min man hemma, han fick diagnosen minnessjukdom i fjol. "
                    "Kan jag få närståendevårdsstöd?"
                ),
                _b(
                    "Närståendevårdsstöd söks med en ansökan, och sedan görs en bedömning av "
                    "servicebehovet vid ett hembesök."
                ),
                _r("Var hittar jag ansökan? Och har man rätt till lediga dagar?"),
                _b(_HANDOVER),
            ),
            born=(1938, 1960),
            female=True,
        ),
        _Chat(
            "handikappservice",
            "Invånaren frågar om färdtjänst för sin dotter som använder rullstol.",
            (
                _b(_GREET),
                _r(
                    "Min dotter använder rullstol och vi skulle behöva färdtjänst till hennes "
                    "hobbyer. Hur ansöker man?"
                ),
                _b(
                    "Färdtjänst inom handikappservicen söks med en ansökan. "
                    "Ett läkarutlåtande behövs som bilaga."
                ),
                _r("Vi har ett färskt utlåtande från neurologen, duger det?"),
                _b(_HANDOVER),
            ),
            born=(1965, 1990),
        ),
        _Chat(
            "laboratorium",
            "Invånaren frågar om tidsbokning till laboratoriet och fasta.",
            (
                _b(_GREET),
                _r(
                    "Läkaren skickade mig på blodprov. Måste jag boka tid till laboratoriet "
                    "eller kan jag bara gå dit?"
                ),
                _b("Till laboratoriet behövs tidsbokning. Står det i remissen att du ska fasta?"),
                _r("Vet inte, det står bara kolesterol och blodsocker."),
            ),
        ),
        _Chat(
            "rådgivning",
            "Invånaren är i graviditetsvecka 8 och frågar om mödrarådgivningen.",
            (
                _b(_GREET),
                _r("Jag är gravid i vecka 8. Hur kommer jag till mödrarådgivningen?"),
                _b(
                    "Grattis! Det första besöket på rådgivningen är oftast i vecka 8–10. "
                    "Jag kopplar dig till en yrkesperson."
                ),
            ),
            born=(1988, 2004),
            female=True,
        ),
        _Chat(
            "provsvar",
            "Invånaren frågar om provsvaren från förra veckan.",
            (
                _b(_GREET),
                _r(
                    "Jag var på blodprov {in_place} förra veckan men ingen har ringt om "
                    "resultaten. Är allt i sin ordning?"
                ),
                _b(_HANDOVER),
            ),
        ),
    ),
    "en": (
        _Chat(
            "appointment",
            "The resident needs a dental appointment; a tooth hurts with cold drinks.",
            (
                _b(_GREET),
                _r("Hi, how can I book a dentist appointment? I live {in_place}."),
                _b("You can book non-urgent dental care by phone. Do you have pain or swelling?"),
                _r("No real pain, but one molar hurts when I drink something cold."),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "medication",
            "The resident's asthma inhaler prescription cannot be renewed in My Kanta.",
            (
                _b(_GREET),
                _r(
                    "Hello, my prescription for my asthma inhaler is running out. Can it be "
                    "renewed here? My Finnish is not very good."
                ),
                _b(
                    "You can also renew prescriptions in My Kanta. If that does not work, "
                    "a professional can help you."
                ),
                _r("My Kanta says the prescription cannot be renewed anymore."),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "child health clinic",
            "The family moved recently and needs a child health clinic for their baby.",
            (
                _b(_GREET),
                _r(
                    "We moved to {place} last month with our baby ({kid_months} months). "
                    "How do we get to the child health clinic (neuvola)?"
                ),
                _b(_HANDOVER),
            ),
            born=(1985, 2003),
        ),
        _Chat(
            "symptoms",
            "The resident has had fever and cough for {days} days.",
            (
                _b(_GREET),
                _r("I have had a fever for {days} days and a bad cough. Should I see a doctor?"),
                _b(
                    "You can do a symptom assessment for respiratory infection in Omaolo. "
                    "Are you short of breath?"
                ),
                _r("A little when I climb stairs. This morning the fever was {temp}."),
                _b(_HANDOVER),
            ),
        ),
        _Chat(
            "income support",
            "The resident lost their job and has no money for food while waiting for Kela.",
            (
                _b(_GREET),
                _r(
                    "I lost my job and the Kela decision is still pending. We have no money "
                    "for food this week. Where can I get help?"
                ),
                _b(
                    "If you need urgent help, social services can assess your situation. "
                    "I will transfer you to a professional."
                ),
            ),
        ),
        _Chat(
            "mental health",
            "The resident has felt low since the autumn and would like to talk to someone.",
            (
                _b(_GREET),
                _r(
                    "I have been feeling very low since the autumn and I can't concentrate at "
                    "work. Is there someone I could talk to?"
                ),
                _b(_HANDOVER),
            ),
            born=(1975, 2006),
        ),
    ),
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


def _q(question: str, *options: str) -> _Q:
    return _tri(question), tuple(_tri(option) for option in options)


_NO = "Ei | Nej | No"
_YES = "Kyllä | Ja | Yes"
_FEVER = _q(
    "Onko sinulla kuumetta? | Har du feber? | Do you have a fever?",
    _NO,
    "Alle 38 astetta | Under 38 grader | Below 38 °C",
    "38–39 astetta | 38–39 grader | 38–39 °C",
    "Yli 39 astetta | Över 39 grader | Above 39 °C",
)
_DURATION = _q(
    "Kuinka kauan oireet ovat kestäneet? | Hur länge har symtomen pågått? "
    "| How long have you had the symptoms?",
    "1 päivä | 1 dag | 1 day",
    "2 päivää | 2 dagar | 2 days",
    "3–7 päivää | 3–7 dagar | 3–7 days",
    "Yli viikon | Över en vecka | Over a week",
)
_COUGH = _q(
    "Onko sinulla yskää? | Har du hosta? | Do you have a cough?",
    _NO,
    "Kuivaa yskää | Torrhosta | Dry cough",
    "Limaista yskää | Slemhosta | Wet cough",
)
_PAIN_SCALE = _q(
    "Kuinka voimakasta kipu on asteikolla 0–10? | Hur stark är smärtan på en skala 0–10? "
    "| How strong is the pain on a scale of 0–10?",
    "3 | 3 | 3",
    "5 | 5 | 5",
    "7 | 7 | 7",
    "9 | 9 | 9",
)
_ANYTHING_ELSE = _tri(
    "Haluatko kertoa vielä jotain? | Vill du berätta något mer? "
    "| Is there anything else you want to tell?"
)


@dataclass(frozen=True)
class _Assessment:
    code: str
    title: Tri
    questions: tuple[_Q, ...]
    urgency: tuple[int, int] = (0, 8)  # the urgency classes a symptom assessment can produce
    recommendation: Tri | None = None  # for service assessments


_SYMPTOMS = (
    _Assessment(
        "respiratory-infection",
        _tri("Hengitystieinfektio | Luftvägsinfektion | Respiratory tract infection"),
        (
            _FEVER,
            _DURATION,
            _q(
                "Onko sinulla hengenahdistusta? | Har du andnöd? | Are you short of breath?",
                _NO,
                "Rasituksessa | Vid ansträngning | On exertion",
                "Levossakin | Även i vila | Even at rest",
            ),
            _COUGH,
            _q(
                "Onko sinulla jokin pitkäaikaissairaus? | Har du någon långvarig sjukdom? "
                "| Do you have a long-term illness?",
                _NO,
                "Astma | Astma | Asthma",
                "Diabetes | Diabetes | Diabetes",
                "Sydänsairaus | Hjärtsjukdom | Heart disease",
            ),
        ),
    ),
    _Assessment(
        "urinary-tract-infection",
        _tri("Virtsatieinfektio | Urinvägsinfektion | Urinary tract infection"),
        (
            _FEVER,
            _DURATION,
            _q(
                "Onko virtsaaminen kivuliasta? | Gör det ont att kasta vatten? "
                "| Does it hurt when you pass urine?",
                _NO,
                "Hieman | Lite | A little",
                _YES,
            ),
            _q(
                "Onko sinulla kylkikipua? | Har du ont i flanken? | Do you have pain in your side?",
                _NO,
                _YES,
            ),
            _q(
                "Onko virtsassa verta? | Finns det blod i urinen? | Is there blood in your urine?",
                _NO,
                "En ole varma | Vet inte | Not sure",
                _YES,
            ),
        ),
        urgency=(1, 7),
    ),
    _Assessment(
        "back-pain",
        _tri("Alaselkäkipu | Smärta i ländryggen | Low back pain"),
        (
            _q(
                "Missä kipu tuntuu? | Var känns smärtan? | Where do you feel the pain?",
                "Alaselässä | I ländryggen | Lower back",
                "Alaselässä ja pakarassa | I ländryggen och skinkan | Lower back and buttock",
                "Säteilee jalkaan | Strålar ut i benet | It radiates to my leg",
            ),
            _PAIN_SCALE,
            _q(
                "Liittyikö kivun alkuun tapaturma? | Började smärtan i samband med en olycka? "
                "| Did the pain start with an accident?",
                _NO,
                "Nostin jotain painavaa | Jag lyfte något tungt | I lifted something heavy",
                "Kaaduin | Jag föll | I fell",
            ),
            _DURATION,
            _q(
                "Onko sinulla virtsaamisvaikeuksia tai puutumista haaroissa? "
                "| Har du svårt att kasta vatten eller domningar i grenen? "
                "| Do you have trouble passing urine or numbness in the groin?",
                _NO,
                _YES,
            ),
        ),
        urgency=(1, 8),
    ),
    _Assessment(
        "skin-rash",
        _tri("Ihottuma | Hudutslag | Skin rash"),
        (
            _q(
                "Missä ihottumaa on? | Var har du utslag? | Where is the rash?",
                "Käsissä | På händerna | On my hands",
                "Vartalolla | På bålen | On my body",
                "Kasvoissa | I ansiktet | On my face",
                "Koko kehossa | Över hela kroppen | All over my body",
            ),
            _q(
                "Kutiseeko ihottuma? | Kliar utslagen? | Is the rash itchy?",
                _NO,
                "Vähän | Lite | A little",
                "Paljon | Mycket | A lot",
            ),
            _DURATION,
            _q(
                "Oletko aloittanut uuden lääkkeen viime viikkoina? "
                "| Har du börjat med ett nytt läkemedel de senaste veckorna? "
                "| Have you started a new medicine in the last few weeks?",
                _NO,
                _YES,
            ),
            _FEVER,
        ),
        urgency=(3, 8),
    ),
    _Assessment(
        "sore-throat",
        _tri("Kurkkukipu | Halsont | Sore throat"),
        (
            _q(
                "Onko nieleminen kivuliasta? | Gör det ont att svälja? | Does it hurt to swallow?",
                "Vähän | Lite | A little",
                "Kohtalaisesti | Måttligt | Moderately",
                "Paljon | Mycket | A lot",
                "En pysty nielemään | Jag kan inte svälja | I cannot swallow",
            ),
            _FEVER,
            _DURATION,
            _COUGH,
            _q(
                "Onko kaulalla turvonneita imusolmukkeita? | Har du svullna lymfkörtlar på halsen? "
                "| Are the glands in your neck swollen?",
                _NO,
                "En tiedä | Vet inte | I don't know",
                _YES,
            ),
        ),
        urgency=(2, 8),
    ),
    _Assessment(
        "eye-symptoms",
        _tri("Silmäoireet | Ögonsymtom | Eye symptoms"),
        (
            _q(
                "Mitä oireita silmässä on? | Vilka symtom har du i ögat? "
                "| What eye symptoms do you have?",
                "Kutinaa | Klåda | Itching",
                "Punoitusta ja rähmimistä | Rodnad och var | Redness and discharge",
                "Kipua | Smärta | Pain",
                "Näkö on heikentynyt | Synen har försämrats | My vision is blurred",
            ),
            _q(
                "Onko oireita molemmissa silmissä? | Har du symtom i båda ögonen? "
                "| Are both eyes affected?",
                _YES,
                "Ei, vain toisessa | Nej, bara i det ena | No, only one",
            ),
            _q(
                "Käytätkö piilolinssejä? | Använder du kontaktlinser? | Do you use contact lenses?",
                _NO,
                _YES,
            ),
            _DURATION,
        ),
        urgency=(1, 8),
    ),
    _Assessment(
        "headache",
        _tri("Päänsärky | Huvudvärk | Headache"),
        (
            _PAIN_SCALE,
            _q(
                "Alkoiko päänsärky äkillisesti? | Började huvudvärken plötsligt? "
                "| Did the headache start suddenly?",
                "Ei, vähitellen | Nej, gradvis | No, gradually",
                _YES,
            ),
            _q(
                "Onko sinulla näköhäiriöitä tai puheen vaikeutta? "
                "| Har du synstörningar eller svårt att tala? "
                "| Do you have visual disturbances or trouble speaking?",
                _NO,
                "Näköhäiriöitä | Synstörningar | Visual disturbances",
                "Kyllä, molempia | Ja, båda | Yes, both",
            ),
            _q("Onko niska jäykkä? | Är nacken stel? | Is your neck stiff?", _NO, _YES),
            _DURATION,
        ),
        urgency=(0, 7),
    ),
    _Assessment(
        "depression",
        _tri("Masennusoireet | Symtom på depression | Symptoms of depression"),
        (
            _q(
                "Kuinka usein olet viimeisen kahden viikon aikana tuntenut itsesi alakuloiseksi? "
                "| Hur ofta har du känt dig nedstämd under de senaste två veckorna? "
                "| How often have you felt down during the last two weeks?",
                "Muutamana päivänä | Några dagar | On several days",
                "Yli puolet päivistä | Mer än hälften av dagarna | More than half the days",
                "Lähes joka päivä | Nästan varje dag | Nearly every day",
            ),
            _q(
                "Miten olet nukkunut? | Hur har du sovit? | How have you slept?",
                "Melko hyvin | Ganska bra | Fairly well",
                "Heräilen öisin | Jag vaknar på nätterna | I wake up at night",
                "Nukun tuskin ollenkaan | Jag sover knappt alls | I hardly sleep at all",
            ),
            _q(
                "Pystytkö käymään töissä tai opiskelemaan? "
                "| Klarar du av att arbeta eller studera? | Are you able to work or study?",
                _YES,
                "Vaivoin | Med möda | With difficulty",
                "En | Nej | No",
            ),
            _q(
                "Onko sinulla ollut ajatuksia itsesi vahingoittamisesta? "
                "| Har du haft tankar på att skada dig själv? "
                "| Have you had thoughts of harming yourself?",
                _NO,
                "Joskus ohimenevästi | Ibland i förbigående | Sometimes, briefly",
                _YES,
            ),
        ),
        urgency=(1, 7),
    ),
    _Assessment(
        "abdominal-pain",
        _tri("Vatsakipu | Magsmärta | Abdominal pain"),
        (
            _q(
                "Missä kipu tuntuu? | Var känns smärtan? | Where do you feel the pain?",
                "Ylävatsalla | I övre delen av magen | Upper abdomen",
                "Napan ympärillä | Runt naveln | Around the navel",
                "Oikealla alavatsalla | Nere till höger i magen | Lower right abdomen",
            ),
            _PAIN_SCALE,
            _q(
                "Onko sinulla ripulia tai oksentelua? | Har du diarré eller kräkningar? "
                "| Do you have diarrhoea or vomiting?",
                _NO,
                "Ripulia | Diarré | Diarrhoea",
                "Oksentelua | Kräkningar | Vomiting",
                "Molempia | Båda | Both",
            ),
            _FEVER,
            _DURATION,
        ),
        urgency=(0, 6),
    ),
)
_SERVICES = (
    _Assessment(
        "informal-care-support",
        _tri("Omaishoidon tuki | Stöd för närståendevård | Informal care support"),
        (
            _q(
                "Kuinka monta tuntia päivässä hoidat läheistäsi? "
                "| Hur många timmar per dag sköter du din närstående? "
                "| How many hours a day do you care for your relative?",
                "2 | 2 | 2",
                "4 | 4 | 4",
                "6 | 6 | 6",
                "10 | 10 | 10",
                "Ympäri vuorokauden | Dygnet runt | Around the clock",
            ),
            _q(
                "Asutko samassa taloudessa hoidettavan kanssa? "
                "| Bor du i samma hushåll som den du vårdar? "
                "| Do you live in the same household as the person you care for?",
                _YES,
                _NO,
            ),
            _q(
                "Missä hoidettava tarvitsee apua? | Vad behöver den du vårdar hjälp med? "
                "| What does the person need help with?",
                "Lääkkeiden ottamisessa | Att ta mediciner | Taking medicines",
                "Peseytymisessä ja pukeutumisessa | Att tvätta sig och klä på sig "
                "| Washing and dressing",
                "Kaikissa päivittäisissä toimissa | Alla dagliga sysslor | All daily activities",
            ),
            _q(
                "Onko hoidettavalla kotihoidon käyntejä? | Får den du vårdar besök av hemvården? "
                "| Does the person receive home care visits?",
                _NO,
                "Kerran päivässä | En gång om dagen | Once a day",
                "Useita kertoja päivässä | Flera gånger om dagen | Several times a day",
            ),
        ),
        recommendation=_tri(
            "Palvelutarpeen arvio sosiaalityöntekijän kanssa. "
            "| Bedömning av servicebehovet tillsammans med en socialarbetare. "
            "| Assessment of service needs with a social worker."
        ),
    ),
    _Assessment(
        "personal-assistance",
        _tri("Henkilökohtainen apu | Personlig assistans | Personal assistance"),
        (
            _q(
                "Missä tarvitset apua? | Vad behöver du hjälp med? | What do you need help with?",
                "Harrastuksissa | Fritidsaktiviteter | Hobbies",
                "Asioinnissa kodin ulkopuolella | Ärenden utanför hemmet | Errands outside home",
                "Kotitöissä ja asioinnissa | Hushållsarbete och ärenden | Housework and errands",
                "Päivittäisissä toimissa kotona ja kodin ulkopuolella "
                "| Dagliga sysslor hemma och utanför hemmet "
                "| Daily activities at home and outside",
            ),
            _q(
                "Kuinka monta tuntia viikossa arvioit tarvitsevasi apua? "
                "| Hur många timmar i veckan uppskattar du att du behöver hjälp? "
                "| How many hours a week do you think you need help?",
                "5 | 5 | 5",
                "10 | 10 | 10",
                "20 | 20 | 20",
                "30 | 30 | 30",
            ),
            _q(
                "Onko sinulla voimassa oleva lääkärinlausunto? "
                "| Har du ett giltigt läkarutlåtande? | Do you have a valid medical statement?",
                _YES,
                _NO,
            ),
            _q(
                "Pystytkö itse määrittelemään avun sisällön? "
                "| Kan du själv bestämma vad hjälpen ska innehålla? "
                "| Can you decide yourself what the help should include?",
                _YES,
                "Osittain | Delvis | Partly",
                _NO,
            ),
        ),
        recommendation=_tri(
            "Vammaispalvelujen sosiaalityöntekijä arvioi henkilökohtaisen avun tarpeen. "
            "| En socialarbetare inom handikappservicen bedömer behovet av personlig assistans. "
            "| A disability services social worker will assess your need for personal assistance."
        ),
    ),
    _Assessment(
        "elderly-services",
        _tri("Ikäihmisten palvelutarve | Servicebehov för äldre | Services for older people"),
        (
            _q(
                "Kenen puolesta täytät arvion? | För vem fyller du i bedömningen? "
                "| Who are you filling in the assessment for?",
                "Itseni | Mig själv | Myself",
                "Puolisoni | Min make eller maka | My spouse",
                "Vanhempani | Min förälder | My parent",
            ),
            _q(
                "Pystytkö liikkumaan kotona itsenäisesti? | Kan du röra dig självständigt hemma? "
                "| Can you move around at home on your own?",
                _YES,
                "Rollaattorin kanssa | Med rollator | With a walker",
                "En ilman apua | Inte utan hjälp | Not without help",
            ),
            _q(
                "Oletko kaatunut viimeisen puolen vuoden aikana? "
                "| Har du fallit under det senaste halvåret? "
                "| Have you fallen in the last six months?",
                "En | Nej | No",
                "Kerran | En gång | Once",
                "Useita kertoja | Flera gånger | Several times",
            ),
            _q(
                "Selviätkö kaupassakäynnistä? | Klarar du av att handla? "
                "| Can you manage the shopping?",
                _YES,
                "Omaisen avulla | Med hjälp av en anhörig | With a relative's help",
                _NO,
            ),
        ),
        recommendation=_tri(
            "Kotihoidon palvelutarpeen arviointikäynti. "
            "| Hembesök för bedömning av servicebehovet inom hemvården. "
            "| A home visit to assess the need for home care."
        ),
    ),
)
# Omaolo's recommendation for each urgency class P0–P8.
_RECOMMENDATIONS = tuple(
    _tri(text)
    for text in (
        "Hakeudu heti päivystykseen tai soita hätänumeroon 112. "
        "| Sök dig genast till jouren eller ring nödnumret 112. "
        "| Go to the emergency department immediately or call 112.",
        "Hoidon tarpeen arvio päivystyksessä kahden tunnin kuluessa. "
        "| Bedömning av vårdbehovet på jouren inom två timmar. "
        "| Assessment of care need at the emergency department within two hours.",
        "Hoidon tarpeen arvio saman päivän aikana. Ammattilainen soittaa sinulle. "
        "| Bedömning av vårdbehovet under samma dag. En yrkesperson ringer dig. "
        "| Assessment of care need today. A professional will call you.",
        "Hoidon tarpeen arvio terveyskeskuksessa vuorokauden kuluessa. "
        "| Bedömning av vårdbehovet på hälsocentralen inom ett dygn. "
        "| Assessment of care need at the health centre within 24 hours.",
        "Hoidon tarpeen arvio terveyskeskuksessa 1-3 vuorokauden kuluessa. "
        "| Bedömning av vårdbehovet på hälsocentralen inom 1–3 dygn. "
        "| Assessment of care need at the health centre within 1–3 days.",
        "Hoidon tarpeen arvio terveyskeskuksessa viikon kuluessa. "
        "| Bedömning av vårdbehovet på hälsocentralen inom en vecka. "
        "| Assessment of care need at the health centre within a week.",
        "Kiireetön vastaanottoaika terveyskeskukseen. "
        "| Icke-brådskande mottagningstid på hälsocentralen. "
        "| A non-urgent appointment at the health centre.",
        "Omahoito-ohjeet. Ota yhteyttä terveyskeskukseen, jos oireet pahenevat. "
        "| Egenvårdsanvisningar. Kontakta hälsocentralen om symtomen förvärras. "
        "| Self-care instructions. Contact the health centre if your symptoms get worse.",
        "Omahoito riittää. Lue omahoito-ohjeet Omaolosta. "
        "| Egenvård räcker. Läs egenvårdsanvisningarna i Omaolo. "
        "| Self-care is enough. Read the self-care instructions in Omaolo.",
    )
)
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


class _Say:
    """Picks one language out of "fi | sv | en" texts."""

    def __init__(self, rng: random.Random, lang: str, ctx: dict[str, Any]) -> None:
        self.rng, self.lang, self.ctx = rng, lang, ctx

    def __call__(self, text: str) -> str:
        return _tr(self.lang, _tri(text)).format(**self.ctx)

    def pick(self, *texts: str) -> str:
        return self(self.rng.choice(texts))


def _form_income_support(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    fields: dict[str, Any] = {}
    support = t("Haettava tuki | Sökt stöd | Support applied for")
    amount = t("Summa (EUR) | Belopp (EUR) | Amount (EUR)")
    household = t("Perheen koko | Hushållets storlek | Household size")
    if urgent:
        title = t(
            "Kiireellinen toimeentulotuki | Brådskande utkomststöd | Urgent social assistance"
        )
        fields[support] = t(
            "Ruoka ja välttämättömät menot | Mat och nödvändiga utgifter | Food and necessary costs"
        )
        fields[amount] = float(rng.randrange(80, 320, 10))
        fields[t("Kiireellisyyden peruste | Orsak till brådskan | Why it is urgent")] = t.pick(
            "Ruoka ja rahat ovat loppuneet, lapset ovat kotona. "
            "| Maten och pengarna är slut, barnen är hemma. "
            "| We have run out of food and money, and the children are at home.",
            "Palkka ei tullut ajallaan, eikä minulla ole rahaa lääkkeisiin. "
            "| Lönen kom inte i tid och jag har inga pengar till mina mediciner. "
            "| My salary was late and I have no money for my medicines.",
            "Sähköt katkaistaan ensi viikolla, jos laskua ei makseta. "
            "| Elen stängs av nästa vecka om räkningen inte betalas. "
            "| The electricity will be cut off next week if the bill is not paid.",
        )
        fields[household] = rng.randint(1, 5)
        statement = t("tiliote.pdf | kontoutdrag.pdf | bank-statement.pdf")
        return title, fields, [_attachment(rng, statement)]
    title = t.pick(
        "Täydentävä toimeentulotuki | Kompletterande utkomststöd | Supplementary social assistance",
        "Ehkäisevä toimeentulotuki | Förebyggande utkomststöd | Preventive social assistance",
    )
    need, low, high = rng.choice(
        (
            ("Lääkekulut | Läkemedelskostnader | Medicine costs", 20, 160),
            ("Silmälasit | Glasögon | Glasses", 150, 450),
            ("Vuokravakuus | Hyresgaranti | Rental deposit", 500, 1400),
            ("Sähkölasku | Elräkning | Electricity bill", 90, 420),
            ("Hammashoitokulut | Tandvårdskostnader | Dental care costs", 60, 380),
            ("Muuttokulut | Flyttkostnader | Moving costs", 150, 600),
        )
    )
    fields[support] = t(need)
    fields[amount] = round(rng.uniform(low, high), 2)
    with_decision = rng.random() < 0.7
    fields[t("Kelan päätös liitteenä | FPA:s beslut bifogat | Kela decision attached")] = (
        with_decision
    )
    fields[household] = rng.randint(1, 5)
    attachments = []
    if with_decision:
        attachments.append(_attachment(rng, t("kela-paatos.pdf | fpa-beslut.pdf | kela.pdf")))
    if rng.random() < 0.6:
        attachments.append(_attachment(rng, t("lasku.pdf | faktura.pdf | invoice.pdf")))
    if rng.random() < 0.2:
        attachments.append(_attachment(rng, t("kuitti.jpg | kvitto.jpg | receipt.jpg"), _JPEG))
    return title, fields, attachments


def _form_disability(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    title = t(
        "Vammaispalveluhakemus | Ansökan om handikappservice | Application for disability services"
    )
    service, reason = rng.choice(
        (
            (
                "Kuljetuspalvelu | Färdtjänst | Transport service",
                "En pysty käyttämään julkista liikennettä pyörätuolin takia. "
                "| Jag kan inte använda kollektivtrafiken på grund av rullstolen. "
                "| I cannot use public transport because of my wheelchair.",
            ),
            (
                "Henkilökohtainen apu | Personlig assistans | Personal assistance",
                "Tarvitsen MS-taudin takia apua kaupassa käymiseen ja harrastuksiin. "
                "| Jag behöver hjälp med att handla och med fritidsaktiviteter på grund av MS. "
                "| I need help with shopping and hobbies because of MS.",
            ),
            (
                "Asunnon muutostyöt | Ändringsarbeten i bostaden | Home modifications",
                "Kylpyhuoneeseen tarvitaan tukikahvat, ja kynnykset pitää poistaa. "
                "| Badrummet behöver stödhandtag och trösklarna måste tas bort. "
                "| The bathroom needs grab bars and the thresholds removed.",
            ),
            (
                "Päivätoiminta | Dagverksamhet | Day activities",
                "Poikani täyttää 18 ja koulu loppuu keväällä. Hän tarvitsee päivätoimintaa. "
                "| Min son fyller 18 och skolan tar slut i vår. Han behöver dagverksamhet. "
                "| My son turns 18 and school ends in spring. He needs day activities.",
            ),
        )
    )
    aids = (
        "Pyörätuoli | Rullstol | Wheelchair",
        "Rollaattori | Rollator | Walker",
        "Kuulokoje | Hörapparat | Hearing aid",
        "Valkoinen keppi | Vit käpp | White cane",
    )
    fields: dict[str, Any] = {
        t("Haettava palvelu | Sökt service | Service applied for"): t(service),
        t("Hakija | Sökande | Applicant"): t.pick(
            "Hakija itse | Sökanden själv | The applicant",
            "Huoltaja | Vårdnadshavare | Guardian",
            "Edunvalvoja | Intressebevakare | Legal guardian",
        ),
        t("Käytössä olevat apuvälineet | Hjälpmedel som används | Aids in use"): [
            t(aid) for aid in aids if rng.random() < 0.3
        ],
        t("Perustelut | Motivering | Reasons"): t(reason),
    }
    statement = t("laakarinlausunto.pdf | lakarutlatande.pdf | medical-statement.pdf")
    attachments = [_attachment(rng, statement)]
    if rng.random() < 0.3:
        photo = t("kylpyhuone.jpg | badrum.jpg | bathroom.jpg")
        attachments.append(_attachment(rng, photo, _JPEG))
    return title, fields, attachments


def _form_social_care(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    fields: dict[str, Any]
    if rng.random() < 0.4:
        title = t(
            "Omaishoidon tuen hakemus | Ansökan om stöd för närståendevård "
            "| Application for informal care support"
        )
        fields = {
            t("Hoidettavan ikä | Vårdtagarens ålder | Age of the person cared for"): (
                t.ctx["age_old"]
            ),
            t("Hoito tuntia vuorokaudessa | Vård timmar per dygn | Hours of care a day"): (
                rng.choice((4, 6, 8, 12, 24))
            ),
            t("Kotihoidon käynnit | Hemvårdsbesök | Home care visits"): rng.random() < 0.5,
            t("Hoidettavan sairaudet | Vårdtagarens sjukdomar | Illnesses"): t.pick(
                "Muistisairaus | Minnessjukdom | Memory disorder",
                "Parkinsonin tauti | Parkinsons sjukdom | Parkinson's disease",
                "Aivoinfarktin jälkitila | Tillstånd efter hjärninfarkt | After a stroke",
            ),
        }
        summary = t("hoitoyhteenveto.pdf | vardsammandrag.pdf | care-summary.pdf")
        return title, fields, [_attachment(rng, summary)]
    title = t(
        "Yhteydenotto sosiaalihuoltoon | Kontakt till socialvården | Contact to social services"
    )
    fields = {
        t("Kenen asiassa | Vems ärende | Whose matter"): t.pick(
            "Oma | Mitt eget | My own", "Läheisen | En anhörigs | A relative's"
        ),
        t("Asian kuvaus | Beskrivning av ärendet | Description"): t.pick(
            "Isäni asuu yksin {in_place} ja hänen muistinsa on heikentynyt. "
            "Hän ei enää hoida laskujaan. "
            "| Min pappa bor ensam {in_place} och minnet har blivit sämre. "
            "Han sköter inte längre sina räkningar. "
            "| My father lives alone {in_place} and his memory has got worse. "
            "He no longer pays his bills.",
            "Olen eronnut ja asun lasten kanssa väliaikaisesti ystävän luona. "
            "Tarvitsen apua asunnon hakemiseen. "
            "| Jag har skilt mig och bor tillfälligt hos en vän med barnen. "
            "Jag behöver hjälp med att söka bostad. "
            "| I have divorced and live at a friend's place with the children for now. "
            "I need help finding a flat.",
            "Jaksamiseni on lopussa, kun hoidan vammaista lastani. "
            "Haluaisin keskustella tukimuodoista. "
            "| Jag orkar inte mera med vården av mitt barn med funktionsnedsättning. "
            "Jag vill diskutera olika stödformer. "
            "| I am exhausted from caring for my disabled child. "
            "I would like to discuss the support available.",
        ),
        t(
            "Saako asiassa olla yhteydessä muihin viranomaisiin "
            "| Får ni kontakta andra myndigheter i ärendet "
            "| May you contact other authorities"
        ): rng.random() < 0.7,
        t("Toivottu yhteydenottotapa | Önskat kontaktsätt | Preferred contact"): t.pick(
            "Puhelin | Telefon | Phone", "Viesti | Meddelande | Message"
        ),
    }
    return title, fields, []


_MEDICINES = (
    "Amlodipin 5 mg",
    "Escitalopram 10 mg",
    "Losartan 50 mg",
    "Marevan 3 mg",
    "Metformin 1 g",
    "Simvastatin 20 mg",
    "Thyroxin 0,1 mg",
)


def _form_health(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    title = t.pick(
        "Esitiedot vastaanottokäyntiä varten | Förhandsuppgifter inför mottagningsbesöket "
        "| Health questionnaire before the appointment",
        "Diabeteksen vuosikontrollin esitiedot | Förhandsuppgifter för diabeteskontrollen "
        "| Annual diabetes check-up questionnaire",
        "Verenpaineen seurantalomake | Uppföljningsblankett för blodtryck "
        "| Blood pressure follow-up form",
    )
    fields: dict[str, Any] = {
        t("Pituus (cm) | Längd (cm) | Height (cm)"): rng.randint(152, 194),
        t("Paino (kg) | Vikt (kg) | Weight (kg)"): rng.randint(50, 128),
        t("Tupakoitko | Röker du | Do you smoke"): rng.random() < 0.15,
        t("Alkoholiannoksia viikossa | Alkoholportioner per vecka | Alcohol units a week"): (
            rng.choice((0, 0, 1, 2, 4, 7, 12))
        ),
        t("Säännöllinen lääkitys | Regelbunden medicinering | Regular medicines"): sorted(
            rng.sample(_MEDICINES, rng.randint(0, 3))
        ),
        t("Allergiat | Allergier | Allergies"): t.pick(
            "Ei tiedossa olevia | Inga kända | None known",
            "Penisilliini | Penicillin | Penicillin",
            "Siitepöly ja pähkinät | Pollen och nötter | Pollen and nuts",
        ),
    }
    if rng.random() < 0.5:
        label = t("Kotona mitattu verenpaine | Blodtryck mätt hemma | Blood pressure at home")
        fields[label] = f"{rng.randint(122, 168)}/{rng.randint(72, 99)}"
    attachments = []
    if rng.random() < 0.25:
        readings = t("verenpainemittaukset.pdf | blodtrycksmatningar.pdf | bp-readings.pdf")
        attachments.append(_attachment(rng, readings))
    return title, fields, attachments


def _form_other(rng: random.Random, t: _Say, urgent: bool) -> _Form:
    fields: dict[str, Any]
    if rng.random() < 0.5:
        title = t("Palaute | Respons | Feedback")
        fields = {
            t("Palvelu | Tjänst | Service"): t.pick(
                "Terveysasema | Hälsostation | Health centre",
                "Hammashoitola | Tandklinik | Dental clinic",
                "Laboratorio | Laboratorium | Laboratory",
            ),
            t("Palaute | Respons | Feedback"): t.pick(
                "Hoitaja oli todella ystävällinen ja ajan sai nopeasti. Kiitos! "
                "| Skötaren var väldigt vänlig och jag fick snabbt en tid. Tack! "
                "| The nurse was very kind and I got an appointment quickly. Thank you!",
                "Odotin aulassa puolitoista tuntia, eikä kukaan kertonut syytä. "
                "| Jag väntade en och en halv timme i väntrummet och ingen berättade varför. "
                "| I waited an hour and a half in the lobby and nobody told me why.",
                "Ruotsinkielistä palvelua ei ollut saatavilla {in_place}. "
                "| Det fanns ingen service på svenska {in_place}. "
                "| There was no service in Swedish {in_place}.",
            ),
            t("Saa ottaa yhteyttä | Ni får kontakta mig | You may contact me"): rng.random() < 0.6,
        }
        return title, fields, []
    title = t(
        "Potilasasiakirjojen tarkastuspyyntö | Begäran om att få se patientjournaler "
        "| Request to see patient records"
    )
    year = 2016 + rng.randint(0, 6)
    fields = {
        t("Ajanjakso | Tidsperiod | Period"): f"{year}–{year + rng.randint(1, 3)}",
        t("Mitä tietoja pyydät | Vilka uppgifter begär du | Which records"): t.pick(
            "Lähetteet ja laboratoriotulokset | Remisser och provsvar | Referrals and lab results",
            "Kaikki käyntimerkinnät | Alla besöksanteckningar | All visit notes",
        ),
        t("Toimitustapa | Leveranssätt | Delivery"): t.pick(
            "Postitse | Per post | By post", "Noudan itse | Jag hämtar själv | I will pick them up"
        ),
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
_FORM_NOTE = "Lisätietoja | Tilläggsuppgifter | Additional information"


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

_HELP: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "fi": (
        (
            "Ikääntyneen läheisen arki",
            (
                "Isäni ({age_old}) ei enää pärjää kotona yksin. Mistä saamme apua?",
                "Mummoni asuu yksin {in_place} ja on alkanut unohdella syömistä. "
                "Voisiko joku käydä katsomassa häntä?",
            ),
        ),
        (
            "Toimeentulo",
            (
                "Rahat loppuivat kesken kuun enkä pysty maksamaan vuokraa. Kelan päätös tulee "
                "vasta ensi kuussa. Mitä voin tehdä?",
            ),
        ),
        (
            "Jaksaminen",
            (
                "Olen yksinhuoltaja ja tuntuu, etten jaksa enää. Lapset ovat 3- ja 6-vuotiaat. "
                "Tarvitsisin jonkun, jonka kanssa puhua, ja ehkä apua kotiin.",
            ),
        ),
        (
            "Huoli läheisestä",
            (
                "Veljeni juo paljon ja on ollut viime aikoina tosi masentunut. "
                "En tiedä, miten voisin auttaa häntä.",
            ),
        ),
        (
            "Asuminen",
            (
                "Asunnossani on kosteusvaurio ja lapsilla on ollut jatkuvasti yskää. "
                "Vuokranantaja ei tee mitään. Kuka tähän voi puuttua?",
            ),
        ),
        (
            "Omaishoitajan jaksaminen",
            (
                "Hoidan äitiäni, jolla on Parkinsonin tauti. Olen aivan uupunut enkä ole "
                "pitänyt vapaata puoleen vuoteen.",
            ),
        ),
        (
            "Ajanvaraus ei onnistu",
            (
                "Olen yrittänyt soittaa terveysasemalle kolme päivää, mutta jono katkeaa aina. "
                "Tarvitsisin lääkärin ajan polven takia.",
            ),
        ),
        (
            "Yksinäisyys",
            (
                "Olen {age}-vuotias ja asun yksin. Päivät ovat pitkiä. Onko {in_place} "
                "jotain toimintaa ikäihmisille?",
            ),
        ),
        (
            "Lapsiperheen arki",
            (
                "Vauva itkee öisin tuntikausia ja olemme molemmat ihan loppu. "
                "Saako lapsiperhe jotain kotipalvelua?",
            ),
        ),
        (
            "Apuvälineet",
            (
                "Tarvitsisin lainaan rollaattorin ja suihkujakkaran lonkkaleikkauksen jälkeen. "
                "Mistä niitä saa?",
            ),
        ),
    ),
    "sv": (
        (
            "Äldre anhörig",
            (
                "Min pappa ({age_old}) klarar sig inte längre ensam hemma. Var kan vi få hjälp?",
                "Min mormor bor ensam {in_place} och har börjat glömma att äta. "
                "Kunde någon åka och titta till henne?",
            ),
        ),
        (
            "Ekonomiska svårigheter",
            (
                "Pengarna tog slut mitt i månaden och jag kan inte betala hyran. FPA:s beslut "
                "kommer först nästa månad. Vad kan jag göra?",
            ),
        ),
        (
            "Orkar inte",
            (
                "Jag är ensamförälder och känner att jag inte orkar mera. Barnen är 3 och 6 år. "
                "Jag skulle behöva någon att prata med och kanske hjälp hemma.",
            ),
        ),
        (
            "Oro för en anhörig",
            (
                "Min bror dricker mycket och har varit väldigt deprimerad på sistone. "
                "Jag vet inte hur jag kan hjälpa honom.",
            ),
        ),
        (
            "Boende",
            (
                "Det finns en fuktskada i min bostad och barnen hostar hela tiden. "
                "Hyresvärden gör ingenting. Vem kan ingripa?",
            ),
        ),
        (
            "Närståendevårdare orkar inte",
            (
                "Jag sköter min mamma som har Parkinsons sjukdom. Jag är helt slutkörd och "
                "har inte haft ledigt på ett halvt år.",
            ),
        ),
        (
            "Får ingen tid",
            (
                "Jag har försökt ringa hälsostationen i tre dagar men kön bryts alltid. "
                "Jag behöver en läkartid för mitt knä.",
            ),
        ),
        (
            "Ensamhet",
            (
                "Jag är {age} år och bor ensam. Dagarna är långa. Finns det någon verksamhet "
                "för äldre {in_place}?",
            ),
        ),
        (
            "Hjälpmedel",
            (
                "Jag behöver låna en rollator och en duschpall efter min höftoperation. "
                "Var får jag tag på dem?",
            ),
        ),
    ),
    "en": (
        (
            "Elderly relative",
            ("My father ({age_old}) can no longer cope alone at home. Where can we get help?",),
        ),
        (
            "No money for food",
            (
                "I lost my job and we have no money for food until the Kela decision comes. "
                "What can I do?",
            ),
        ),
        (
            "Cannot get an appointment",
            (
                "I have tried to call the health centre for three days but the line always "
                "drops. I need to see a doctor about my knee.",
            ),
        ),
        (
            "Exhausted parent",
            (
                "I am a single parent with two small children and I feel I can't cope anymore. "
                "I would need someone to talk to.",
            ),
        ),
    ),
}
# Birth years that fit the writer of a help-request topic: (lang, topic index) -> years.
_HELP_BORN = {
    ("fi", 0): (1950, 1985),
    ("fi", 2): (1980, 2000),
    ("fi", 7): (1935, 1955),
    ("fi", 8): (1985, 2003),
    ("fi", 9): (1935, 1960),
    ("sv", 0): (1950, 1985),
    ("sv", 2): (1980, 2000),
    ("sv", 7): (1935, 1955),
    ("sv", 8): (1935, 1960),
    ("en", 0): (1950, 1985),
    ("en", 3): (1980, 2000),
}


def _help_request(
    rng: random.Random, homes: _Homes, lang: str, when: datetime, special: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    index = rng.randrange(len(_HELP[lang]))
    topic, messages = _HELP[lang][index]
    person = _person(rng, lang, _HELP_BORN.get((lang, index), (1950, 2006)))
    identified = rng.random() < 0.4
    shown = identified or rng.random() < 0.6
    home = homes.pick(lang, shown)
    ctx = _context(rng, lang, home, person, when.astimezone(HELSINKI).date())
    message = rng.choice(messages).format(**ctx)
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
        "request": {"topic": topic, "message": message, "contact_preference": preference},
        "resident": resident,
    }
    return payload, {"kind": "help"}


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
