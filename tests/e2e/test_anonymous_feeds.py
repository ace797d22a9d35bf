"""Anonymous viewers of the public feeds are answered below Flask (orchestrator/anonymous_feeds.py):
with a real orchestrator (gunicorn, gevent), they get what Flask answers, resume exactly where they
left off, and are counted, logged and capped as before; whoever may be logged in stays on Flask.

Flask's own answer to the same request comes with a session cookie that is not a signed session:
Flask reads it as no session (an anonymous caller), while the layer below Flask leaves every
request with a session cookie to Flask."""
import http.client
import json
from urllib.parse import urlsplit

import requests

from tests.e2e.test_metrics import scrape, total
from tests.e2e.test_request_ids import access_line, lines_with
from tests.support.api import PASSWORD, make_tournament, ok
from tests.support.processes import wait_until
from tests.support.sse import SSEClient

THROUGH_FLASK = {"Cookie": "session=not-a-signed-session"}
# Answered at another time, or made up for each request.
VARYING = {"date", "x-request-id"}


def answer(url, path, headers=None):
    """(status, [(header, value)] but VARYING, the body's first bytes) of an HTTP/1.1 GET."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        # A stream's first chunk (": connected"), or a whole error answer.
        body = response.read1(64) if response.status == 200 else response.read()
        return (response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in VARYING], body)
    finally:
        conn.close()


def test_an_anonymous_viewer_gets_what_flask_answers_it(orchestrator):
    api = orchestrator.api
    tid = make_tournament(api, "ACTIVE", teams=4)["id"]
    draft = make_tournament(api, "DRAFT", teams=0)["id"]
    feed, global_feed = f"/api/v1/events/tournaments/{tid}", "/api/v1/events/global"
    chat = feed + "/chat"
    cases = [
        (feed, {}, 200, None), (chat, {}, 200, None), (global_feed, {}, 200, None),
        (feed, {"Last-Event-ID": "3"}, 200, None), (feed + "?last_event_id=2&x=1", {}, 200, None),
        # A draft is its organizer's only: an anonymous viewer gets the 404 of an unknown id.
        (f"/api/v1/events/tournaments/{draft}", {}, 404, "tournament_not_found"),
        (f"/api/v1/events/tournaments/{draft}/chat", {}, 404, "tournament_not_found"),
        ("/api/v1/events/tournaments/t_nosuch", {}, 404, "tournament_not_found"),
        (f"/api/v1/events/tournaments/{draft}", {"Accept": "text/html"}, 404, None),  # a browser's page
        ("/api/v1/events/tournaments/not.an.id", {}, 400, "invalid_input"),
        (feed + "/", {}, 404, "not_found"),
        (feed, {"Last-Event-ID": "x"}, 400, "invalid_input"),
        (feed, {"Last-Event-ID": "1" * 19}, 400, "invalid_input"),
        (feed + "?last_event_id=-1", {}, 400, "invalid_input"),
        (feed, {"Last-Event-ID": "", "X-CSRF-Token": "\u00e9"}, 400, "invalid_input"),
    ]
    for path, headers, status, code in cases:
        ours = answer(orchestrator.url, path, headers)
        assert ours == answer(orchestrator.url, path, {**headers, **THROUGH_FLASK}), (path, headers)
        assert ours[0] == status, (path, headers, ours)
        if status == 200:
            assert ours[2] == b": connected\n\n" and ("Content-Type", "text/event-stream; charset=utf-8") in ours[1]
        elif code:
            assert json.loads(ours[2])["error"]["code"] == code, (path, headers, ours)
    # The bad Last-Event-ID's envelope, as the API documents it.
    error = json.loads(answer(orchestrator.url, feed, {"Last-Event-ID": "x"})[2])["error"]
    assert error["fields"] == {"Last-Event-ID": "must be a non-negative integer"}, error


def test_a_resuming_anonymous_viewer_gets_exactly_what_it_missed_then_what_comes(orchestrator):
    api = orchestrator.api
    # Published (1), REGISTRATION (2), two teams (3, 4).
    tid = make_tournament(api, "REGISTRATION", teams=2, max_teams=8)["id"]
    url = api.url(f"/api/v1/events/tournaments/{tid}")
    viewers = {"header": SSEClient(url, last_event_id=2), "query": SSEClient(url + "?last_event_id=2"),
               "through Flask": SSEClient(url, last_event_id=2, headers=THROUGH_FLASK),
               "beyond the head": SSEClient(url, last_event_id=999), "new": SSEClient(url)}
    try:
        assert {name: viewer.status_code for name, viewer in viewers.items()} == dict.fromkeys(viewers, 200)
        for name in ("header", "query", "through Flask"):
            assert [event["id"] for event in viewers[name].collect(2)] == [3, 4], name
        ok(api.post(f"/t/{tid}/api/teams", {"name": "Late Comers"}), 201)
        for name, viewer in viewers.items():
            live = viewer.next_event()
            assert (live["id"], live["data"]["team"]["name"]) == (5, "Late Comers"), name
            assert viewer.drain() == [], name  # nothing twice
    finally:
        for viewer in viewers.values():
            viewer.close()


def test_an_anonymous_feed_is_counted_logged_and_capped(start_orchestrator):
    orchestrator = start_orchestrator(SSE_STREAMS_PER_USER="2", SSE_STREAMS_PER_ADDRESS="2")
    api, metrics = orchestrator.api, orchestrator.url + "/metrics"
    tid = make_tournament(api, "REGISTRATION", teams=0)["id"]
    counted = dict(endpoint="events.tournament_feed", method="GET", status="2xx")
    before = scrape(metrics)
    url = api.url(f"/api/v1/events/tournaments/{tid}")
    first = SSEClient(url, headers={"X-Request-ID": "anonymous-viewer-1"})
    second = SSEClient(url + "/chat")
    try:
        assert (first.status_code, first.headers["X-Request-ID"]) == (200, "anonymous-viewer-1")
        watched = scrape(metrics)
        assert total(watched, "orchestrator_sse_streams", kind="feed") == 2
        assert total(watched, "orchestrator_http_requests_total", **counted) - (
            total(before, "orchestrator_http_requests_total", **counted) or 0) == 1
        timed = "orchestrator_http_request_duration_seconds_count"
        assert total(watched, timed, endpoint="events.tournament_feed") - (
            total(before, timed, endpoint="events.tournament_feed") or 0) == 1
        # The address's two streams are held: a third is refused by the same cap, as Flask says it.
        third = SSEClient(api.url("/api/v1/events/global"))
        assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
        assert third.response.json()["error"]["code"] == "too_many_streams"
        third.close()
    finally:
        first.close()
        second.close()
    assert wait_until(lambda: total(scrape(metrics), "orchestrator_sse_streams", kind="feed") == 0, timeout=10)
    # Its access line once it has ended, with its id, as for any request.
    line = access_line(lines_with(orchestrator.log(), "anonymous-viewer-1"), "orchestrator.access")
    assert (line["method"], line["path"], line["status"]) == ("GET", f"/api/v1/events/tournaments/{tid}", 200)


def test_a_viewer_logged_in_by_cookie_stays_on_flask_and_counts_as_its_user(start_orchestrator):
    orchestrator = start_orchestrator(SSE_STREAMS_PER_USER="2", SSE_STREAMS_PER_ADDRESS="3")
    organizer = orchestrator.api
    draft = make_tournament(organizer, "DRAFT", teams=0)["id"]
    browser = requests.Session()  # logs in with the cookie session, as the pages do
    ok(browser.post(organizer.url("/api/v1/auth/login"),
                    json={"username": organizer.user["username"], "password": PASSWORD}, timeout=30))
    cookie = {"Cookie": "; ".join(f"{name}={value}" for name, value in browser.cookies.items())}
    held = []
    try:
        # Their own draft's feed: theirs to see.
        for path in (f"/api/v1/events/tournaments/{draft}", "/api/v1/events/global"):
            held.append(SSEClient(organizer.url(path), headers=cookie))
            assert held[-1].status_code == 200, path
        refused = SSEClient(organizer.url("/api/v1/events/global"), headers=cookie)
        assert refused.status_code == 429 and "per user" in refused.response.json()["error"]["message"]
        refused.close()
        # The address's own cap is untouched by the user's streams.
        for _ in range(3):
            held.append(SSEClient(organizer.url("/api/v1/events/global")))
            assert held[-1].status_code == 200
        refused = SSEClient(organizer.url("/api/v1/events/global"))
        assert refused.status_code == 429 and "per address" in refused.response.json()["error"]["message"]
        refused.close()
    finally:
        for feed in held:
            feed.close()


def test_only_anonymous_gets_of_public_feeds_with_nothing_else_to_check_skip_flask(app):
    from orchestrator.anonymous_feeds import AnonymousFeeds

    below_flask = AnonymousFeeds(app, flask=None)._public_feed

    def taken(path, method="GET", **environ):
        return below_flask({"REQUEST_METHOD": method, "PATH_INFO": path, **environ})

    assert taken("/api/v1/events/global") == ("global_feed", None)
    assert taken("/api/v1/events/tournaments/t_1") == ("tournament_feed", "t_1")
    assert taken("/api/v1/events/tournaments/t_1/chat", HTTP_LAST_EVENT_ID="7", QUERY_STRING="last_event_id=2",
                 CONTENT_LENGTH="", HTTP_COOKIE="theme=dark") == ("tournament_chat_feed", "t_1")
    for path in ("/api/v1/events/page", "/api/v1/events/user/1", "/api/v1/events/global/",
                 "/api/v1/events/tournaments/a.b", "/api/v1/events/tournaments/t_1/chat/",
                 "/api/v1/events/tournaments/" + "x" * 41):
        assert taken(path) is None, path
    for environ in ({"method": "HEAD"}, {"method": "POST"}, {"HTTP_AUTHORIZATION": "Bearer t"},
                    {"HTTP_X_CSRF_TOKEN": "x"}, {"HTTP_X_PLATFORM_IDENTITY": "x"}, {"CONTENT_LENGTH": "2"},
                    {"HTTP_TRANSFER_ENCODING": "chunked"}, {"HTTP_COOKIE": "theme=dark; session=x"},
                    {"HTTP_COOKIE": "remember_token=x"}):
        assert taken("/api/v1/events/tournaments/t_1", **environ) is None, environ
