"""The web interface in a real headless browser (Debian's chromium + chromedriver, driven by
Selenium) against the real daemon: the list loads, a filter narrows it, an event page shows
its evidence and sources, the timeline draws one mark per meeting, hostile feed text stays
text. ``.ci/run`` installs the browser; without it these tests fail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.webdata import EXPECTED, HOSTILE_EVIDENCE, HOSTILE_TITLE, polled_world, web_daemon

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module", autouse=True)
def _browser_installed() -> None:
    # fail, never skip: .ci/run installs Debian's chromium and chromium-driver
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, list[dict]]]:
    """The daemon with its web interface on the polled test feed; (base URL, events JSON)."""
    tmp = tmp_path_factory.mktemp("browser")
    with (
        polled_world(tmp) as world,
        web_daemon(world, tmp / "daemon.log", "") as (daemon, url),
    ):
        events = httpx.get(f"{url}/events.json", trust_env=False).json()["events"]
        yield url, events
        assert daemon.stop() == 0


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-quic",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    started = time.perf_counter()
    try:
        yield driver
    finally:
        print(f"\nbrowser session: {time.perf_counter() - started:.2f}s")
        driver.quit()


def one(events: list[dict], country: str, kind: str) -> dict:
    (found,) = [e for e in events if e["country"] == country and e["kind"] == kind]
    return found


def follow(browser: WebDriver, element: WebElement) -> None:
    """Click a link or a submit button and wait until the next page has replaced this one:
    reading the page before would see the old one (or a node the navigation removed)."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 10).until(staleness_of(page))


def rows(browser: WebDriver) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#events tr.event")


def no_alert(browser: WebDriver) -> bool:
    try:
        _ = browser.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def test_event_list_loads_and_a_filter_narrows_it(browser: WebDriver, site) -> None:
    url, _ = site
    browser.get(url + "/")
    assert browser.title == "Events · monitor"
    assert len(rows(browser)) == len(EXPECTED)
    Select(browser.find_element(By.ID, "f-country")).select_by_visible_text("Jordan")
    follow(browser, browser.find_element(By.ID, "f-apply"))
    assert "country=Jordan" in browser.current_url
    countries = {r.find_element(By.CSS_SELECTOR, ".country").text for r in rows(browser)}
    assert len(rows(browser)) == 2 and countries == {"Jordan"}
    Select(browser.find_element(By.ID, "f-kind")).select_by_visible_text("call")
    follow(browser, browser.find_element(By.ID, "f-apply"))
    assert len(rows(browser)) == 1
    follow(browser, browser.find_element(By.LINK_TEXT, "Reset"))
    browser.find_element(By.ID, "f-q").send_keys("Ohnmacht")
    follow(browser, browser.find_element(By.ID, "f-apply"))
    assert [r.find_element(By.CSS_SELECTOR, ".country").text for r in rows(browser)] == [
        "European Union"
    ]
    counts = browser.find_element(By.ID, "by-country").text
    assert counts == "European Union 1"


def test_event_page_shows_evidence_and_sources(browser: WebDriver, site) -> None:
    url, events = site
    pk = one(events, "Pakistan", "meeting")
    browser.get(url + "/?country=Pakistan&kind=meeting")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#events a.subject"))
    assert browser.current_url == f"{url}/events/{pk['id']}"
    evidence = browser.find_element(By.ID, "evidence")
    assert evidence.text == pk["evidence"]
    marks = evidence.find_elements(By.TAG_NAME, "b")
    assert [m.get_attribute("class") for m in marks] == ["official", "trigger", "counterpart"]
    assert marks[0].text == "Murhaf Abu Qasra"
    sources = browser.find_elements(By.CSS_SELECTOR, "#sources li.source")
    assert len(sources) == 2
    assert "Defence Minister receives Pakistani ambassador" in sources[0].text
    assert "وزير الدفاع يستقبل سفير باكستان" in sources[1].text
    assert "stated in the text" in browser.find_element(By.ID, "date-how").text

    jo = one(events, "Jordan", "meeting")
    browser.get(f"{url}/events/{jo['id']}")
    evidence = browser.find_element(By.ID, "evidence")
    assert evidence.get_attribute("dir") == "rtl" and evidence.text == jo["evidence"]
    assert evidence.value_of_css_property("direction") == "rtl"


def test_timeline_draws_one_mark_per_meeting(browser: WebDriver, site, tmp_path: Path) -> None:
    url, events = site
    browser.get(url + "/timeline")
    marks = browser.find_elements(By.CSS_SELECTOR, "#timeline circle.mark")
    assert len(marks) == len(EXPECTED)
    assert sorted(int(m.get_attribute("data-event-id")) for m in marks) == sorted(
        e["id"] for e in events
    )
    for m in marks:
        event = next(e for e in events if e["id"] == int(m.get_attribute("data-event-id")))
        assert m.get_attribute("data-day") == event["date"]
        assert f"kind-{event['kind']}" in m.get_attribute("class")
        assert m.is_displayed() and m.rect["width"] > 0
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#timeline text.country")]
    assert sorted(labels) == [
        "European Union (1)",
        "Jordan (2)",
        "Pakistan (2)",
        "Russia (2)",
    ]
    # two meetings in one country and week sit side by side, not on top of each other
    russia = {str(e["id"]) for e in events if e["country"] == "Russia"}
    spots = {
        (m.rect["x"], m.rect["y"]) for m in marks if m.get_attribute("data-event-id") in russia
    }
    assert len(spots) == 2

    shot = tmp_path / "timeline.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 0
    print(f"\ntimeline screenshot: {shot}")

    Select(browser.find_element(By.ID, "f-kind")).select_by_visible_text("call")
    follow(browser, browser.find_element(By.ID, "f-apply"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#timeline circle.mark")) == 2
    follow(browser, browser.find_elements(By.CSS_SELECTOR, "#timeline a")[0])
    assert "/events/" in browser.current_url


def test_hostile_feed_text_shows_as_text_on_every_page(browser: WebDriver, site) -> None:
    url, events = site
    ru = one(events, "Russia", "meeting")
    pages = ["/", "/?q=Yevkurov", f"/events/{ru['id']}", "/timeline", "/feeds", "/nowhere"]
    for path in pages:
        browser.get(url + path)
        assert browser.find_elements(By.TAG_NAME, "script") == [], path
        assert browser.find_elements(By.TAG_NAME, "img") == [], path
        assert browser.find_elements(By.CSS_SELECTOR, "[onerror]") == [], path
        assert browser.find_elements(By.CSS_SELECTOR, "main b:not([class])") == [], path
        assert no_alert(browser), path
    browser.get(f"{url}/events/{ru['id']}")
    assert HOSTILE_EVIDENCE in browser.find_element(By.ID, "evidence").text
    assert "<script>alert(2)</script>" in browser.find_element(By.ID, "evidence").text
    assert browser.find_element(By.CSS_SELECTOR, "#sources .title").text == HOSTILE_TITLE
    assert browser.find_element(By.CSS_SELECTOR, "#sources .feed").text == "Local <b>wire</b>"
    browser.get(f"{url}/feeds")
    assert "Local <b>wire</b>" in browser.find_element(By.ID, "feeds").text


def test_a_javascript_link_is_not_clickable(browser: WebDriver, site) -> None:
    url, events = site
    call = one(events, "Jordan", "call")
    browser.get(f"{url}/events/{call['id']}")
    source = browser.find_element(By.CSS_SELECTOR, "#sources li.source")
    assert source.find_elements(By.TAG_NAME, "a") == []
    assert "javascript:alert(3)" in source.text
