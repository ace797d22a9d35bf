"""A tournament's chat in a real Chromium: a message from one visitor appears in another's page
without a reload, the organizer deletes it and it disappears from both; without JavaScript the
forms post and the pages render."""
import re

from tests.browser.conftest import check_page
from tests.browser.test_pages_in_a_browser import SCRIPT_NAME, _register_and_log_in
from tests.browser.test_tournament_forms_in_a_browser import _published

LIVE_WITHIN_MS = 5000


def _open_chat(contexts, tournament_id, javascript=True, log_in=True):
    page = contexts(javascript=javascript).page()
    if log_in:
        _register_and_log_in(page)
    page.goto(f"/tournaments/{tournament_id}/chat")
    return page


def _messages(page):
    return page.locator(".chat-messages .chat-body")


def test_a_message_appears_live_elsewhere_and_the_organizers_deletion_removes_it_everywhere(contexts):
    organizer, tournament_id = _published(contexts, javascript=True)
    organizer.get_by_role("link", name="Chat", exact=True).click()
    organizer.get_by_role("heading", name="Chat").wait_for()
    player = _open_chat(contexts, tournament_id)
    watcher = _open_chat(contexts, tournament_id, log_in=False)  # anyone may read
    assert watcher.locator("form.chat-form").count() == 0
    assert watcher.get_by_role("link", name="Log in").count() >= 1

    text = f"{SCRIPT_NAME} good luck"
    player.get_by_label("Your message").fill(text)
    player.get_by_role("button", name="Send").click()
    for page in (player, organizer, watcher):  # the others without a reload
        page.locator(".chat-messages .chat-body", has_text="good luck").wait_for(timeout=LIVE_WITHIN_MS)
        assert _messages(page).all_inner_texts() == [text]  # the script as text
    assert player.get_by_label("Your message").input_value() == ""  # sent, the form is fresh
    assert player.locator(".chat-delete").count() == 0 and watcher.locator(".chat-delete").count() == 0

    # Typing is kept while another message arrives.
    player.get_by_label("Your message").fill("half a thou")
    organizer.get_by_label("Your message").fill("Round 1 starts in five minutes")
    organizer.get_by_role("button", name="Send").click()
    player.locator(".chat-messages .chat-body", has_text="Round 1").wait_for(timeout=LIVE_WITHIN_MS)
    assert player.get_by_label("Your message").input_value() == "half a thou"

    organizer.locator(".chat-message", has_text="good luck").get_by_role("button", name=re.compile("^Delete")).click()
    organizer.get_by_text("The message was deleted for everyone.").wait_for()
    for page in (organizer, player, watcher):
        page.locator(".chat-messages .chat-body", has_text="good luck").wait_for(state="detached",
                                                                                timeout=LIVE_WITHIN_MS)
        assert _messages(page).all_inner_texts() == ["Round 1 starts in five minutes"]
    # Checked last: axe leaves empty style attributes on the form fields, which a later swap would
    # copy (htmx settles `style`), and the CSP refuses.
    check_page(organizer, "chat-organizer")
    check_page(player, "chat-player")

    # The tournament's own page carries the chat: its panel with JavaScript, a link to this page without.
    watcher.goto(f"/t/{tournament_id}/")
    chat = watcher.locator("section#chat")
    chat.get_by_role("heading", name="Chat").wait_for()
    if watcher.locator('script[src*="htmx"]').count():
        chat.locator(".chat-body", has_text="Round 1").wait_for(timeout=LIVE_WITHIN_MS)
    else:
        chat.get_by_role("link", name="Read and write in the tournament's chat").click()
        watcher.locator(".chat-body", has_text="Round 1").wait_for()


def test_the_chat_works_without_javascript_and_says_why_a_message_is_refused(contexts):
    _organizer, tournament_id = _published(contexts, javascript=False)
    page = _open_chat(contexts, tournament_id, javascript=False)
    page.get_by_label("Your message").fill("   ")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("alert").filter(has_text="Your message must be 1 to 500 characters").wait_for()
    check_page(page, "chat-refused-no-javascript", accessible=False)
    page.get_by_label("Your message").fill("Offline hello")
    page.get_by_role("button", name="Send").click()
    page.locator(".chat-body", has_text="Offline hello").wait_for()
    assert re.search(rf"/tournaments/{tournament_id}/chat$", page.url)

    page.goto(f"/t/{tournament_id}/")
    page.locator("section#chat").get_by_role("link", name="Read and write in the tournament's chat").click()
    assert _messages(page).all_inner_texts() == ["Offline hello"]
