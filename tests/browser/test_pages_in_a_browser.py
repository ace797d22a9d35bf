"""Organizer journeys through the orchestrator's pages in a real Chromium."""
import uuid

from tests.browser.conftest import check_page
from tests.pages.helpers import PASSWORD

SCRIPT_NAME = "<script>alert(1)</script>"


def _register_and_log_in(page, screens=False):
    username = f"org-{uuid.uuid4().hex[:8]}"
    page.goto("/")
    page.get_by_role("link", name="Register").click()
    if screens:
        check_page(page, "register")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Your account is ready").wait_for()
    if screens:
        check_page(page, "login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {username}").wait_for()
    return username


def _create(page, name, screens=False, **fields):
    page.get_by_role("link", name="New tournament").click()
    if screens:
        check_page(page, "tournament-form-new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Game", exact=True).fill("chess")
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Create the draft").click()


def test_organizer_registers_creates_and_publishes_a_tournament_from_the_pages(contexts):
    organizer = contexts()
    page = organizer.page()
    _register_and_log_in(page, screens=True)
    check_page(page, "home")
    _create(page, "Autumn Open", screens=True)
    page.get_by_text("The tournament was saved.").wait_for()
    check_page(page, "tournament-detail-draft")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name", exact=True).fill("Autumn Open 2026")
    page.get_by_label("Format", exact=True).select_option("double_elimination")
    check_page(page, "tournament-form-edit")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Autumn Open 2026").wait_for()
    detail_url = page.url
    # A second tab still showing the DRAFT with its Publish button: without JavaScript, since a
    # live page would drop the button the moment the tournament is published.
    frozen = contexts(javascript=False)
    frozen.context.add_cookies(organizer.context.cookies())
    stale = frozen.page()
    stale.goto(detail_url)
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("The tournament was published.").wait_for()
    assert page.locator(".meta .state").inner_text() == "Registration"
    assert page.get_by_role("button", name="Publish").count() == 0
    assert page.get_by_role("button", name="Cancel the tournament").count() == 1
    check_page(page, "tournament-detail-registration")
    stale.get_by_role("button", name="Publish").click()
    stale.get_by_role("alert").filter(has_text="can't be published now: it is REGISTRATION").wait_for()
    page.get_by_role("link", name="Tournaments", exact=True).click()
    check_page(page, "tournaments")


def test_a_bad_field_is_shown_at_the_field_and_a_script_name_as_text(page):
    _register_and_log_in(page)
    _create(page, "Tiny", **{"Most teams": "1"})
    problem = page.locator("#max_teams-problem")
    assert problem.inner_text() == "must be at least 2"
    assert page.get_by_label("Most teams", exact=True).get_attribute("aria-invalid") == "true"
    check_page(page, "tournament-form-refused")
    page.get_by_label("Name", exact=True).fill(SCRIPT_NAME)
    page.get_by_label("Most teams", exact=True).fill("8")
    page.get_by_role("button", name="Create the draft").click()
    assert page.get_by_role("heading", level=1).inner_text() == SCRIPT_NAME
    detail = page.url.split("/", 3)[3]
    page.goto("/tournaments")
    # Other tests' tournaments may bear the same name: this one's link shows it as text.
    assert page.locator(f'a[href="/{detail}"]').inner_text() == SCRIPT_NAME
    check_page(page, "tournaments-script-name")


def test_unknown_pages_answer_a_page_that_passes_the_checks(contexts):
    page = contexts().page()
    response = page.goto("/tournaments/t_nosuchone")
    assert response.status == 404
    page.get_by_role("heading", name="Not found").wait_for()
    check_page(page, "not-found")


def test_the_same_journey_works_without_javascript(contexts):
    page = contexts(javascript=False).page()
    _register_and_log_in(page)
    _create(page, "Offline Cup", **{"Fewest teams": "4"})
    page.get_by_text("The tournament was saved.").wait_for()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Format", exact=True).select_option("swiss")
    page.get_by_label("Swiss rounds (swiss)", exact=True).fill("3")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("The tournament was saved.").wait_for()
    assert page.locator("dd", has_text="Swiss").count() >= 1
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("The tournament was published.").wait_for()
    assert page.locator(".meta .state").inner_text() == "Registration"
    check_page(page, "tournament-detail-no-javascript", accessible=False)
