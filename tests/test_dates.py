"""Dates stated in a sentence, resolved against the publication date."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.dates import find_date

FRI = date(2025, 12, 5)


@pytest.mark.parametrize(
    ("sentence", "ahead", "expected"),
    [
        pytest.param(
            "On 25 November, he met the envoy.", False, date(2025, 11, 25), id="en-day-month"
        ),
        pytest.param(
            "He met the envoy on November 16, 2025.",
            False,
            date(2025, 11, 16),
            id="en-month-day-year",
        ),
        pytest.param(
            "He met the envoy on 3 January.", False, date(2026, 1, 3), id="year-nearest-publication"
        ),
        pytest.param("He met the envoy today.", False, FRI, id="today"),
        pytest.param("He met the envoy yesterday.", False, date(2025, 12, 4), id="yesterday"),
        pytest.param("He met the envoy on Monday.", False, date(2025, 12, 1), id="weekday-past"),
        pytest.param(
            "He will meet the envoy on Monday.", True, date(2025, 12, 8), id="weekday-ahead"
        ),
        pytest.param("He will meet the envoy on Friday.", True, FRI, id="weekday-ahead-same-day"),
        pytest.param("They meet next Wednesday.", False, date(2025, 12, 10), id="next-weekday"),
        pytest.param("He said Friday that talks went well.", False, None, id="announcement-day"),
        pytest.param(
            "They met in Jeddah, the agency reported on Friday.",
            False,
            None,
            id="reported-on-day",
        ),
        pytest.param('"It went well," he added on Friday.', False, None, id="added-on-day"),
        pytest.param(
            "The meeting on Thursday came after clashes.",
            False,
            date(2025, 12, 4),
            id="meeting-on-day",
        ),
        pytest.param(
            "في 25 تشرين الثاني استقبل الوزير", False, date(2025, 11, 25), id="ar-levantine"
        ),
        pytest.param("استقبل الوزير يوم الخميس", False, date(2025, 12, 4), id="ar-weekday"),
        pytest.param("a reçu le 3 décembre 2024 l'ambassadeur", False, date(2024, 12, 3), id="fr"),
        pytest.param("5 Aralık 2025 Cuma günü görüştü", False, FRI, id="tr"),
        pytest.param("встретился 16 ноября", False, date(2025, 11, 16), id="ru-genitive"),
        pytest.param("He met the envoy.", False, None, id="no-date"),
        pytest.param(
            "He met the envoy the day before yesterday.",
            False,
            date(2025, 12, 3),
            id="two-days-ago",
        ),
        pytest.param("استقبل أمس الأول السفير", False, date(2025, 12, 3), id="ar-two-days-ago"),
        pytest.param(
            "a reçu avant-hier l'ambassadeur", False, date(2025, 12, 3), id="fr-avant-hier"
        ),
        pytest.param("He met the envoy on the 2nd.", False, date(2025, 12, 2), id="day-of-month"),
        pytest.param(
            "He met the envoy on the 28th.", False, date(2025, 11, 28), id="day-of-last-month"
        ),
        pytest.param(
            "بدؤوا زيارتهم في الـ28 من الشهر الجاري", False, None, id="ar-day-not-yet-this-month"
        ),
        pytest.param(
            "بدؤوا زيارتهم في الـ3 من الشهر الجاري", False, date(2025, 12, 3), id="ar-this-month"
        ),
    ],
)
def test_find_date(sentence: str, ahead: bool, expected: date | None) -> None:
    assert find_date(sentence, FRI, ahead=ahead) == expected


def test_no_publication_date_no_relative_dates() -> None:
    assert find_date("He met the envoy yesterday.", None) is None
    assert find_date("He met the envoy on 25 November 2025.", None) == date(2025, 11, 25)
