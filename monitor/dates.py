"""Pure: find the date a sentence gives for an event, relative to the publication date. No I/O.

Only explicit time expressions count: "on 25 November", "25 Nov 2025", "November 25",
"today", "yesterday" and their Arabic and French forms. A day and month without a year
take the year that puts the date nearest the publication date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from monitor.normalise import fold

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "january jan janvier janv يناير كانون الثاني جانفي ocak января",
        "february feb fevrier fevr فبراير شباط فيفري subat февраля",
        "march mar mars مارس اذار mart марта",
        "april apr avril ابريل نيسان افريل nisan апреля",
        "may mai مايو ايار ماي mayis мая",
        "june jun juin يونيو حزيران جوان haziran июня",
        "july jul juillet juil يوليو تموز جويليه temmuz июля",
        "august aug aout اغسطس اب اوت agustos августа",
        "september sep sept septembre سبتمبر ايلول eylul сентября",
        "october oct octobre اكتوبر تشرين الاول ekim октября",
        "november nov novembre نوفمبر تشرين الثاني kasim ноября",
        "december dec decembre ديسمبر كانون الاول aralik декабря",
    ],
    start=1,
):
    # two-word Levantine names ("تشرين الثاني") are joined below; single words map directly
    for _w in re.findall(r"كانون الثاني|كانون الاول|تشرين الاول|تشرين الثاني|\S+", _names):
        _MONTHS[fold(_w)] = _num

_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_DAY_MONTH = re.compile(
    rf"(?<!\w)(\d{{1,2}})(?:st|nd|rd|th|er)?\s+(?:of\s+)?({_MONTH_RE})\.?(?:,?\s+(\d{{4}}))?(?!\w)"
)
_MONTH_DAY = re.compile(
    rf"(?<!\w)({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?(?!\w)"
)
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_WEEKDAYS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "monday lundi الاثنين اثنين pazartesi понедельник",
        "tuesday mardi الثلاثاء вторник",  # not Turkish "salı": also a name (Sali Berisha)
        "wednesday mercredi الاربعاء carsamba среду",
        "thursday jeudi الخميس persembe четверг",
        "friday vendredi الجمعه cuma пятницу",
        "saturday samedi السبت cumartesi субботу",
        "sunday dimanche الاحد воскресенье",
    ]
):
    for _w in _names.split():
        _WEEKDAYS[fold(_w)] = _num
_WEEKDAY = re.compile(
    r"(?<!\w)(?:[وفب]?)(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")(?!\w)"
)
_SAID = re.compile(
    r"(?<!\w)(said|says|announced|told \w+|stated|reported|reports|added|wrote|tweeted|posted"
    r"|confirmed|quoted|قال|قالت|اعلن|اعلنت|افاد|افادت|اضاف|اضافت|a declare|a annonce"
    r"|a ajoute|a indique|rapporte)(?: on| le| يوم)?\s*$"
)
_NEXT = re.compile(r"(?<!\w)(next|coming|prochain|المقبل|القادم)(?!\w)")
_TODAY = re.compile(
    r"(?<!\w)(today|this morning|this evening|tonight|aujourd'hui|اليوم|bugun|сегодня)(?!\w)"
)
_YESTERDAY = re.compile(r"(?<!\w)(yesterday|last night|hier|امس|dun|вчера)(?!\w)")
_TWO_DAYS_AGO = re.compile(
    r"(?<!\w)(day before yesterday|avant-hier|avant hier|امس الاول|اول امس|позавчера)(?!\w)"
)
# "on the 28th", "في الـ28 من الشهر الجاري": a day of the month the report is published in
_DAY_OF_THIS_MONTH = re.compile(
    r"(?<!\w)(?:the (\d{1,2})(?:st|nd|rd|th)(?!\s+of\b)"
    r"|(?:ال)?(\d{1,2}) (?:من )?(?:الشهر|شهر) (?:الجاري|الحالي))(?!\w)"
)


def _nearest_year(day: int, month: int, published: date) -> date | None:
    best: date | None = None
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if best is None or abs(candidate - published) < abs(best - published):
            best = candidate
    return best


def _make(day: int, month: int, year: str | None, published: date | None) -> date | None:
    if year:
        try:
            return date(int(year), month, day)
        except ValueError:
            return None
    return _nearest_year(day, month, published) if published else None


def find_date(sentence: str, published: date | None, *, ahead: bool = False) -> date | None:
    """The date a sentence states for its event, or None when it states none. ``ahead``:
    the sentence announces a future event, so a bare weekday is the coming one."""
    text = fold(sentence)
    if m := _ISO.search(text):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    if m := _DAY_MONTH.search(text):
        return _make(int(m.group(1)), _MONTHS[m.group(2)], m.group(3), published)
    if m := _MONTH_DAY.search(text):
        return _make(int(m.group(2)), _MONTHS[m.group(1)], m.group(3), published)
    if published is not None:
        if m := _DAY_OF_THIS_MONTH.search(text):
            day = int(m.group(1) or m.group(2))
            month = published.replace(day=1)
            if day > published.day and not ahead:
                if m.group(2):
                    return None  # "the 28th of this month" in a report of the 5th: a typo
                month = (month - timedelta(days=1)).replace(day=1)  # "the 30th", on the 2nd
            try:
                return month.replace(day=day)
            except ValueError:
                return None
        if _TWO_DAYS_AGO.search(text):
            return published - timedelta(days=2)
        if _YESTERDAY.search(text):
            return published - timedelta(days=1)
        if _TODAY.search(text):
            return published
        m = _WEEKDAY.search(text)
        if m and _SAID.search(text[max(0, m.start() - 24) : m.start()]):
            m = None  # "said Friday": the day of the announcement, not of the meeting
        if m:
            day = _WEEKDAYS[m.group(1)]
            if _NEXT.search(text[max(0, m.start() - 12) : m.end() + 12]):
                return published + timedelta(days=(day - published.weekday() - 1) % 7 + 1)
            if ahead:  # "will meet on Monday", published on a Monday: that same day
                return published + timedelta(days=(day - published.weekday()) % 7)
            # news reports the past: the latest such weekday on or before publication
            return published - timedelta(days=(published.weekday() - day) % 7)
    return None
