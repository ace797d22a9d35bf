"""A user captains at most one team per tournament (a captain of both sides of a match would decide
it alone); the organizer enters teams for others, naming their captain or none.

Against a tournament server in this process, with identities signed as the gateway signs them.
"""
import pytest
import sqlalchemy as sa

from shared.db.tables import tournament_events
from tests.auth.helpers import ORGANIZER, error_of, expect, signed

TEAMS = "/api/teams"
ALICE = {"id": 501, "username": "alice"}
BOB = {"id": 502, "username": "bob"}


@pytest.fixture
def server(make_tournament_server):
    return make_tournament_server(organizer_id=ORGANIZER["id"])


def register(server, body, user=ORGANIZER, roles=("organizer",)):
    return server.test_client().post(TEAMS, json=body, headers=signed(server, "POST", TEAMS, user, roles))


def as_player(server, body, user):
    return register(server, body, user, ())


def stored_events(server, db_engine):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tournament_events).where(
            tournament_events.c.tournament_id == server.config["TOURNAMENT_ID"])).scalar()


def teams(server):
    return expect(server.test_client().get(TEAMS), 200)["items"]


def test_a_user_cannot_captain_a_second_team(server, db_engine):
    first = expect(as_player(server, {"name": "Alpha"}, ALICE), 201)
    assert first["captain"] == ALICE["id"]
    before = stored_events(server, db_engine)
    error = error_of(as_player(server, {"name": "Also Alpha"}, ALICE), 409, "already_captain")
    assert first["id"] in error["message"] and "Alpha" in error["message"], error
    assert error["fields"] == {"captain": f"already captains {first['id']}"}
    assert stored_events(server, db_engine) == before
    assert [t["name"] for t in teams(server)] == ["Alpha"]


def test_the_organizer_enters_teams_for_others_without_captaining_them(server):
    for name in ("House One", "House Two", "House Three"):
        assert expect(register(server, {"name": name}), 201)["captain"] is None
    assert expect(register(server, {"name": "House Four", "captain": None}), 201)["captain"] is None


def test_the_organizer_names_a_captain_once_per_user(server):
    team = expect(register(server, {"name": "Bobs", "captain": BOB["id"]}), 201)
    assert team["captain"] == BOB["id"]
    error_of(register(server, {"name": "More Bobs", "captain": BOB["id"]}), 409, "already_captain")
    error_of(as_player(server, {"name": "Bob's own"}, BOB), 409, "already_captain")
    # The organizer may captain one team of their own, like anyone.
    assert expect(register(server, {"name": "Organizers", "captain": ORGANIZER["id"]}), 201)["captain"] == ORGANIZER["id"]
    error_of(register(server, {"name": "Organizers B", "captain": ORGANIZER["id"]}), 409, "already_captain")


def test_only_the_organizer_names_someone_else_as_captain(server):
    error_of(as_player(server, {"name": "Framed", "captain": BOB["id"]}, ALICE), 403, "forbidden")
    assert teams(server) == []
    assert expect(as_player(server, {"name": "Mine", "captain": ALICE["id"]}, ALICE), 201)["captain"] == ALICE["id"]


@pytest.mark.parametrize("captain", ["me", 0, -1, 1.5, True, 2**31])
def test_a_captain_that_is_not_a_user_id_is_400(server, captain):
    error = error_of(register(server, {"name": "Odd", "captain": captain}), 400, "invalid_input")
    assert "captain" in error["fields"]


def test_after_unregistering_its_team_a_user_may_captain_another(server):
    team = expect(as_player(server, {"name": "First try"}, ALICE), 201)
    client = server.test_client()
    path = f"{TEAMS}/{team['id']}"
    expect(client.delete(path, headers=signed(server, "DELETE", path, ALICE, ())), 204)
    assert expect(as_player(server, {"name": "Second try"}, ALICE), 201)["captain"] == ALICE["id"]


def test_one_team_per_tournament_not_per_platform(make_tournament_server):
    for _ in range(2):
        server = make_tournament_server(organizer_id=ORGANIZER["id"])
        expect(as_player(server, {"name": "Alpha"}, ALICE), 201)
