"""The tournament's pages as a visitor who is not logged in sees them, rendered for the snapshot the
orchestrator keeps when the tournament ends and this server stops (see ARCHITECTURE.md "Ended
tournaments"): the page, each round tab it links to, the venue view and the static files, so the
same templates answer `/t/<id>/` after the server is gone.
"""
import base64
import mimetypes
import time
from pathlib import Path

from flask import Blueprint, current_app, jsonify

from tournament_service.pages import page_context, page_html
from tournament_service.permissions import ANONYMOUS

bp = Blueprint("page_snapshot", __name__)

# Bounds: elimination has ~2·log2(teams)+2 tabs and Swiss ~log2(teams) rounds, groups none
# (cross-tables); a round robin of 7+ teams one per round (its phone view), which these cut for
# hundreds of teams. A tab left out is answered, as the
# live page answers an unknown tab, by the page with the last round selected.
MAX_TABS = 64
MAX_PAGE_BYTES = 16 * 1024 * 1024  # all the pages' HTML together
MAX_STATIC_BYTES = 4 * 1024 * 1024  # all the static files together
PAGE = ""
FOLLOW = "follow=current"


@bp.get("/api/pages")
def rendered_pages():
    """{"pages": {query: html}, "static": {path: {"type", "text" | "base64"}}, "left_out": [tab keys]}."""
    tournament = current_app.extensions["tournament_server"].tournament
    return jsonify({**final_pages(tournament), "static": static_files(Path(current_app.static_folder))})


def final_pages(tournament):
    """The page (key ""), each round tab it links to (key "round=<key>") and the venue view (key
    "follow=current"), as HTML for an anonymous viewer, within MAX_TABS and MAX_PAGE_BYTES."""
    # One picture of the tournament for every page: it no longer changes.
    context = page_context(tournament)
    pages = {PAGE: page_html(tournament, ANONYMOUS, None, context=context),
             FOLLOW: page_html(tournament, ANONYMOUS, None, follow=True, context=context)}
    size = sum(len(html) for html in pages.values())
    left_out = []
    view = context["view"]
    for key in linked_tabs(view):
        if key == view["current"]:
            continue  # the same HTML as the page itself, which answers it
        # Each tab is about the size of the page: stop before the one that would pass the bound.
        if len(pages) - 2 >= MAX_TABS or size + len(pages[PAGE]) > MAX_PAGE_BYTES:
            left_out.append(key)
            continue
        # Between pages, let health checks and reads be answered (this yields to gevent's hub when served).
        time.sleep(0)
        pages[f"round={key}"] = html = page_html(tournament, ANONYMOUS, None, chosen=key, context=context)
        size += len(html)
    return {"pages": pages, "left_out": left_out}


def linked_tabs(view):
    """The keys of the round tabs the page links to (`_round_tabs.html`): elimination trees' rounds,
    and the rounds of a picture drawn by round (`round_tabs`: Swiss, a round robin of 7+ teams)."""
    keys = [section["key"] for bracket in view.get("brackets", []) for section in bracket["rounds"]]
    if view.get("round_tabs"):
        keys += [section["key"] for section in view.get("rounds", [])]
    return keys


def static_files(folder):
    """{path under static/: {"type", "text"} or {"type", "base64"}} of every file in `folder`,
    within MAX_STATIC_BYTES (the page refers to them by relative links)."""
    files, size = {}, 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        body = path.read_bytes()
        size += len(body)
        if size > MAX_STATIC_BYTES:
            break
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        try:
            entry = {"type": f"{kind}; charset=utf-8", "text": body.decode("utf-8")}
        except UnicodeDecodeError:
            entry = {"type": kind, "base64": base64.b64encode(body).decode("ascii")}
        files[path.relative_to(folder).as_posix()] = entry
    return files
