"""The marketers' app in a real browser: `lakehouse app` (Streamlit) over the generated lakehouse, driven by
headless Chromium through Selenium (Debian's chromium and chromium-driver; `make test` installs them when
missing). Each page is opened; an objective is picked and its CSV downloaded and compared with gold; the
what-if form is submitted and its answer compared with the portable model. Screenshots go to
``$APP_SCREENSHOTS`` when set (the README's come from there)."""

from __future__ import annotations

import csv
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver, WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from apps import views
from apps.loadtest import free_port, started
from gold import acceptance_training, customer_marketing, portable
from gold.objectives import OBJECTIVES, contact_column
from pipelines import pandas_io, tracking

pytestmark = pytest.mark.e2e
WAIT = 90
T = TypeVar("T")


@pytest.fixture(scope="module")
def app(generated) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "commands.cli",
        "app",
        "--root",
        str(generated.config.root),
        "--port",
        str(port),
    ]
    url = f"http://127.0.0.1:{port}"
    process = started(command, f"{url}/_stcore/health", "lakehouse app")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads) -> Iterator[WebDriver]:  # type: ignore[no-untyped-def]
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail(
            "the browser tests need Debian's chromium and chromium-driver (`make test` installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    session = webdriver.Chrome(service=Service(driver), options=options)
    yield session
    session.quit()


def _open(browser: WebDriver, url: str, title: str) -> None:
    browser.get(url)
    WebDriverWait(browser, WAIT).until(ready.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
    _settled(browser)


def _shown(browser: WebDriver, locator: tuple[str, str]) -> WebElement:
    """The element once it shows: a page's heading shows before the rest of it on a busy machine."""
    return WebDriverWait(browser, WAIT).until(ready.visibility_of_element_located(locator))


def _steady(browser: WebDriver, look: Callable[[WebDriver], T]) -> T:
    """What ``look`` returns once it ran without touching a stale element: a Streamlit rerun replaces the
    elements it draws again, so an element found a moment ago can be gone when it is clicked or read."""
    wait = WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,))
    return wait.until(lambda b: (look(b),))[0]


def _click(browser: WebDriver, locator: tuple[str, str]) -> None:
    _steady(browser, lambda b: b.find_element(*locator).click())


def _texts(browser: WebDriver, css: str) -> list[str]:
    return _steady(browser, lambda b: [e.text for e in b.find_elements(By.CSS_SELECTOR, css)])


def _settled(browser: WebDriver) -> None:
    """Wait until the script's rerun finished (Streamlit shows a running indicator meanwhile)."""
    time.sleep(0.5)
    WebDriverWait(browser, WAIT).until(
        lambda b: not b.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
    )
    errors = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert not errors, errors[0].text


