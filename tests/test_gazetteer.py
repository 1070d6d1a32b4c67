"""The built-in gazetteer: lookups admins rely on, and surface forms the matcher is built from."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

import pycountry  # type: ignore[import-untyped, unused-ignore]
import pytest
import yaml

from monitor.gazetteer import (
    Gazetteer,
    Place,
    PlaceKind,
    _ar_adj,
    _en_adj,
    _fold,
    _fr_adj,
    load_gazetteer,
)
from monitor.normalise import fold

COUNTRY, ORG = PlaceKind.COUNTRY, PlaceKind.ORGANISATION
ARABIC = re.compile("[\u0600-\u06ff]")

# Places with no English demonym in their names, and why. Kept exact by a test below.
NO_DEMONYM = {
    "AQ": "no permanent population",
    "BV": "uninhabited",
    "GS": "uninhabited",
    "HM": "uninhabited",
    "IO": "no permanent population",
    "TF": "no permanent population",
    "UM": "no permanent population",
    "SJ": "no demonym in use",
    "CD": "'Congolese' is ambiguous between the two Congos",
    "CG": "'Congolese' is ambiguous between the two Congos",
    "DM": "'Dominican' is given to the Dominican Republic",
}


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="module")
def by_form(gazetteer: Gazetteer) -> dict[str, Place]:
    return {fold(form): place for form, place in gazetteer.surface_forms()}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    text = (files("monitor") / "data" / "places.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


LOOKUPS = [
    pytest.param("Pakistan", "PK", COUNTRY, id="name"),
    pytest.param("pakistan", "PK", COUNTRY, id="lower-case"),
    pytest.param("  PAKISTAN ", "PK", COUNTRY, id="padded-upper"),
    pytest.param("PK", "PK", COUNTRY, id="alpha-2"),
    pytest.param("PAK", "PK", COUNTRY, id="alpha-3"),
    pytest.param("Islamic Republic of Pakistan", "PK", COUNTRY, id="official-name"),
    pytest.param("باكستان", "PK", COUNTRY, id="arabic"),
    pytest.param("Jordan", "JO", COUNTRY, id="jordan"),
    pytest.param("الأردن", "JO", COUNTRY, id="arabic-hamza"),
    pytest.param("Jordanie", "JO", COUNTRY, id="french"),
    pytest.param("Türkiye", "TR", COUNTRY, id="turkiye"),
    pytest.param("Turkiye", "TR", COUNTRY, id="turkiye-no-diacritic"),
    pytest.param("Turkey", "TR", COUNTRY, id="turkey"),
    pytest.param("Russian Federation", "RU", COUNTRY, id="russian-federation"),
    pytest.param("Russia", "RU", COUNTRY, id="russia"),
    pytest.param("Syrian Arab Republic", "SY", COUNTRY, id="syrian-arab-republic"),
    pytest.param("Korea, Republic of", "KR", COUNTRY, id="iso-inverted-name"),
    pytest.param("Iran, Islamic Republic of", "IR", COUNTRY, id="iso-inverted-iran"),
    pytest.param("Viet Nam", "VN", COUNTRY, id="viet-nam"),
    pytest.param("USA", "US", COUNTRY, id="usa"),
    pytest.param("US", "US", COUNTRY, id="us-code"),
    pytest.param("U.S.", "US", COUNTRY, id="u-s"),
    pytest.param("United States", "US", COUNTRY, id="united-states"),
    pytest.param("UK", "GB", COUNTRY, id="uk-lookup-only"),
    pytest.param("Britain", "GB", COUNTRY, id="britain"),
    pytest.param("the Netherlands", "NL", COUNTRY, id="leading-the"),
    pytest.param("Holland", "NL", COUNTRY, id="holland"),
    pytest.param("Cote d'Ivoire", "CI", COUNTRY, id="cote-divoire"),
    pytest.param("Ivory Coast", "CI", COUNTRY, id="ivory-coast"),
    pytest.param("Burma", "MM", COUNTRY, id="burma"),
    pytest.param("Holy See", "VA", COUNTRY, id="holy-see"),
    pytest.param("Kosovo", "XK", COUNTRY, id="kosovo"),
    pytest.param("XK", "XK", COUNTRY, id="kosovo-code"),
    pytest.param("Réunion", "RE", COUNTRY, id="omitted-form-still-looks-up"),
    pytest.param("Macedonia", "MK", COUNTRY, id="macedonia-lookup-only"),
    pytest.param("AU", "AU", COUNTRY, id="au-is-australia-iso-first"),
    pytest.param("EU", "EU", ORG, id="eu"),
    pytest.param("European Union", "EU", ORG, id="european-union"),
    pytest.param("UE", "EU", ORG, id="ue-lookup-only"),
    pytest.param("NATO", "NATO", ORG, id="nato"),
    pytest.param("Nato", "NATO", ORG, id="nato-title-case"),
    pytest.param("OTAN", "NATO", ORG, id="otan"),
    pytest.param("UN", "UN", ORG, id="un-code"),
    pytest.param("United Nations", "UN", ORG, id="united-nations"),
    pytest.param("African Union", "AU", ORG, id="african-union"),
    pytest.param("Arab League", "LAS", ORG, id="arab-league"),
    pytest.param("LAS", "LAS", ORG, id="arab-league-code"),
    pytest.param("GCC", "GCC", ORG, id="gcc"),
    pytest.param("ICRC", "ICRC", ORG, id="icrc"),
]


@pytest.mark.parametrize(("name", "code", "kind"), LOOKUPS)
def test_lookup(gazetteer: Gazetteer, name: str, code: str, kind: PlaceKind) -> None:
    place = gazetteer.lookup(name)
    assert place is not None
    assert (place.code, place.kind) == (code, kind)


@pytest.mark.parametrize("name", ["Narnia", "", "   ", "the", "European", "Congolese"], ids=repr)
def test_lookup_unknown(gazetteer: Gazetteer, name: str) -> None:
    assert gazetteer.lookup(name) is None


CANONICAL = [
    ("PK", "Pakistan"),
    ("JO", "Jordan"),
    ("RU", "Russia"),
    ("US", "United States"),
    ("GB", "United Kingdom"),
    ("SY", "Syria"),
    ("IR", "Iran"),
    ("TR", "Turkey"),
    ("KR", "South Korea"),
    ("KP", "North Korea"),
    ("VN", "Vietnam"),
    ("TW", "Taiwan"),
    ("PS", "Palestine"),
    ("MD", "Moldova"),
    ("TZ", "Tanzania"),
    ("VE", "Venezuela"),
    ("BO", "Bolivia"),
    ("LA", "Laos"),
    ("AE", "United Arab Emirates"),
    ("XK", "Kosovo"),
    ("EU", "European Union"),
    ("NATO", "NATO"),
    ("UN", "United Nations"),
]


@pytest.mark.parametrize(("code", "name"), CANONICAL, ids=[c for c, _ in CANONICAL])
def test_canonical_names(gazetteer: Gazetteer, code: str, name: str) -> None:
    place = gazetteer.lookup(code)
    assert place is not None
    assert place.name == name


FORMS = [
    # Pakistan, Jordan, Russia, EU in three languages
    ("Pakistani", "PK"),
    ("Pakistanis", "PK"),
    ("الباكستاني", "PK"),
    ("الباكستانية", "PK"),
    ("باكستاني", "PK"),
    ("pakistanais", "PK"),
    ("pakistanaise", "PK"),
    ("Islamic Republic of Pakistan", "PK"),
    ("Jordanian", "JO"),
    ("الأردني", "JO"),
    ("الاردنيه", "JO"),  # as folded text spells it
    ("jordanien", "JO"),
    ("jordanienne", "JO"),
    ("Russian", "RU"),
    ("الروسية", "RU"),
    ("روسيا", "RU"),
    ("russe", "RU"),
    ("Russie", "RU"),
    ("Russian Federation", "RU"),
    ("EU", "EU"),
    ("European Union", "EU"),
    ("الاتحاد الأوروبي", "EU"),
    ("l'Union européenne", "EU"),
    ("l'UE", "EU"),
    # colloquial and official names
    ("Syrian Arab Republic", "SY"),
    ("سوريا", "SY"),
    ("Türkiye", "TR"),
    ("Turkish", "TR"),
    ("التركي", "TR"),
    ("U.S.", "US"),
    ("United States of America", "US"),
    ("الأمريكي", "US"),
    ("الأميركية", "US"),
    ("américain", "US"),
    ("Britain", "GB"),
    ("British", "GB"),
    ("UAE", "AE"),
    ("the Emirates", "AE"),
    ("Emirati", "AE"),
    ("الإماراتي", "AE"),
    ("Saudi", "SA"),
    ("السعودية", "SA"),
    ("KSA", "SA"),
    ("Holland", "NL"),
    ("Ivory Coast", "CI"),
    ("Côte d'Ivoire", "CI"),
    ("Burma", "MM"),
    ("Myanmar", "MM"),
    ("Holy See", "VA"),
    ("Kosovo", "XK"),
    ("Czech Republic", "CZ"),
    ("سلطنة عمان", "OM"),
    ("العماني", "OM"),
    ("المالديف", "MV"),
    # resolved ambiguities
    ("Nigerian", "NG"),
    ("nigérian", "NG"),
    ("Nigerien", "NE"),
    ("nigérien", "NE"),
    ("Dominican", "DO"),
    ("Korean", "KR"),
    ("South Korean", "KR"),
    ("North Korean", "KP"),
    ("Sudanese", "SD"),
    ("South Sudanese", "SS"),
    ("Guinean", "GN"),
    ("Equatorial Guinean", "GQ"),
    ("Turks and Caicos", "TC"),
    # organisations
    ("NATO", "NATO"),
    ("OTAN", "NATO"),
    ("الناتو", "NATO"),
    ("حلف شمال الأطلسي", "NATO"),
    ("United Nations", "UN"),
    ("U.N.", "UN"),
    ("the UN", "UN"),
    ("ONU", "UN"),
    ("الأمم المتحدة", "UN"),
    ("African Union", "AU"),
    ("Union africaine", "AU"),
    ("الاتحاد الإفريقي", "AU"),
    ("الاتحاد الأفريقي", "AU"),
    ("Arab League", "LAS"),
    ("جامعة الدول العربية", "LAS"),
    ("Ligue arabe", "LAS"),
    ("GCC", "GCC"),
    ("مجلس التعاون الخليجي", "GCC"),
    ("Conseil de coopération du Golfe", "GCC"),
    ("OSCE", "OSCE"),
    ("CSTO", "CSTO"),
    ("ICRC", "ICRC"),
    ("CICR", "ICRC"),
    ("اللجنة الدولية للصليب الأحمر", "ICRC"),
    ("ASEAN", "ASEAN"),
    ("SCO", "SCO"),
    ("OIC", "OIC"),
]


@pytest.mark.parametrize(("form", "code"), FORMS, ids=[f for f, _ in FORMS])
def test_surface_form(by_form: dict[str, Place], form: str, code: str) -> None:
    assert by_form[fold(form)].code == code


NOT_FORMS = [
    pytest.param("us", id="us-pronoun"),
    pytest.param("UK", id="uk"),
    pytest.param("un", id="un-french-article"),
    pytest.param("au", id="au-french-to-the"),
    pytest.param("UE", id="ue"),
    pytest.param("European", id="european"),
    pytest.param("الأوروبي", id="european-ar"),
    pytest.param("Arab", id="arab"),
    pytest.param("African", id="african"),
    pytest.param("Persian", id="persian-gulf"),
    pytest.param("Congo", id="congo-ambiguous"),
    pytest.param("الكونغو", id="congo-ambiguous-ar"),
    pytest.param("Congolese", id="congolese-ambiguous"),
    pytest.param("congolais", id="congolais-ambiguous"),
    pytest.param("Réunion", id="reunion-meeting"),
    pytest.param("la réunion", id="la-reunion-meeting"),
    pytest.param("عمان", id="amman"),
    pytest.param("مالي", id="financial"),
    pytest.param("بنين", id="sons"),
    pytest.param("تركي", id="given-name-turki"),
    pytest.param("Maurice", id="given-name-maurice"),
    pytest.param("Grenade", id="grenade-weapon"),
    pytest.param("Salvador", id="salvador-city"),
    pytest.param("EAU", id="eau-water"),
    pytest.param("Republic of China", id="tail-of-prc"),
]


@pytest.mark.parametrize("form", NOT_FORMS)
def test_not_a_surface_form(by_form: dict[str, Place], form: str) -> None:
    assert fold(form) not in by_form


def test_no_form_denotes_two_places(gazetteer: Gazetteer) -> None:
    owners: dict[str, set[str]] = {}
    for form, place in gazetteer.surface_forms():
        owners.setdefault(fold(form), set()).add(place.code + "/" + place.kind)
    assert {form: codes for form, codes in owners.items() if len(codes) > 1} == {}


def test_names_are_distinct_once_folded(gazetteer: Gazetteer) -> None:
    for place in gazetteer.places:
        folded = [fold(n) for n in place.names]
        assert len(folded) == len(set(folded)), place.code


def test_short_forms_are_explicit(gazetteer: Gazetteer) -> None:
    short = {fold(form) for form, _ in gazetteer.surface_forms() if len(fold(form)) < 3}
    assert short == {"eu", "рф"}  # РФ: the Russian Federation, no Russian word spells so


def test_canonical_names_and_codes_identify_places(gazetteer: Gazetteer) -> None:
    names = [p.name for p in gazetteer.places]
    assert len(names) == len(set(names))
    countries = [p.code for p in gazetteer.places if p.kind is COUNTRY]
    organisations = [p.code for p in gazetteer.places if p.kind is ORG]
    assert len(countries) == len(set(countries))
    assert len(organisations) == len(set(organisations))
    # The brief's "AU" for the African Union is also Australia's ISO code.
    assert set(countries) & set(organisations) == {"AU"}


def test_every_place_looks_up_by_its_name_code_and_forms(gazetteer: Gazetteer) -> None:
    for place in gazetteer.places:
        assert gazetteer.lookup(place.name) is place
        if (place.code, place.kind) != ("AU", ORG):
            assert gazetteer.lookup(place.code) is place
        for form in place.names:
            assert gazetteer.lookup(form) is place, form


def test_every_iso_country_is_a_place(gazetteer: Gazetteer) -> None:
    codes = {p.code for p in gazetteer.places if p.kind is COUNTRY}
    assert {c.alpha_2 for c in pycountry.countries} | {"XK"} == codes


def test_every_iso_country_has_an_english_demonym(
    gazetteer: Gazetteer, data: dict[str, Any]
) -> None:
    missing = set()
    for record in pycountry.countries:
        place = gazetteer.lookup(record.alpha_2)
        assert place is not None
        adjectives = (data["countries"].get(record.alpha_2) or {}).get("en_adj", [])
        forms = {fold(f) for a in adjectives for f in a.split("|") if f}
        if not forms:
            missing.add(record.alpha_2)
        assert forms <= {fold(n) for n in place.names}, record.alpha_2
    assert missing == set(NO_DEMONYM)


def test_every_country_has_an_arabic_name(gazetteer: Gazetteer) -> None:
    for place in gazetteer.places:
        assert any(ARABIC.search(n) for n in place.names), place.code


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_adjectives_cover_the_countries_in_the_news(data: dict[str, Any], lang: str) -> None:
    covered = {
        code for code, entry in data["countries"].items() if (entry or {}).get(f"{lang}_adj")
    }
    assert len(covered) >= 60
    assert {"SY", "JO", "PK", "RU", "US", "GB", "TR", "IR", "SA", "AE", "KR", "UA"} <= covered


def test_data_has_no_duplicate_keys() -> None:
    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader: Strict, node: yaml.MappingNode) -> dict[Any, Any]:
        keys = [loader.construct_object(k) for k, _ in node.value]
        assert len(keys) == len(set(keys)), keys
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    text = (files("monitor") / "data" / "places.yaml").read_text(encoding="utf-8")
    loaded = yaml.load(text, Loader=Strict)
    assert all(isinstance(code, str) for code in loaded["countries"])  # YAML 1.1: NO is false


def test_memoised_fold_agrees_with_fold(gazetteer: Gazetteer) -> None:
    for form, _ in gazetteer.surface_forms():
        assert _fold(form) == fold(form)


def test_load_is_cached() -> None:
    assert load_gazetteer() is load_gazetteer()


INFLECTIONS = [
    pytest.param(_en_adj, "Pakistani", ["Pakistani", "Pakistanis"], id="en-i"),
    pytest.param(_en_adj, "Greek", ["Greek", "Greeks"], id="en-k"),
    pytest.param(_en_adj, "British", ["British"], id="en-invariant"),
    pytest.param(_en_adj, "Lebanese", ["Lebanese"], id="en-ese"),
    pytest.param(
        _fr_adj,
        "jordanien",
        ["jordanien", "jordanienne", "jordaniens", "jordaniennes"],
        id="fr-ien",
    ),
    pytest.param(_fr_adj, "libyen", ["libyen", "libyenne", "libyens", "libyennes"], id="fr-yen"),
    pytest.param(
        _fr_adj, "pakistanais", ["pakistanais", "pakistanaise", "pakistanaises"], id="fr-s"
    ),
    pytest.param(_fr_adj, "russe", ["russe", "russes"], id="fr-e"),
    pytest.param(
        _ar_adj,
        "أردني",
        ["أردني", "أردنية", "أردنيون", "أردنيين", "الأردني", "الأردنية", "الأردنيون", "الأردنيين"],
        id="ar-nisba",
    ),
]


@pytest.mark.parametrize(("inflect", "word", "forms"), INFLECTIONS)
def test_inflection(inflect: Any, word: str, forms: list[str]) -> None:
    assert inflect(word) == forms


def test_arabic_compound_nisba_inflects_each_word() -> None:
    forms = _ar_adj("كوري جنوبي")
    assert "الكورية الجنوبية" in forms
    assert "الكوريين الجنوبيين" in forms


def test_custom_gazetteer() -> None:
    """Other modules' tests can build a small gazetteer by hand."""
    narnia = Place("Narnia", COUNTRY, "NN", ("Narnia", "Narnian"))
    g = Gazetteer([narnia], aliases={"Lantern Waste": narnia})
    assert g.lookup("narnian") is narnia
    assert g.lookup("NN") is narnia
    assert g.lookup("lantern waste") is narnia
    assert list(g.surface_forms()) == [("Narnia", narnia), ("Narnian", narnia)]


@pytest.mark.parametrize(
    ("form", "code"),
    [
        pytest.param("Российской Федерации", "RU", id="ru-genitive-adjective-and-noun"),
        pytest.param("России", "RU", id="ru-genitive"),
        pytest.param("Китая", "CN", id="ru-genitive-masculine"),
        pytest.param("Белоруссией", "BY", id="ru-instrumental"),
        pytest.param("Республики Беларусь", "BY", id="ru-first-word-only"),
        pytest.param("Ливане", "LB", id="ru-prepositional-consonant"),
        pytest.param("сирийской", "SY", id="ru-adjective-feminine"),
        pytest.param("КНР", "CN", id="ru-abbreviation"),
    ],
)
def test_russian_names_in_every_case(gazetteer: Gazetteer, form: str, code: str) -> None:
    forms = {fold(f) for f, p in gazetteer.surface_forms() if p.code == code}
    assert fold(form) in forms


def test_common_russian_word_is_no_place(gazetteer: Gazetteer) -> None:
    assert fold("того") not in {fold(f) for f, _ in gazetteer.surface_forms()}
