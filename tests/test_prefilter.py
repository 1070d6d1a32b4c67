"""The matcher's prefilter (``Matcher._may_mention``): it may only turn away articles that
report no meeting of ours, so it never changes what ``match`` finds, only how fast."""

from __future__ import annotations

import pytest

from monitor.gazetteer import load_gazetteer
from monitor.match import Matcher
from tests.test_match import POSITIVE, PUBLISHED, WATCH


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([WATCH], load_gazetteer())


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for t, _, i in POSITIVE])
def test_every_reported_meeting_passes(matcher: Matcher, text: str) -> None:
    assert matcher._may_mention(text)


def test_whatever_is_turned_away_reports_nothing(matcher: Matcher) -> None:
    # every article of the positive table with one word taken out at a time: the prefilter
    # turns some away (a name or title loses a word), and those must report no meeting
    turned_away = 0
    for text, _, _ in POSITIVE:
        words = text.split(" ")
        for k in range(len(words)):
            cut = " ".join(words[:k] + words[k + 1 :])
            if not matcher._may_mention(cut):
                turned_away += 1
                assert matcher.match("", cut, PUBLISHED) == [], cut
    assert turned_away > 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Syria upgrades its air defence with Russian help.", id="title-first-word"),
        pytest.param("Abu Dhabi hosted the Saudi delegation.", id="name-first-word"),
        pytest.param("The Defence Minister of Chile met the Peruvian envoy.", id="title-no-home"),
        pytest.param("Khalid met Salman.", id="name-words-apart-but-not-all"),
        pytest.param("وزير الخارجية السوري يستقبل السفير الأردني", id="arabic-other-ministry"),
    ],
)
def test_turns_away_articles_without_a_whole_name_or_title(matcher: Matcher, text: str) -> None:
    assert not matcher._may_mention(text)
    assert matcher.match("", text, PUBLISHED) == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Lloyd J. Austin arrived.", id="name-with-initial"),
        pytest.param("Abou Kasra spoke.", id="transliteration"),
        pytest.param("وبأبو قصرة", id="arabic-proclitics"),
        pytest.param("Syria's Defence Minister spoke.", id="title-and-home"),
        pytest.param("وزير دفاع السعودية", id="arabic-construct-title"),
    ],
)
def test_lets_through_whole_names_and_qualified_titles(matcher: Matcher, text: str) -> None:
    assert matcher._may_mention(text)