def _screenshot(browser: WebDriver, name: str) -> None:
    folder = os.environ.get("APP_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))


def _latest(generated):  # type: ignore[no-untyped-def]
    name = customer_marketing.TABLE.name
    as_of = pandas_io.latest_as_of(name, generated.config)
    return as_of, pandas_io.read_table(name, generated.config, filters=[("as_of_date", "=", as_of)])


def test_segments_page_lists_every_segment_with_an_action(app, browser, generated):  # type: ignore[no-untyped-def]
    as_of, _ = _latest(generated)
    profiles = pandas_io.read_table(
        "gold.segment_profiles", generated.config, filters=[("as_of_date", "=", as_of)]
    )
    _open(browser, f"{app}/", "Segments")  # the default page
    table = (By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
    _shown(browser, table)
    assert not browser.find_elements(By.CSS_SELECTOR, '[role="dialog"]'), "a dialog opened over the page"
    (text,) = _texts(browser, '[data-testid="stMain"]')
    assert f"scored as of {as_of}" in text
    assert _steady(browser, lambda b: b.find_element(*table).is_displayed())
    expected = views.segments(profiles)
    assert set(expected["suggested action"]) <= {action for _, action in views.ACTIONS}
    _screenshot(browser, "segments")


def test_targets_page_downloads_the_list_an_objective_flags(app, browser, downloads, generated):  # type: ignore[no-untyped-def]
    as_of, marketing = _latest(generated)
    objective = max(OBJECTIVES, key=lambda o: (0 < marketing[contact_column(o)].sum() < len(marketing), o))
    flagged = marketing[marketing[contact_column(objective)]]
    _open(browser, f"{app}/targets", "Targets")
    choice = (By.XPATH, f"//label[.//p[text()='{objective}']]")
    _shown(browser, choice)
    _click(browser, choice)
    _settled(browser)
    metrics = _texts(browser, '[data-testid="stMetricValue"]')
    assert metrics[0] == f"{len(flagged):,}"
    assert metrics[2] == f"{flagged['expected_profit'].sum():,.0f}"
    _screenshot(browser, "targets")
    _click(browser, (By.CSS_SELECTOR, '[data-testid="stDownloadButton"] button'))
    expected_file = downloads / f"targets_{objective}_{as_of}.csv"
    WebDriverWait(browser, WAIT).until(lambda _: expected_file.is_file() and expected_file.stat().st_size > 0)
    with expected_file.open() as handle:
        rows = list(csv.DictReader(handle))
    ranked = flagged.sort_values(["acceptance_probability", "customer_id"], ascending=[False, True])
    assert [int(r["customer_id"]) for r in rows] == list(ranked["customer_id"])
    assert np.allclose([float(r["acceptance_probability"]) for r in rows], ranked["acceptance_probability"])
    assert [r["segment_name"] for r in rows] == list(ranked["segment_name"])
    assert all(r["reasons"] for r in rows if float(r["acceptance_probability"]) > 0.5)


def test_what_if_form_answers_as_the_champion_does(app, browser, generated):  # type: ignore[no-untyped-def]
    tracking.configure(generated.config)
    client = tracking.reader(generated.config)
    name = acceptance_training.MODEL_NAME
    exported = tracking.logged_dict(client, name, tracking.champion_version(client, name), "portable.json")
    _open(browser, f"{app}/what-if", "What-if")
    sent = {"recency_days": 12.0, "income": 52000.0, "spend_wines": 640.0}  # the docs' partial example
    for column, value in sent.items():
        field = _shown(browser, (By.CSS_SELECTOR, f'input[aria-label="{column}"]'))
        field.send_keys(str(value), Keys.TAB)
    _click(browser, (By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button'))
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricValue"]')
    )
    _settled(browser)
    metric = (By.CSS_SELECTOR, '[data-testid="stMetricValue"]')
    _steady(
        browser,
        lambda b: b.execute_script("arguments[0].scrollIntoView({block: 'center'})", b.find_element(*metric)),
    )
    shown = _texts(browser, metric[1])[0]
    columns = {c: [sent.get(c, np.nan)] for c in exported["numeric"]} | {
        c: [None] for c in exported["categorical"]
    }
    assert shown == f"{portable.probabilities(exported, columns)[0]:.4f}"
    assert 0.005 < float(shown) < 0.995  # plausible: the ratios come from the filled numbers
    (text,) = _texts(browser, '[data-testid="stMain"]')
    assert all(warning in text for warning in portable.out_of_range(exported, columns)[0])
    _screenshot(browser, "what_if")


def test_model_page_shows_the_champion_against_its_baselines(app, browser, generated):  # type: ignore[no-untyped-def]
    client = tracking.reader(generated.config)
    version = tracking.champion_version(client, acceptance_training.MODEL_NAME)
    _open(browser, f"{app}/model", "Model")
    _shown(browser, (By.CSS_SELECTOR, '[data-testid="stImage"] img'))
    (text,) = _texts(browser, '[data-testid="stMain"]')
    assert f"{acceptance_training.MODEL_NAME} v{version} (champion)" in text
    for section in ("Against the baselines", "Drivers", "Promotion history", "Drift", "Data quality"):
        assert section in text
    promotions = pandas_io.read_table("ops.model_promotions", generated.config)
    flags = views.champion_flags(promotions, acceptance_training.MODEL_NAME, version)
    assert (f"Flagged: v{version} on its holdout: {flags}" in text) == (flags is not None)
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')
    _screenshot(browser, "model")


def test_stopping_the_app_command_stops_its_server(generated):  # type: ignore[no-untyped-def]
    """`lakehouse app` is the server's process: terminating it leaves nothing listening (it used to start
    Streamlit as a child that outlived it)."""
    port = free_port()
    command = [sys.executable, "-m", "commands.cli", "app", "--root", str(generated.config.root)]
    health = f"http://127.0.0.1:{port}/_stcore/health"
    process = started([*command, "--port", str(port)], health, "lakehouse app")
    process.terminate()
    process.wait(timeout=30)
    with pytest.raises(requests.ConnectionError):
        requests.get(health, timeout=5)
