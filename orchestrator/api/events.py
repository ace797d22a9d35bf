"""/api/v1/events: the SSE feeds, relayed from Redis and replayed from the database."""
from gevent import monkey
from flask import Blueprint, Response, current_app, request, stream_with_context
from flask_login import current_user

from orchestrator import auth
from orchestrator.services import registry
from orchestrator.streams import stream_response
from shared.crowd import SharedFeed
from shared.errors import APIError
from shared.feeds import ChatFeed, GlobalFeed, NotificationFeed, TournamentFeed
from shared import validation as v
from shared.sse import SSE_HEADERS, BadLastEventId, event_stream, page_stream, parse_last_event_id

bp = Blueprint("events", __name__, url_prefix="/api/v1/events")

# The feeds anyone may read, by endpoint: (channel, feed) for the app's Channels, its feed engine
# and the path's tournament id. Anonymous viewers of these are answered below Flask
# (orchestrator/anonymous_feeds.py), with the parts below.
PUBLIC_FEEDS = {
    "global_feed": lambda channels, engine, _tournament_id: (channels.global_announcements, GlobalFeed(engine)),
    "tournament_feed": lambda channels, engine, tournament_id: (
        channels.tournament_events(tournament_id), TournamentFeed(engine, tournament_id)),
    "tournament_chat_feed": lambda channels, engine, tournament_id: (
        channels.tournament_chat(tournament_id), ChatFeed(engine, tournament_id)),
}


def public_feed(app, endpoint, tournament_id=None, viewer=None):
    """(channel, feed) of the PUBLIC_FEEDS `endpoint`, of the tournament `tournament_id` for a
    tournament's feed, for `viewer` (a user, or None: anonymous).

    :raise 404: for an unknown tournament and for someone else's draft alike.
    """
    engine = app.extensions["feed_engine"]
    if tournament_id is not None:
        registry.check_visible(tournament_id, viewer, app.extensions["shared_reads"], engine)
    return PUBLIC_FEEDS[endpoint](app.extensions["channels"], engine, tournament_id)


def last_event_id(header_value, query_value):
    """Where a viewer resumes: the Last-Event-ID header, else `?last_event_id=`; None for from now.

    :raise 400: when it is not a non-negative integer.
    """
    try:
        return parse_last_event_id(header_value, query_value)
    except BadLastEventId as exc:
        raise APIError(400, "invalid_input", str(exc), {"Last-Event-ID": "must be a non-negative integer"})


def feed_body(app, environ, channel, feed, last_id):
    """The SSE frames of `channel` for the viewer of the request `environ`, after `last_id`
    (shared/sse.event_stream: the feed's head is read here, so a database that can't be reached
    fails the request before its response starts). Viewers of the channel connecting at the same
    moment share its head and replay reads."""
    feed = SharedFeed(feed, channel, app.extensions["shared_reads"])
    return event_stream(app.extensions["feed_hub"], channel, feed, last_id, app.config["SSE_HEARTBEAT_SECONDS"],
                        _direct_socket(environ, app.config))


def _stream(channel, feed):
    last_id = last_event_id(request.headers.get("Last-Event-ID"), request.args.get("last_event_id"))
    app, environ = current_app._get_current_object(), request.environ

    def respond():
        return Response(stream_with_context(feed_body(app, environ, channel, feed, last_id)), headers=SSE_HEADERS)
    # One of this process's stream slots for as long as the viewer stays (429/503 past a cap).
    return stream_response(respond, "feed")


def _direct_socket(environ, config):
    """The client's socket when the hub may write live frames to it itself (shared/sse.py
    `_write_directly`), else None: gunicorn's gevent worker (the hub and the viewers' greenlets
    then take turns on one OS thread), and a GET over HTTP/1.1, which gunicorn answers chunked."""
    socket = environ.get("gunicorn.socket")
    if (socket is None or not config["SSE_DIRECT_WRITES"] or environ.get("SERVER_PROTOCOL") != "HTTP/1.1"
            or environ.get("REQUEST_METHOD") != "GET" or not monkey.is_module_patched("threading")
            or not hasattr(socket, "_sock")):
        return None
    return socket


@bp.get("/global")
def global_feed():
    return _stream(*public_feed(current_app, "global_feed"))


@bp.get("/tournaments/<tournament_id>")
def tournament_feed(tournament_id):
    """A tournament's events (404 for an unknown id or another's draft)."""
    return _stream(*public_feed(current_app, "tournament_feed", tournament_id, auth.viewer()))


@bp.get("/tournaments/<tournament_id>/chat")
def tournament_chat_feed(tournament_id):
    """A tournament's chat: messages and deletions; a deleted message replays without its text."""
    return _stream(*public_feed(current_app, "tournament_chat_feed", tournament_id, auth.viewer()))


@bp.get("/user/<int:user_id>")
def user_feed(user_id):
    """A user's notifications: that user only (401 anonymous, 403 anyone else, admins included)."""
    user = auth.require_user()
    if user.id != user_id:
        raise APIError(403, "forbidden", "A notification feed is readable by its own user only.")
    channels = current_app.extensions["channels"]
    return _stream(channels.user_notifications(user_id),
                   NotificationFeed(current_app.extensions["feed_engine"], user_id))


@bp.get("/page")
def page_feed():
    """One page's live stream: what changed on the tournament it shows (`?tournament=`: its events
    and chat), the global announcements (`?global=1`) and the caller's own notifications, as small
    `event: <kind>` frames that tell the page which fragments to refetch. No replay: a page
    refetches what it shows when it (re)connects."""
    channels = current_app.extensions["channels"]
    kinds = {}
    tournament_id = request.args.get("tournament")
    if tournament_id is not None:
        auth.check_visible(tournament_id)  # 404 for an unknown id or another's draft
        kinds["tournament"] = channels.tournament_events(tournament_id)
        kinds["chat"] = channels.tournament_chat(tournament_id)
    if v.query_choice("global", ("0", "1")) == "1":
        kinds["global"] = channels.global_announcements
    if current_user.is_authenticated:
        kinds["notification"] = channels.user_notifications(current_user.id)

    def respond():
        stream = page_stream(current_app.extensions["feed_hub"], kinds, current_app.config["SSE_HEARTBEAT_SECONDS"])
        return Response(stream_with_context(stream), headers=SSE_HEADERS)
    return stream_response(respond, "page")
