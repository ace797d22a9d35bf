"""Read-only views of ended tournaments, whose servers are stopped.

Just before an archived or cancelled tournament's server stops, its read models and its pages (as
a visitor who is not logged in sees them, rendered by the server with its own templates) are
copied into the registry; the gateway answers the same GET paths from that copy afterwards.
"""
import base64
import functools
import json
import logging
import zlib

from orchestrator.services import server_client
from shared.errors import APIError

log = logging.getLogger(__name__)

READ_ONLY_PATHS = ("api/state", "api/teams", "api/matches", "api/standings", "api/bracket")
# Rendering every tab of a big bracket takes a while on a busy machine.
PAGES_TIMEOUT = 60


def capture(endpoint, tournament_id, summary):
    """The JSON text of everything a viewer can read from the server at `endpoint`."""
    def read(path):
        return server_client.query(endpoint, tournament_id, path)

    bracket = read("/api/bracket")
    # The bracket holds every match of every format, played or not: the matches view is cut from it.
    matches = [match for section in bracket.get("sections", []) for match in section["matches"]]
    return json.dumps({"api/state": summary, "api/teams": read("/api/teams"), "matches": matches,
                       "api/standings": read("/api/standings"), "api/bracket": bracket,
                       **_pages(endpoint, tournament_id)})


def _pages(endpoint, tournament_id):
    """{"pages": {query: packed html}, "static": {path: {"type", "body": packed}}}, the server's
    rendered pages, each compressed (the tabs of a bracket are near copies of each other); {}
    when the server can't give them: the JSON views are kept all the same."""
    try:
        rendered = server_client.query(endpoint, tournament_id, "/api/pages", timeout=PAGES_TIMEOUT)
    except APIError as exc:
        # Whether that matters is known when it is kept (registry._keep_snapshot): a racing
        # capture may have kept the pages already.
        log.info("the pages of %s could not be read for its final snapshot: %s", tournament_id, exc.message)
        return {}
    static = {path: {"type": entry["type"], "body": _pack(entry["text"].encode("utf-8") if "text" in entry
                                                           else base64.b64decode(entry["base64"]))}
              for path, entry in rendered["static"].items()}
    return {"pages": {key: _pack(html.encode("utf-8")) for key, html in rendered["pages"].items()},
            "static": static}


def _pack(body):
    return base64.b64encode(zlib.compress(body, 6)).decode("ascii")


def _unpack(packed):
    return zlib.decompress(base64.b64decode(packed))


@functools.lru_cache(maxsize=16)
def _parsed(snapshot_text):
    # A snapshot never changes once written; a page and its stylesheet read it one after the other.
    return json.loads(snapshot_text)


def has_pages(snapshot_text):
    """True when the snapshot kept the rendered pages (snapshots taken before they were kept have not)."""
    return "pages" in _parsed(snapshot_text)


def page(snapshot_text, round_key=None, follow=False):
    """The HTML (bytes) of the page as it was when the tournament ended: the venue view when
    `follow`, else round tab `round_key` selected; a tab not kept (or unknown) gets the page as it
    opens, as on the live server. None when the snapshot has no pages."""
    pages = _parsed(snapshot_text).get("pages")
    if pages is None:
        return None
    key = "follow=current" if follow else f"round={round_key}"
    return _unpack(pages.get(key) or pages[""])


def static_file(snapshot_text, path):
    """(body, content type) of static file `path` (under static/), or None when not kept."""
    entry = _parsed(snapshot_text).get("static", {}).get(path)
    return (_unpack(entry["body"]), entry["type"]) if entry else None


def view(snapshot_text, path, round_no=None, status=None):
    """The stored answer for GET `path`, or None when the snapshot has no such view."""
    snapshot = _parsed(snapshot_text)
    if path != "api/matches":
        return snapshot.get(path) if path in READ_ONLY_PATHS else None
    matches = snapshot["matches"]
    if round_no is None and status is None:
        # As the server answers: the matches that could be played (left open by a cancel).
        return {"items": [m for m in matches if m["status"] in ("pending", "reported", "disputed")
                          and m["team1_id"] is not None and m["team2_id"] is not None]}
    return {"items": [m for m in matches if (round_no is None or m["round"] == round_no)
                      and (status is None or m["status"] == status)]}
