"""The built site in a real browser: headless Chromium opens the pages from a local server.

Each page must typeset its formulas (MathJax leaves no raw ``$$``, ``\\frac`` or ``\\(`` in the
visible text, and no TeX error box), log no console error, and load nothing from outside the
site. A screenshot of the dense-layer page is kept (``FCNET_DOCS_SCREENSHOTS=folder`` keeps one
of every page checked; ``FCNET_DOCS_ALL_PAGES=1`` checks every page with formulas, not only the
dense-layer page and the one-page summary). Skipped when Chromium, its driver or selenium is
missing; ``make docs-check`` installs Debian's ``chromium`` and ``chromium-driver`` when they are
missing and runs this file on every page.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_docs import built_site

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None, reason="needs Chromium and chromedriver (make docs-check)"
)

# The dense-layer page (its screenshot is always taken) and the one-page summary; with
# FCNET_DOCS_ALL_PAGES=1 (make docs-check) every page with formulas.
PAGES = ["math/dense/", "math/"]
if os.environ.get("FCNET_DOCS_ALL_PAGES"):
    PAGES += [
        "math/activations/",
        "math/losses/",
        "math/optimizers/",
        "math/normalization/",
        "math/embedding/",
        "math/gradcheck/",
        "tutorials/backprop/",
        "tutorials/custom-layer/",
        "tutorials/cli-csv/",
        "tutorials/checkpoints/",
        "tutorials/sklearn/",
        "tutorials/export/",
        "tutorials/tables/",
        "engine/",
        "reference/cli/",
        "reference/formats/",
        "api/losses/",
        "",
    ]
# pages with no formula of their own (checked for console errors and outside loads alone)
PLAIN = {"tutorials/cli-csv/", "tutorials/checkpoints/", "tutorials/sklearn/", "reference/cli/"}

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with --strict once per test session (shared with test_docs.py)."""
    return built_site(tmp_path_factory)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """An HTTP server for the site on 127.0.0.1 (a free port), for as long as the tests run."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium through chromedriver, with a new empty profile."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


TYPESET = """
const done = arguments[arguments.length - 1];
const wait = () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done("typeset"), (e) => done("error: " + e));
  } else if (document.readyState === "complete" && !window.MathJax) {
    done("no MathJax");
  } else {
    setTimeout(wait, 50);
  }
};
wait();
"""

REPORT = """
return {
  formulas: document.querySelectorAll("mjx-container").length,
  sources: document.querySelectorAll(".arithmatex").length,
  errors: Array.from(document.querySelectorAll("mjx-merror")).map(e => e.textContent),
  resources: performance.getEntriesByType("resource").map(e => e.name),
  height: document.documentElement.scrollHeight,
};
"""


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_its_formulas(browser, server, page, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(server + page)
    assert browser.execute_async_script(TYPESET) == "typeset"
    report = browser.execute_script(REPORT)
    text = browser.find_element(By.TAG_NAME, "body").text

    if page not in PLAIN:
        assert report["sources"] > 0, f"{page}: no formula on the page"
    assert report["formulas"] >= report["sources"], report
    assert not report["errors"], f"{page}: TeX errors {report['errors']}"
    for raw in ("$$", "\\frac", "\\(", "\\[", "\\begin", "\\mathbf"):
        assert raw not in text, f"{page}: raw {raw!r} in the visible text"
    outside = [url for url in report["resources"] if not url.startswith(server)]
    assert not outside, f"{page}: loaded from outside the site: {outside}"
    problems = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not problems, f"{page}: console messages {problems}"

    keep = os.environ.get("FCNET_DOCS_SCREENSHOTS")
    if page == PAGES[0] or keep:
        browser.set_window_size(1280, min(int(report["height"]) + 100, 16000))
        folder = Path(keep) if keep else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{page.strip('/').replace('/', '-') or 'index'}.png"
        assert browser.save_screenshot(str(shot)), shot
        assert shot.stat().st_size > 10_000
        browser.set_window_size(1280, 900)
