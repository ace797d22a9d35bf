"""A tournament's chat through the API: posting (who, when, what, how often), the history, the
organizer's deletions, what goes out on Redis, and the SSE feed's replay with Last-Event-ID.

The orchestrator runs in this process on the run's PostgreSQL and Redis; its relay is live, so what
a viewer of the chat feed gets came through Redis and was checked against the table.
"""
import json
import queue
import threading
import time
import uuid

import pytest
import redis
import sqlalchemy as sa

from shared.db.tables import chat_messages, users
from shared.pubsub import message_key, opened
from tests.api.helpers import assert_error, ok, register, send
from tests.conftest import REDIS_URL, end_served_tournaments, orchestrator_test_config
from tests.support.registry import delete_registry_row, insert_registry_row
from tests.support.rate_windows import wait_for_fresh_window

RATE = 3  # posts per user per tournament per window in these tests
# A window of a day: a fixed window that ended mid-test would let a fourth post through.
WINDOW = 86400


@pytest.fixture
def chat_app(platform_env, tmp_path):
    from orchestrator import create_app
    from orchestrator.extensions import db

    wait_for_fresh_window(WINDOW, needed=60)
    app = create_app(orchestrator_test_config(platform_env, CHAT_RATE_LIMIT=f"{RATE}/{WINDOW}"))
    yield app
    app.extensions["redis_relay"].stop()
    app.extensions["publisher"].close()
    app.extensions["publisher"].client.close()
    end_served_tournaments(platform_env["DATABASE_URL"])
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def accounts():
    """Usernames of the module's people (registered once, on first use) and their tokens."""
    return {}


@pytest.fixture
def people(chat_app, accounts, db_engine):
    """{role: Bearer headers} of an organizer, two players, an admin; `anonymous`: no headers."""
    client = chat_app.test_client()
    if not accounts:
        for role in ("organizer", "ana", "bob", "admin"):
            name = f"{role}-{uuid.uuid4().hex[:8]}"
            user = register(client, name)
            token = ok(send(client, "POST", "/api/v1/auth/login", {"username": name, "password": "correct horse battery"}))["token"]
            accounts[role] = {"id": user["id"], "username": name, "headers": {"Authorization": f"Bearer {token}"}}
        with db_engine.begin() as conn:
            conn.execute(sa.update(users).where(users.c.id == accounts["admin"]["id"]).values(is_admin=True))
    return {**accounts, "anonymous": {"id": None, "username": None, "headers": {}}}


@pytest.fixture
def make_tournament(db_engine, people):
    """make_tournament(state="REGISTRATION"): a registry row the organizer owns (no server: the
    chat is the orchestrator's)."""
    made = []

    def make(state="REGISTRATION"):
        made.append(insert_registry_row(db_engine, state=state, organizer_id=people["organizer"]["id"]))
        return made[-1]
    yield make
    for tournament_id in made:
        delete_registry_row(db_engine, tournament_id)  # its chat goes with it (ON DELETE CASCADE)


def post(app, people, who, tournament_id, body):
    return send(app.test_client(), "POST", f"/api/v1/tournaments/{tournament_id}/chat", {"body": body},
                headers=people[who]["headers"])


def delete(app, people, who, tournament_id, seq):
    return app.test_client().delete(f"/api/v1/tournaments/{tournament_id}/chat/{seq}", headers=people[who]["headers"])


def history(app, tournament_id, **query):
    return ok(app.test_client().get(f"/api/v1/tournaments/{tournament_id}/chat", query_string=query))


def stored(db_engine, tournament_id):
    with db_engine.connect() as conn:
        return [row._asdict() for row in conn.execute(
            sa.select(chat_messages).where(chat_messages.c.tournament_id == tournament_id).order_by(chat_messages.c.seq))]


@pytest.fixture
def chat_channel(platform_env):
    """listen(tournament_id) -> next_message(timeout): what is published on that chat channel."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)

    def listen(tournament_id):
        channel = f"{platform_env['REDIS_NAMESPACE']}tournament:{tournament_id}:chat"
        pubsub.subscribe(channel)

        def next_message(timeout=5):
            """The text published, signed for this channel with the platform's key (shared/pubsub.py)."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = pubsub.get_message(timeout=0.2)
                if message:
                    text, vouched = opened(message_key(platform_env["GATEWAY_SECRET"]), channel, message["data"])
                    assert vouched, message["data"]
                    return text
            raise AssertionError("nothing was published on the chat channel")
        return next_message
    yield listen
    pubsub.close()
    client.close()


