"""Meeting detection: who met whom from which country, when, and of what kind.

Each rule is a table of short articles written for these tests, in English, Arabic and French,
including every negative kind the issue names.
"""

from __future__ import annotations

from datetime import date

import pytest

from monitor.evidence import confidence, office, split_sentences
from monitor.gazetteer import load_gazetteer
from monitor.lexicon import load_lexicon
from monitor.match import Matcher
from monitor.models import DateSource, EventKind, Official, Watchlist

ABU_QASRA = Official(
    id="abu-qasra",
    name="Murhaf Abu Qasra",
    country="Syria",
    aliases=("Abu Qasra", "مرهف أبو قصرة", "أبو قصرة"),
    titles=("Defence Minister", "Minister of Defence", "وزير الدفاع", "ministre de la Défense"),
    since=date(2024, 12, 21),
    watchlist="syria",
)
AYYOUB = Official(
    id="ayyoub",
    name="Ali Abdullah Ayyoub",
    country="Syria",
    titles=("Defence Minister", "Minister of Defence", "وزير الدفاع"),
    since=date(2018, 1, 1),
    until=date(2024, 12, 8),
    watchlist="syria",
)
BELOUSOV = Official(
    id="belousov",
    name="Andrey Belousov",
    country="Russia",
    aliases=("أندريه بيلوسوف",),
    titles=("Defence Minister", "Minister of Defence", "وزير الدفاع"),
    watchlist="syria",
)
KHALID = Official(
    id="khalid",
    name="Khalid bin Salman",
    country="Saudi Arabia",
    titles=("Defence Minister", "Minister of Defense"),
    watchlist="syria",
)
MENASSA = Official(
    id="menassa",
    name="Michel Menassa",
    country="Lebanon",
    titles=("Defence Minister",),
    watchlist="syria",
)
AUSTIN = Official(
    id="austin",
    name="Lloyd Austin",
    country="United States",
    titles=("Secretary of Defense", "Defense Secretary"),
    watchlist="syria",
)
WATCH = Watchlist(
    "syria",
    (ABU_QASRA, AYYOUB, BELOUSOV, KHALID, MENASSA, AUSTIN),
    (
        "European Union",
        "Pakistan",
        "Jordan",
        "Russia",
        "Saudi Arabia",
        "Lebanon",
        "Syria",
        "United States",
        "Turkey",
    ),
)
PUBLISHED = date(2025, 11, 27)  # a Thursday
M, C, P, V = EventKind.MEETING, EventKind.CALL, EventKind.PLANNED, EventKind.VISIT


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([WATCH], load_gazetteer())


def found(
    matcher: Matcher, text: str, title: str = ""
) -> list[tuple[str, str, EventKind, date | None]]:
    return sorted(
        (m.official_id, m.country, m.kind, m.date) for m in matcher.match(title, text, PUBLISHED)
    )


