"""Real user journeys in Debian's Chromium (driven by Playwright, never a downloaded browser)
against a real orchestrator process on the run's PostgreSQL and Redis.

Every page a test opens fails the test on a console error (a CSP violation among them), a failed
request or a server error; `check_page` runs axe-core on it, fails it if it scrolls sideways, and
saves screenshots at 1280 px and 360 px into artifacts/browser/.
"""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import _orchestrator_env, end_served_tournaments
from tests.support.processes import Proc, free_port, server_ports, wait_http

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.11.0" / "axe.min.js"
WIDTHS = (1280, 360)
HOST_NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"


@pytest.fixture(scope="package")
def site(platform_env, tmp_path_factory):
    """The URL of one orchestrator process for the browser tests (its servers on their own ports).

    Package-scoped: a live orchestrator outside its tests would take part in later ones (it would
    hold the supervisor lease and be handed the fleet of an orchestrator that stops)."""
    port = free_port()
    proc = Proc(["orchestrator", "--port", str(port)], _orchestrator_env(platform_env, server_ports(30, salt=7)),
                str(tmp_path_factory.mktemp("browser") / "orchestrator.log"))
    wait_http(f"http://127.0.0.1:{port}/healthz", process=proc.process)
    yield f"http://127.0.0.1:{port}"
    proc.stop()
    end_served_tournaments(platform_env["DATABASE_URL"])


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class Watched:
    """A browser context whose pages report every console error, failed request and 5xx."""

    def __init__(self, browser, base_url, javascript):
        self.context = browser.new_context(base_url=base_url, java_script_enabled=javascript,
                                           viewport={"width": WIDTHS[0], "height": 900})
        self.problems = []
        self.refused_pages = set()  # URLs of pages (or the results script's posts) answered with a 4xx on purpose

    def page(self):
        page = self.context.new_page()
        page.on("console", self._check_console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("requestfailed", self._check_failure)
        page.on("response", self._check_response)
        page.on("dialog", lambda dialog: self.problems.append(f"dialog: {dialog.message}"))
        return page

    def _check_console(self, message):
        # Chromium logs a page's own 4xx status as a console error; only that one is expected.
        expected = (message.text.startswith("Failed to load resource: the server responded with a status of 4")
                    and message.location.get("url") in self.refused_pages)
        if message.type == "error" and not expected and HOST_NETWORK_CHANGED not in message.text:
            self.problems.append(f"console: {message.text} at {message.location.get('url')}")

    def _check_failure(self, request):
        # ERR_ABORTED: the page navigated away before the request finished (a favicon, say).
        # ERR_NETWORK_CHANGED: the machine's network interfaces changed (Chromium drops what is in
        # flight then; seen once in CI on a stylesheet): the host's doing, not the platform's.
        if request.failure not in ("net::ERR_ABORTED", HOST_NETWORK_CHANGED):
            self.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    def _check_response(self, response):
        # A page may answer 4xx on purpose (a refused form, a 404 page); nothing it loads may,
        # except the results form's posts from its script (X-Fragment), whose refusals it shows.
        request = response.request
        is_page = request.resource_type == "document" or (
            request.resource_type == "fetch" and request.headers.get("x-fragment") == "results")
        if is_page and 400 <= response.status < 500:
            self.refused_pages.add(response.url)
        if response.status >= 500 or (response.status >= 400 and not is_page):
            self.problems.append(f"{response.status}: {response.request.method} {response.url}")


@pytest.fixture
def contexts(browser, site):
    """contexts(javascript=True): a new watched browser context (a separate visitor); the test
    fails if any of its pages saw a problem."""
    made = []

    def make(javascript=True):
        made.append(Watched(browser, site, javascript))
        return made[-1]

    yield make
    problems = [problem for watched in made for problem in watched.problems]
    for watched in made:
        watched.context.close()
    assert not problems, problems


@pytest.fixture
def page(contexts):
    """A page of a fresh visitor with JavaScript on."""
    return contexts().page()


def check_page(page, name, accessible=True):
    """Screenshots of `page` at each width into artifacts/browser/, and axe-core's check of it
    (WCAG 2.x A and AA rules): the test fails naming every violation."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = page.viewport_size["height"]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}-{width}.png"), full_page=True)
        assert not sideways(page, width), f"{name} at {width}px scrolls sideways: {sideways(page, width)}"
        if accessible:
            violations = axe_violations(page)
            assert not violations, f"{name} at {width}px: {violations}"
    page.set_viewport_size({"width": WIDTHS[0], "height": height})


def sideways(page, width):
    """What sticks out past the right edge of a `width` px window (the page would scroll sideways):
    the innermost such elements, at most 5, as tag.class and right edge; [] for none. What scrolls
    inside its own box (a wide table in its scroller) does not count."""
    return page.evaluate("""(width) => {
        if (document.documentElement.scrollWidth <= width) return [];
        const out = [...document.body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > width + 0.5
            && ![...e.children].some(c => c.getBoundingClientRect().right > width + 0.5)
            && !e.closest('.table-scroll, .table-wrap'));
        return out.slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className}: ${Math.round(e.getBoundingClientRect().right)}px`)
            .concat(out.length ? [] : [`page ${document.documentElement.scrollWidth}px`]);
    }""", width)


def axe_violations(page):
    """axe-core's violations on `page`, one line each. The script is evaluated through the
    DevTools protocol, which the page's CSP doesn't govern (an injected <script> would be refused)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"]]