# ---- posting and reading ------------------------------------------------------------------------

def test_messages_are_stored_published_as_stored_and_listed_newest_first(chat_app, people, make_tournament,
                                                                         db_engine, chat_channel):
    tournament_id = make_tournament()
    published = chat_channel(tournament_id)
    first = ok(post(chat_app, people, "ana", tournament_id, "  Good luck, everyone!  "), 201)
    assert first["body"] == "Good luck, everyone!" and first["seq"] == 1
    assert first["author"] == {"id": people["ana"]["id"], "username": people["ana"]["username"]}
    text = published()
    assert text == stored(db_engine, tournament_id)[0]["payload"]  # byte for byte what the relay compares
    assert json.loads(text) | {"timestamp": None} == {
        "type": "chat_message", "tournament_id": tournament_id, "seq": 1, "body": "Good luck, everyone!",
        "author": first["author"], "timestamp": None}
    ok(post(chat_app, people, "bob", tournament_id, "Thanks!\r\nYou too"), 201)
    ok(post(chat_app, people, "organizer", tournament_id, "<script>alert(1)</script>"), 201)
    page = history(chat_app, tournament_id)
    assert [(m["seq"], m["body"]) for m in page["items"]] == [
        (3, "<script>alert(1)</script>"), (2, "Thanks!\nYou too"), (1, "Good luck, everyone!")]
    assert page["next_cursor"] is None


def test_history_pages_with_a_cursor(chat_app, people, make_tournament):
    tournament_id = make_tournament("ACTIVE")
    for who, n in (("ana", 1), ("bob", 2), ("ana", 3), ("bob", 4), ("organizer", 5)):
        ok(post(chat_app, people, who, tournament_id, f"message {n}"), 201)
    first = history(chat_app, tournament_id, limit=2)
    assert [m["body"] for m in first["items"]] == ["message 5", "message 4"]
    second = history(chat_app, tournament_id, limit=2, cursor=first["next_cursor"])
    assert [m["body"] for m in second["items"]] == ["message 3", "message 2"]
    last = history(chat_app, tournament_id, limit=2, cursor=second["next_cursor"])
    assert [m["body"] for m in last["items"]] == ["message 1"] and last["next_cursor"] is None
    for cursor in ("abc", "-1", "1.5", "9" * 30):
        assert_error(chat_app.test_client().get(f"/api/v1/tournaments/{tournament_id}/chat",
                                                query_string={"cursor": cursor}), 400, "invalid_input", ["cursor"])
    assert_error(chat_app.test_client().get(f"/api/v1/tournaments/{tournament_id}/chat", query_string={"limit": 0}),
                 400, "invalid_input", ["limit"])


@pytest.mark.parametrize("body, why", [
    ("", "1 to 500"), (" \n\t ", "1 to 500"), ("x" * 501, "1 to 500"), ("bell\x07", "control characters"),
    ("nul\x00", "control characters"), (5, "must be a string"), (None, "must not be null"),
    (["hi"], "must be a string"),
])
def test_a_bad_body_is_400_and_stores_nothing(chat_app, people, make_tournament, db_engine, body, why):
    tournament_id = make_tournament()
    error = assert_error(post(chat_app, people, "ana", tournament_id, body), 400, "invalid_input", ["body"])
    assert why in error["fields"]["body"]
    assert stored(db_engine, tournament_id) == []


def test_the_longest_message_fits_and_unknown_or_missing_fields_are_refused(chat_app, people, make_tournament,
                                                                            db_engine):
    tournament_id = make_tournament()
    assert ok(post(chat_app, people, "ana", tournament_id, "é" * 500), 201)["body"] == "é" * 500
    client = chat_app.test_client()
    path = f"/api/v1/tournaments/{tournament_id}/chat"
    assert_error(send(client, "POST", path, {}, headers=people["bob"]["headers"]), 400, "invalid_input", ["body"])
    assert_error(send(client, "POST", path, {"body": "hi", "author": "admin"}, headers=people["bob"]["headers"]),
                 400, "invalid_input", ["author"])
    assert len(stored(db_engine, tournament_id)) == 1