POSITIVE = [
    # who: names, aliases, spellings, titles qualified by a country
    (
        "Syrian Defence Minister Murhaf Abu Qasra received the Pakistani ambassador on 25 November.",
        [("abu-qasra", "Pakistan", M, date(2025, 11, 25))],
        "name-and-adjective",
    ),
    (
        "Minister Abou Kasrah hosted Jordanian Ambassador Omar Haddad in Damascus.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "transliteration-variant",
    ),
    (
        "Syria's Defence Minister held talks today with the chargé d'affaires of the European Union.",
        [("abu-qasra", "European Union", M, PUBLISHED)],
        "possessive-title",
    ),
    (
        "The Minister of Defence of Syria welcomed a delegation from Jordan.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "title-of-country",
    ),
    (
        "U.S. Secretary of Defense Lloyd J. Austin met Jordan's army chief.",
        [("austin", "Jordan", M, PUBLISHED)],
        "middle-initial-and-abbreviation",
    ),
    # whom: party nouns make a country the other side
    (
        "Abu Qasra received a senior Russian delegation led by a deputy defence minister.",
        [("abu-qasra", "Russia", M, PUBLISHED)],
        "delegation",
    ),
    (
        "Abu Qasra met with Air Marshal Saeed Afzal, Ambassador of the Islamic Republic of Pakistan.",
        [("abu-qasra", "Pakistan", M, PUBLISHED)],
        "official-country-name",
    ),
    # he / the minister carry the subject over
    (
        "Abu Qasra has been busy. On 22 November, the Minister hosted the Jordanian ambassador. "
        "On 16 November, he received a Russian delegation.",
        [
            ("abu-qasra", "Jordan", M, date(2025, 11, 22)),
            ("abu-qasra", "Russia", M, date(2025, 11, 16)),
        ],
        "roundup-anaphors",
    ),
    # two watched officials are one event; three are one per pair
    (
        "Abu Qasra held talks in Moscow with his Russian counterpart Andrey Belousov.",
        [("abu-qasra", "Russia", M, PUBLISHED)],
        "two-watched-one-event",
    ),
    (
        "Saudi Defence Minister Khalid bin Salman hosted counterparts Michel Menassa from Lebanon "
        "and Syria's Murhaf Abu Qasra in Jeddah.",
        [
            ("khalid", "Lebanon", M, PUBLISHED),
            ("khalid", "Syria", M, PUBLISHED),
            ("menassa", "Syria", M, PUBLISHED),
        ],
        "trilateral",
    ),
    # kinds
    (
        "Abu Qasra held a phone call with his Jordanian counterpart yesterday.",
        [("abu-qasra", "Jordan", C, date(2025, 11, 26))],
        "call",
    ),
    (
        "Abu Qasra will meet the Turkish ambassador next Wednesday.",
        [("abu-qasra", "Turkey", P, date(2025, 12, 3))],
        "planned-next-weekday",
    ),
    (
        "Abu Qasra is expected to receive a Saudi delegation on Monday.",
        [("abu-qasra", "Saudi Arabia", P, date(2025, 12, 1))],
        "planned-weekday-ahead",
    ),
    (
        "Abu Qasra visited Jordan on Tuesday.",
        [("abu-qasra", "Jordan", V, date(2025, 11, 25))],
        "visit",
    ),
    (
        "Abu Qasra visited Jordan. During the visit he met the Jordanian army chief.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "visit-with-meeting-is-meeting",
    ),
    (
        "Abu Qasra met the Lebanese defence minister. They agreed to meet again in Riyadh next month.",
        [("abu-qasra", "Lebanon", M, PUBLISHED), ("abu-qasra", "Lebanon", P, PUBLISHED)],
        "pair-anaphor-plans",
    ),
    (
        "Abu Qasra hosted the Lebanese defence minister in Damascus. "
        "A follow-up meeting is scheduled to be held in Saudi Arabia soon.",
        [("abu-qasra", "Lebanon", M, PUBLISHED), ("abu-qasra", "Lebanon", P, PUBLISHED)],
        "follow-up-is-the-same-pair",
    ),
    (
        "Abu Qasra met Michel Menassa in Jeddah. "
        "It was agreed to hold a follow-up meeting in Saudi Arabia, Mr Menassa said.",
        [("abu-qasra", "Lebanon", M, PUBLISHED), ("abu-qasra", "Lebanon", P, PUBLISHED)],
        "follow-up-told-by-one-side",
    ),
    (
        "Defence Minister attends talks with Syria in Riyadh. Michel Menassa's office said the "
        "talks went well. Minister Michel Menassa thanked the hosts. Khalid bin Salman attended.",
        [("menassa", "Syria", M, PUBLISHED)],
        "unqualified-title-is-the-protagonist",
    ),
    (
        "Abu Qasra met Michel Menassa. Khalid bin Salman will hold a follow-up meeting.",
        [("abu-qasra", "Lebanon", M, PUBLISHED)],
        "follow-up-by-someone-else-is-no-plan-of-the-pair",
    ),
    # dates
    (
        "Abu Qasra received the Pakistani ambassador on Monday.",
        [("abu-qasra", "Pakistan", M, date(2025, 11, 24))],
        "weekday-past",
    ),
    (
        "Abu Qasra said Thursday that he had received the Pakistani ambassador.",
        [("abu-qasra", "Pakistan", M, PUBLISHED)],
        "announcement-day-is-no-date",
    ),
    (
        "Abu Qasra hosted the Jordanian ambassador in Damascus, the agency reported on Thursday. "
        "The meeting on Tuesday followed weeks of tension on the border.",
        [("abu-qasra", "Jordan", M, date(2025, 11, 25))],
        "date-from-a-later-sentence",
    ),
    (
        "Abu Qasra hosted the Jordanian ambassador. The meeting on Tuesday was long. "
        "The talks on Wednesday were brief.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "two-loose-dates-date-nothing",
    ),
    # one article, several people on the other side: one meeting per office
    (
        "Abu Qasra will hold talks with the Jordanian defence minister and the Jordanian "
        "chief of staff.",
        [("abu-qasra", "Jordan", P, PUBLISHED), ("abu-qasra", "Jordan", P, PUBLISHED)],
        "two-offices-two-meetings",
    ),
    (
        "Abu Qasra received a Jordanian delegation led by the foreign minister. He said he met "
        "the Jordanian defence minister during the talks.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "delegation-led-by-is-one-meeting",
    ),
    (
        "Abu Qasra began a visit to Jordan on Monday. He met the Prime Minister and later his "
        "counterpart.",
        [("abu-qasra", "Jordan", M, PUBLISHED), ("abu-qasra", "Jordan", M, PUBLISHED)],
        "offices-held-in-the-country-visited",
    ),
    (
        "Abu Qasra arrived in Jordan. Meeting with King Abdullah is also on his agenda.",
        [("abu-qasra", "Jordan", P, PUBLISHED)],
        "on-his-agenda",
    ),
    (
        "Defence Minister Michel Menassa arrived in Amman. Menassa met the Jordanian army chief.",
        [("menassa", "Jordan", M, PUBLISHED)],
        "surname-after-full-name",
    ),
    (
        "Abu Qasra discussed plans for the upcoming meeting with the Jordanian ambassador.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "first-act-decides-the-kind",
    ),
    (
        "Abu Qasra received the\nJordanian ambassador.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "line-broken-inside-a-sentence",
    ),
    # Arabic
    (
        "التقى أبو قصرة وزير الدفاع الأردني ورئيس الأركان الأردني.",
        [("abu-qasra", "Jordan", M, PUBLISHED), ("abu-qasra", "Jordan", M, PUBLISHED)],
        "ar-two-offices",
    ),
    (
        "بحث وزير الدفاع السوري مرهف أبو قصرة مع السفير الباكستاني في دمشق سبل التعاون.",
        [("abu-qasra", "Pakistan", M, PUBLISHED)],
        "ar-verb-subject-with",
    ),
    (
        "زار وزير الدفاع السوري العاصمة الأردنية عمّان.",
        [("abu-qasra", "Jordan", V, PUBLISHED)],
        "ar-verb-subject-destination",
    ),
    (
        "وصل أبو قصرة إلى الأردن. والتقى رئيس الوزراء.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "ar-office-in-the-country-visited",
    ),
    (
        "استقبل أبو قصرة السفير الأردني في دمشق. وجاء اللقاء يوم الثلاثاء بعد أسابيع من التوتر.",
        [("abu-qasra", "Jordan", M, date(2025, 11, 25))],
        "ar-date-from-a-later-sentence",
    ),
    (
        "استقبل وزير الدفاع السوري مرهف أبو قصرة اليوم في دمشق سفير الأردن.",
        [("abu-qasra", "Jordan", M, PUBLISHED)],
        "ar-received",
    ),
    (
        "اختتم أبو قصرة زيارة إلى موسكو. حيث التقى بنظيره الروسي أندريه بيلوسوف.",
        [("abu-qasra", "Russia", M, PUBLISHED)],
        "ar-dropped-subject",
    ),
    (
        "أجرى وزير الدفاع السوري اتصالا هاتفيا مع نظيره السعودي.",
        [("abu-qasra", "Saudi Arabia", C, PUBLISHED)],
        "ar-call",
    ),
    (
        "التقى أبو قصرة في 25 تشرين الثاني وفدا باكستانيا.",
        [("abu-qasra", "Pakistan", M, date(2025, 11, 25))],
        "ar-levantine-month",
    ),
    (
        "استقبل أبو قصرة وزير الدفاع اللبناني في دمشق. واتفق على عقد اجتماع متابعة في السعودية.",
        [("abu-qasra", "Lebanon", M, PUBLISHED), ("abu-qasra", "Lebanon", P, PUBLISHED)],
        "ar-follow-up",
    ),
    # French
    (
        "Le ministre syrien de la Défense a reçu l'ambassadeur de Jordanie le 22 novembre.",
        [("abu-qasra", "Jordan", M, date(2025, 11, 22))],
        "fr-qualifier-inside-title",
    ),
    (
        "Abou Qasra s'est entretenu par téléphone avec son homologue russe.",
        [("abu-qasra", "Russia", C, PUBLISHED)],
        "fr-call",
    ),
    (
        "Une délégation jordanienne a été reçue dimanche par Abou Qasra.",
        [("abu-qasra", "Jordan", M, date(2025, 11, 23))],
        "fr-passive-feminine",
    ),
    (
        "Le ministre syrien de la Défense a reçu le ministre jordanien de la Défense et le chef "
        "d'état-major jordanien.",
        [("abu-qasra", "Jordan", M, PUBLISHED), ("abu-qasra", "Jordan", M, PUBLISHED)],
        "fr-two-offices",
    ),
    (
        "Abou Qasra a effectué une visite en Jordanie. Il a rencontré le Premier ministre et son "
        "homologue.",
        [("abu-qasra", "Jordan", M, PUBLISHED), ("abu-qasra", "Jordan", M, PUBLISHED)],
        "fr-offices-in-the-country-visited",
    ),
    (
        "Abou Qasra a reçu l'ambassadeur de Jordanie. La réunion a eu lieu mardi à Damas.",
        [("abu-qasra", "Jordan", M, date(2025, 11, 25))],
        "fr-date-from-a-later-sentence",
    ),
]

