"""A draft is its organizer's: only they and admins can read, list and subscribe to it. Anyone else
gets the same 404 as for an id that does not exist, and lists leave it out. Once published it is
everyone's to read.

The orchestrator runs in this process (`app`, tests/conftest.py); callers use Bearer tokens.
"""
import pytest
import sqlalchemy as sa

from shared.db.tables import users
from tests.auth.helpers import bearer, error_of, expect, login, register, send, unique

BASE = "/api/v1/tournaments"


@pytest.fixture
def people(app, client, db_engine):
    """Bearer headers of an organizer, another user, and an admin (or None: anonymous)."""
    names = {role: unique(role) for role in ("organizer", "other", "admin")}
    for name in names.values():
        register(client, name)
    with db_engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.username_key == names["admin"].lower()).values(is_admin=True))
    found = {role: bearer(login(client, name)["token"]) for role, name in names.items()}
    return {**found, "anonymous": None}


def create_draft(app, people, game):
    return expect(send(app.test_client(), "POST", BASE, {"name": "Secret Cup", "game": game, "max_teams": 4},
                       headers=people["organizer"]), 201)


def listed_ids(app, headers, **query):
    return [t["id"] for t in expect(app.test_client().get(BASE, query_string={"limit": 100, **query},
                                                          headers=headers), 200)["items"]]


@pytest.mark.parametrize("who", ["other", "anonymous"])
def test_someone_elses_draft_is_404_everywhere(app, people, who):
    draft = create_draft(app, people, unique("game"))
    tid, headers = draft["id"], people[who]
    unknown = error_of(app.test_client().get(f"{BASE}/t_0000000000", headers=headers), 404)
    for path in (f"{BASE}/{tid}", f"{BASE}/{tid}/teams", f"/t/{tid}/api/state", f"/t/{tid}/api/teams",
                 f"/api/v1/events/tournaments/{tid}"):
        error = error_of(app.test_client().get(path, headers=headers), 404)
        assert error["code"] == unknown["code"], (path, error)
    if who == "other":
        for method, path, body in [("PATCH", f"{BASE}/{tid}", {"name": "Mine now"}), ("DELETE", f"{BASE}/{tid}", None),
                                   ("POST", f"{BASE}/{tid}/publish", None), ("POST", f"{BASE}/{tid}/cancel", None),
                                   ("POST", f"{BASE}/{tid}/teams", {"name": "Gatecrashers"}),
                                   ("POST", "/api/v1/subscriptions", {"tournament_id": tid})]:
            error_of(send(app.test_client(), method, path, body, headers=headers), 404)
        assert expect(app.test_client().get("/api/v1/subscriptions", headers=headers), 200)["items"] == []
    assert expect(app.test_client().get(f"{BASE}/{tid}", headers=people["organizer"]), 200) == draft


@pytest.mark.parametrize("who", ["other", "anonymous"])
def test_lists_leave_out_someone_elses_drafts(app, people, who):
    game = unique("game")
    draft = create_draft(app, people, game)
    assert listed_ids(app, people[who], game=game) == []
    assert draft["id"] not in listed_ids(app, people[who], state="DRAFT")


def test_the_organizer_and_admins_read_list_and_subscribe_to_a_draft(app, people):
    game = unique("game")
    draft = create_draft(app, people, game)
    tid = draft["id"]
    for who in ("organizer", "admin"):
        headers = people[who]
        assert expect(app.test_client().get(f"{BASE}/{tid}", headers=headers), 200)["id"] == tid
        assert listed_ids(app, headers, game=game) == [tid]
        assert tid in listed_ids(app, headers, state="DRAFT")
        expect(send(app.test_client(), "POST", "/api/v1/subscriptions", {"tournament_id": tid}, headers=headers), 201)


def test_the_draft_filter_gives_an_organizer_their_own_drafts_only(app, people, client):
    game = unique("game")
    mine = create_draft(app, people, game)
    theirs = expect(send(app.test_client(), "POST", BASE, {"name": "Their Cup", "game": game},
                         headers=people["other"]), 201)
    assert listed_ids(app, people["organizer"], game=game, state="DRAFT") == [mine["id"]]
    assert listed_ids(app, people["other"], game=game, state="DRAFT") == [theirs["id"]]
    assert listed_ids(app, people["admin"], game=game, state="DRAFT") == [theirs["id"], mine["id"]]


def test_a_published_tournament_is_everyones_to_read(app, people):
    game = unique("game")
    tid = create_draft(app, people, game)["id"]
    expect(send(app.test_client(), "POST", f"{BASE}/{tid}/publish", headers=people["organizer"]), 200)
    try:
        for who in ("other", "anonymous"):
            assert expect(app.test_client().get(f"{BASE}/{tid}", headers=people[who]), 200)["state"] == "REGISTRATION"
            assert listed_ids(app, people[who], game=game) == [tid]
        # Not the organizer's to change for anyone else: 403 now that it is public.
        error_of(send(app.test_client(), "POST", f"{BASE}/{tid}/cancel", headers=people["other"]), 403)
    finally:
        expect(send(app.test_client(), "POST", f"{BASE}/{tid}/cancel", headers=people["organizer"]), 200)