def test_who_may_post_where(chat_app, people, make_tournament, db_engine):
    tournament_id = make_tournament()
    assert_error(post(chat_app, people, "anonymous", tournament_id, "hello"), 401, "unauthorized")
    assert_error(post(chat_app, people, "ana", "t_nosuchthing", "hello"), 404, "tournament_not_found")
    draft = make_tournament("DRAFT")
    assert_error(post(chat_app, people, "ana", draft, "hello"), 404, "tournament_not_found")  # another's draft
    error = assert_error(post(chat_app, people, "organizer", draft, "hello"), 409, "illegal_state")
    assert error["fields"]["state"] == "DRAFT"
    for state in ("ARCHIVED", "CANCELLED"):
        ended = make_tournament(state)
        error = assert_error(post(chat_app, people, "ana", ended, "hello"), 409, "illegal_state")
        assert error["fields"] == {"action": "post_chat_message", "state": state}
        assert "from state " + state in error["message"]
        assert stored(db_engine, ended) == []
    assert ok(post(chat_app, people, "ana", make_tournament("COMPLETED"), "gg"), 201)["seq"] == 1


def test_a_cookie_session_needs_its_csrf_header_to_post(chat_app, people, make_tournament, db_engine):
    tournament_id = make_tournament()
    client = chat_app.test_client()
    login = ok(send(client, "POST", "/api/v1/auth/login",
                    {"username": people["ana"]["username"], "password": "correct horse battery"}))
    path = f"/api/v1/tournaments/{tournament_id}/chat"
    assert_error(send(client, "POST", path, {"body": "hi"}), 403, "csrf_failed")
    assert stored(db_engine, tournament_id) == []
    ok(send(client, "POST", path, {"body": "hi"}, headers={"X-CSRF-Token": login["csrf_token"]}), 201)


def test_posting_is_rate_limited_per_user_per_tournament(chat_app, people, make_tournament, db_engine):
    tournament_id, other = make_tournament(), make_tournament()
    for n in range(RATE):
        ok(post(chat_app, people, "ana", tournament_id, f"spam {n}"), 201)
    response = post(chat_app, people, "ana", tournament_id, "one more")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW
    assert [row["body"] for row in stored(db_engine, tournament_id)] == [f"spam {n}" for n in range(RATE)]
    ok(post(chat_app, people, "bob", tournament_id, "my turn"), 201)  # another user
    ok(post(chat_app, people, "ana", other, "elsewhere"), 201)  # another tournament


# ---- deleting -----------------------------------------------------------------------------------

def test_only_the_organizer_or_an_admin_deletes_and_the_text_is_gone_for_everyone(chat_app, people, make_tournament,
                                                                                   db_engine, chat_channel):
    tournament_id = make_tournament("ACTIVE")
    for who in ("ana", "bob", "ana"):
        ok(post(chat_app, people, who, tournament_id, f"rude words from {who}"), 201)
    assert_error(delete(chat_app, people, "anonymous", tournament_id, 1), 401)
    assert_error(delete(chat_app, people, "ana", tournament_id, 1), 403, "forbidden")  # her own, but not hers to delete
    assert_error(delete(chat_app, people, "bob", tournament_id, 1), 403, "forbidden")
    assert all(row["body"] for row in stored(db_engine, tournament_id))

    published = chat_channel(tournament_id)
    assert delete(chat_app, people, "organizer", tournament_id, 1).status_code == 204
    deletion = json.loads(published())
    assert deletion["type"] == "chat_message_deleted" and deletion["message_seq"] == 1 and deletion["seq"] == 4
    assert delete(chat_app, people, "admin", tournament_id, 2).status_code == 204

    rows = stored(db_engine, tournament_id)
    assert [(r["seq"], r["type"]) for r in rows] == [(1, "chat_message"), (2, "chat_message"), (3, "chat_message"),
                                                     (4, "chat_message_deleted"), (5, "chat_message_deleted")]
    for row in rows[:2]:
        assert row["body"] is None and row["deleted_at"] is not None
        assert "rude" not in row["payload"] and json.loads(row["payload"])["deleted"] is True
    assert rows[3]["author_id"] == people["organizer"]["id"] and rows[4]["author_id"] == people["admin"]["id"]
    assert [m["seq"] for m in history(chat_app, tournament_id)["items"]] == [3]

    assert_error(delete(chat_app, people, "organizer", tournament_id, 1), 404, "chat_message_not_found")  # again
    for seq in (4, 99, 0, 2 ** 70):  # a deletion event, nothing, out of range
        assert_error(delete(chat_app, people, "organizer", tournament_id, seq), 404)
    assert len(stored(db_engine, tournament_id)) == 5