NEGATIVE = [
    ("Abu Qasra gave a speech praising cooperation with Pakistan and Jordan.", "speech"),
    (
        "The Syrian Foreign Minister received the Jordanian ambassador in Damascus.",
        "other-ministry",
    ),
    ("Turkey's Defence Minister received the Pakistani ambassador.", "title-of-another-country"),
    ("Abu Qasra received the governor of Homs and a delegation of the Syrian army.", "domestic"),
    ("Abu Qasra met a delegation of Greek Orthodox clergy in Damascus.", "church-not-state"),
    ("Abu Qasra met army commanders to discuss the situation in Lebanon.", "topic-country"),
    ("Abu Qasra said a meeting in Saudi Arabia would be useful.", "location-country"),
    ("Abu Qasra's visit to Jordan was postponed at Jordan's request.", "postponed"),
    ("Abu Qasra will visit Jordan, Turkey, Pakistan and Russia next month.", "tour"),
    ("Abu Qasra received the ambassador of Japan.", "country-not-watched"),
    ("Lloyd Austin was received by the US Ambassador to Jordan.", "own-envoy-posted-abroad"),
    (
        "Khalid bin Salman chaired a meeting in Riyadh. Salman received the Jordanian ambassador.",
        "father's-name-is-no-surname",
    ),
    ("Abu Qasra returned to Damascus. He met the Prime Minister.", "office-at-home"),
    ("Abu Qasra received a letter from the Jordanian king.", "letter-not-visitor"),
    ("Abu Qasra received the first batch of Turkish drones.", "delivery-not-visitor"),
    ("Abu Qasra welcomed the Jordanian decision to reopen the border.", "state-act-is-topic"),
    ("The Russian ambassador met Abu Qasra's deputy.", "his-deputy"),
    ("Syria's Deputy Defence Minister received the Jordanian ambassador.", "deputy-title"),
    ("استقبل نائب وزير الدفاع السوري السفير الأردني.", "ar-deputy-title"),
    ("تلقى أبو قصرة رسالة من نظيره الأردني.", "ar-letter"),
    ("Le vice-ministre syrien de la Défense a reçu l'ambassadeur de Jordanie.", "fr-deputy"),
    ("Abou Qasra a reçu une lettre du roi de Jordanie.", "fr-letter"),
    ("Abu Qasra said in a statement that Jordan and Pakistan were partners.", "statement"),
    ("In an interview with Al Jazeera, Abu Qasra discussed ties with Russia.", "interview"),
    ("Abu Qasra condemned the Israeli strikes on Damascus.", "strikes"),
    ("Abu Qasra appointed a new military attaché to Jordan.", "appointment"),
    ("أعلن أبو قصرة في بيان أن الأردن شريك.", "ar-statement"),
    ("قال أبو قصرة في مقابلة مع قناة الجزيرة إن العلاقات مع روسيا جيدة.", "ar-interview"),
    ("أدان أبو قصرة الغارات الإسرائيلية على دمشق.", "ar-strikes"),
    ("استقبل أبو قصرة محافظ حمص ووفدا من الجيش السوري.", "ar-domestic"),
    ("Le ministre syrien de la Défense a condamné les frappes israéliennes.", "fr-strikes"),
    (
        "Le ministre syrien des Affaires étrangères a reçu l'ambassadeur de Jordanie.",
        "fr-other-ministry",
    ),
    ("Abou Qasra a reçu le gouverneur de Homs et des officiers syriens.", "fr-domestic"),
    ("Dans un entretien accordé à France 24, Abou Qasra a évoqué la Russie.", "fr-interview"),
    ("Abou Qasra a nommé un nouvel attaché militaire en Jordanie.", "fr-appointment"),
    (
        "Abu Qasra hosted army commanders. This follows talks already held in Amman with the "
        "Jordanian defence minister.",
        "background-contact",
    ),
    ("وكان أبو قصرة قد التقى السفير الأردني العام الماضي.", "ar-background-contact"),
    (
        "Cette visite fait suite à des entretiens déjà tenus à Amman avec le ministre jordanien.",
        "fr-background-contact",
    ),
    ("Abu Qasra praised host-nation support for Russian forces.", "compound-not-verb"),
    ("ألقى أبو قصرة كلمة أشاد فيها بالتعاون مع باكستان.", "ar-speech"),
    ("استقبل وزير الخارجية السوري سفير الأردن.", "ar-other-ministry"),
    ("Le ministre syrien de la Défense a prononcé un discours sur la Jordanie.", "fr-speech"),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for t, e, i in POSITIVE])
