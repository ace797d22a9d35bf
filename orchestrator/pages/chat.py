"""A tournament's chat as pages: the full page, the panel the tournament's own page embeds, the list
of messages a live page refreshes, and the post and delete forms. Same services and rules as the
API (services/chat.py); each refusal is said on the page.

A form posted by htmx (HX-Request) gets the panel back, refusal included, with status 200 (htmx
swaps only successful answers); a plain form post is redirected back where it came from, or gets
the chat page with the refusal and what was typed.
"""
from flask import flash, redirect, render_template, request, url_for

from orchestrator import auth
from orchestrator.api.chat import publish_to, rate_limit
from orchestrator.pages import bp
from orchestrator.services import chat
from shared import state_machine as sm
from shared.errors import APIError


def _read_only_reason(tournament):
    """Why nobody may post in this chat now (None when they may)."""
    try:
        chat.check_open(tournament)
    except sm.IllegalAction as exc:
        return (f"The chat is not open yet: the tournament is a {exc.state}." if exc.state == sm.DRAFT
                else f"The chat is read-only: the tournament is {exc.state}.")
    return None


def _view(tournament, cursor=None, **extra):
    """What the panel and the chat page show: the newest messages (before `cursor`), whether the
    viewer may post and delete, and why not."""
    messages, older = chat.history(tournament.id, chat.HISTORY_LIMIT, cursor)
    viewer = auth.viewer()
    return {"tournament": tournament, "messages": messages, "older": older, "max_length": chat.MAX_LENGTH,
            "read_only": _read_only_reason(tournament), "logged_in": viewer is not None,
            "moderator": auth.is_organizer(viewer, tournament), "back": _back_target(), "draft": "",
            "problem": None, **extra}


def _back_target():
    """Where a plain form post returns to: the tournament's own page, or the chat page."""
    back = request.values.get("back")
    return back if back == "tournament" else "chat"


def _cursor():
    try:
        return chat.parse_cursor(request.args.get("cursor") or None)
    except APIError:
        return None  # a page shows the newest messages rather than an error


@bp.get("/tournaments/<tournament_id>/chat")
def chat_page(tournament_id):
    """The chat on a page of its own: it works without JavaScript, and live with it."""
    tournament = auth.visible_tournament(tournament_id)
    return render_template("chat.html", **_view(tournament, _cursor()))


@bp.get("/tournaments/<tournament_id>/chat/panel")
def chat_panel(tournament_id):
    """The chat panel (messages and the post form) that the tournament's page loads into itself."""
    return render_template("_chat_panel.html", **_view(auth.visible_tournament(tournament_id)))


@bp.get("/tournaments/<tournament_id>/chat/messages")
def chat_messages(tournament_id):
    """Just the messages: what a live page refreshes when the chat changes (the form keeps what is being typed)."""
    return render_template("_chat_messages.html", **_view(auth.visible_tournament(tournament_id)))


def _answer(tournament, problem=None, done=None, draft="", status=400):
    """The answer to a chat form: the panel for htmx, else a redirect back (or the page with the problem)."""
    if request.headers.get("HX-Request") == "true":
        return render_template("_chat_panel.html", **_view(tournament, problem=problem, notice=done,
                                                           draft=draft if problem else ""))
    if problem is None:
        if done:
            flash(done, "success")
        if _back_target() == "tournament":
            return redirect(f"/t/{tournament.id}/#chat")
        return redirect(url_for("pages.chat_page", tournament_id=tournament.id))
    return render_template("chat.html", **_view(tournament, problem=problem, draft=draft)), status


@bp.post("/tournaments/<tournament_id>/chat")
def chat_post(tournament_id):
    """Post a message: logged in, the chat open, a body the API would take, within the rate limit."""
    tournament = auth.visible_tournament(tournament_id)
    if auth.viewer() is None:
        return redirect(url_for("pages.login", next=url_for("pages.chat_page", tournament_id=tournament.id)))
    typed = request.form.get("body", "")
    try:
        body = chat.check_body(typed)
        chat.post_message(tournament, auth.viewer(), body, publish_to(tournament.id), rate_limit)
    except ValueError as exc:
        return _answer(tournament, f"Your message {exc}.", draft=typed)
    except sm.IllegalAction:
        return _answer(tournament, _read_only_reason(tournament), draft=typed, status=409)
    except APIError as exc:
        if exc.status != 429:
            raise
        return _answer(tournament, "You are posting too fast. " + exc.message, draft=typed, status=429)
    return _answer(tournament)


@bp.post("/tournaments/<tournament_id>/chat/<int:seq>/delete")
def chat_delete(tournament_id, seq):
    """The organizer's (or an admin's) Delete button on a message."""
    tournament = auth.visible_tournament(tournament_id)
    if auth.viewer() is None:
        return redirect(url_for("pages.login", next=url_for("pages.chat_page", tournament_id=tournament.id)))
    try:
        chat.delete_message(tournament, auth.viewer(), seq, publish_to(tournament.id))
    except APIError as exc:
        if exc.status not in (403, 404):
            raise
        return _answer(tournament, exc.message, status=exc.status)
    return _answer(tournament, done="The message was deleted for everyone.")


VIEWS = (chat_page, chat_panel, chat_messages, chat_post, chat_delete)