def test_an_ended_tournaments_chat_can_still_be_cleaned_up(chat_app, people, make_tournament, db_engine):
    tournament_id = make_tournament()
    ok(post(chat_app, people, "ana", tournament_id, "bad"), 201)
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE tournaments SET state = 'CANCELLED' WHERE id = :id"), {"id": tournament_id})
    assert delete(chat_app, people, "organizer", tournament_id, 1).status_code == 204
    assert history(chat_app, tournament_id)["items"] == []


# ---- the live feed ------------------------------------------------------------------------------

class ChatStream:
    """The chat's SSE stream, read in this process by a thread of its own (a streaming response
    keeps its request context pushed where it runs); `frames(n)` waits for the next n events."""

    def __init__(self, app, tournament_id, last_event_id=None):
        self.app, self.tournament_id, self.last_event_id = app, tournament_id, last_event_id
        self.events = queue.Queue()
        self.stop = threading.Event()
        self.status = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        assert self.status.get(timeout=10) == 200

    def _read(self):
        headers = {} if self.last_event_id is None else {"Last-Event-ID": str(self.last_event_id)}
        response = self.app.test_client().get(f"/api/v1/events/tournaments/{self.tournament_id}/chat",
                                              headers=headers, buffered=False)
        self.status.put(response.status_code)
        try:
            for chunk in response.response:
                for frame in chunk.decode().split("\n\n"):
                    fields = dict(line.split(": ", 1) for line in frame.split("\n")
                                  if line and not line.startswith(":"))
                    if fields:
                        self.events.put((int(fields["id"]), fields["event"], json.loads(fields["data"])))
                if self.stop.is_set():
                    return
        finally:
            response.close()

    def frames(self, count, timeout=10):
        return [self.events.get(timeout=timeout) for _ in range(count)]

    def close(self):
        self.stop.set()  # the reader ends at its next heartbeat (1 s)
        self.reader.join(timeout=5)


def test_the_feed_replays_after_last_event_id_then_follows_live_deletions_included(chat_app, people,
                                                                                    make_tournament):
    tournament_id = make_tournament()
    for n in (1, 2, 3):
        ok(post(chat_app, people, "ana" if n % 2 else "bob", tournament_id, f"hello {n}"), 201)
    assert delete(chat_app, people, "organizer", tournament_id, 2).status_code == 204
    stream = ChatStream(chat_app, tournament_id, last_event_id=1)
    try:
        replayed = stream.frames(3)
        assert [(seq, kind) for seq, kind, _data in replayed] == [
            (2, "chat_message"), (3, "chat_message"), (4, "chat_message_deleted")]
        assert replayed[0][2]["deleted"] is True and "body" not in replayed[0][2]  # replays without its text
        assert replayed[1][2]["body"] == "hello 3" and replayed[2][2]["message_seq"] == 2
        # Live, through Redis and the relay's check against the table.
        ok(post(chat_app, people, "bob", tournament_id, "live one"), 201)
        assert delete(chat_app, people, "admin", tournament_id, 5).status_code == 204
        live = stream.frames(2)
        assert [(seq, kind) for seq, kind, _data in live] == [(5, "chat_message"), (6, "chat_message_deleted")]
        assert live[0][2]["body"] == "live one" and live[1][2]["message_seq"] == 5
    finally:
        stream.close()


def test_the_feed_of_an_unknown_tournament_or_anothers_draft_is_404(chat_app, people, make_tournament):
    client = chat_app.test_client()
    assert_error(client.get("/api/v1/events/tournaments/t_nosuchthing/chat"), 404, "tournament_not_found")
    draft = make_tournament("DRAFT")
    assert_error(client.get(f"/api/v1/events/tournaments/{draft}/chat", headers=people["ana"]["headers"]), 404)
    assert_error(client.get(f"/api/v1/events/tournaments/{draft}/chat",
                            headers={"Last-Event-ID": "x", **people["organizer"]["headers"]}), 400)