def test_finds_meetings(matcher: Matcher, text: str, expected: list[tuple[object, ...]]) -> None:
    assert found(matcher, text) == sorted(expected)


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for t, i in NEGATIVE])
def test_ignores_non_meetings(matcher: Matcher, text: str) -> None:
    assert found(matcher, text) == []


def test_title_names_the_holder_on_the_date(matcher: Matcher) -> None:
    text = "Syria's Defence Minister received the Russian ambassador."
    (m,) = matcher.match("", text, date(2019, 3, 4))
    assert m.official_id == "ayyoub", "in 2019 the title meant the minister of the day"
    (m,) = matcher.match("", text, PUBLISHED)
    assert m.official_id == "abu-qasra"


def test_headline_defers_to_the_dated_body(matcher: Matcher) -> None:
    meetings = matcher.match(
        "Defence minister receives Jordanian envoy",
        "Syria's Defence Minister Murhaf Abu Qasra received the Jordanian ambassador on Saturday.",
        PUBLISHED,
    )
    assert [(m.date, m.date_source) for m in meetings] == [(date(2025, 11, 22), DateSource.TEXT)]


def test_evidence_spans_mark_the_parts(matcher: Matcher) -> None:
    text = "Abu Qasra received the Pakistani ambassador."
    (m,) = matcher.match("", text, PUBLISHED)
    parts = {s.role: m.evidence[s.start : s.end] for s in m.spans}
    assert parts == {"official": "Abu Qasra", "trigger": "received", "counterpart": "Pakistani"}
    assert m.date_source is DateSource.PUBLISHED
    assert m.counterpart == "Pakistani ambassador"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "U.S. Defense Secretary Lloyd J. Austin met him. Then he left.",
            ["U.S. Defense Secretary Lloyd J. Austin met him.", "Then he left."],
            id="abbreviations-and-initials",
        ),
        pytest.param(
            "استقبل الوزير الوفد. وبحث الجانبان التعاون؟ نعم",
            ["استقبل الوزير الوفد.", "وبحث الجانبان التعاون؟"],
            id="arabic-punctuation",
        ),
        pytest.param(
            "He will co-chair the\nannual dialogue, with\nthe envoy.\nMinister receives envoy\n"
            "Abu Qasra received him.",
            [
                "He will co-chair the annual dialogue, with the envoy.",
                "Minister receives envoy",
                "Abu Qasra received him.",
            ],
            id="lines-broken-inside-a-sentence-only",
        ),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_confidence_reflects_the_evidence(matcher: Matcher) -> None:
    (named,) = matcher.match(
        "", "Abu Qasra received the Jordanian ambassador on Monday.", PUBLISHED
    )
    (_, carried) = matcher.match(
        "",
        "Abu Qasra met the Jordanian ambassador. On Monday he received a Saudi delegation.",
        PUBLISHED,
    )
    assert confidence(named) == 0.95
    assert confidence(carried) < confidence(named), "the subject came from another sentence"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param("the Jordanian defence minister", "defence_minister", id="defence"),
        pytest.param("President Bashar al-Assad", "head_of_state", id="head-of-state"),
        pytest.param("Deputy Defence Minister Yunus-Bek Yevkurov", "", id="deputy-is-no-office"),
        pytest.param("a delegation led by the foreign minister", "", id="delegation-any-office"),
        pytest.param("his Russian counterpart", "defence_minister", id="counterpart-own-office"),
        pytest.param("وزير الخارجية السوري", "foreign_minister", id="ar-foreign-minister"),
        pytest.param("ونظيره الأردني", "defence_minister", id="ar-counterpart-proclitic"),
        pytest.param("le chef d'état-major", "chief_of_staff", id="fr-chief-of-staff"),
        pytest.param("the Jordanian ambassador", "ambassador", id="ambassador"),
        pytest.param("senior Syrian officials", "", id="no-office"),
    ],
)
def test_office_tells_counterparts_apart(words: str, expected: str) -> None:
    assert office(words, load_lexicon(), ABU_QASRA) == expected
