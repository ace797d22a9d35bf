"""Who may do what: every endpoint x {anonymous, viewer, captain of this match, captain of another team,
organizer, admin} -> the expected status, through one real orchestrator process (and its gateway to the
real tournament servers it spawns), started once for this module.

Actors: the organizer created every tournament used here (and entered its house teams, which have no
captain); the admin was made one with `python run.py create-admin`; captain_this registered the team in
the match or the team acted on (and captain_opponent the other side of that match); captain_other
registered a team of the same tournament that is not in it; the viewer is logged in and has nothing to do
with it. A user captains at most one team per tournament, so rows that use a match up get a tournament of
their own. A refused row also checks that nothing changed. Someone else's draft is 404, as if it did not
exist.
"""
import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.auth.helpers import unique
from tests.support.api import Api, ok
from tests.support.processes import ROOT, Proc, free_port, server_ports, wait_http

ACTORS = ("anonymous", "viewer", "captain_this", "captain_other", "organizer", "admin")
BASE = "/api/v1/tournaments"


@dataclass
class World:
    url: str
    actors: dict
    served: list = field(default_factory=list)  # tournaments whose servers we started
    _cache: dict = field(default_factory=dict)

    @property
    def organizer(self):
        return self.actors["organizer"]

    def id_of(self, actor):
        return self.actors[actor].user["id"] if self.actors[actor].user else None

    # -- builders: the organizer brings tournaments to the phase a row needs --------------------

    def draft(self, **fields):
        return ok(self.organizer.post(BASE, {"name": "Matrix Cup", "game": "matrix", **fields}), 201)

    def published(self, max_teams=4):
        tournament = self.draft(max_teams=max_teams)
        self.served.append(tournament["id"])
        return ok(self.organizer.post(f"{BASE}/{tournament['id']}/publish"))

    def registration(self):
        """A REGISTRATION tournament shared by the rows that don't use it up: captain_other's team
        and the organizer's are in it."""
        if "registration" not in self._cache:
            tid = self.published(max_teams=64)["id"]
            ok(self.actors["captain_other"].post(f"/t/{tid}/api/teams", {"name": "Other's team"}), 201)
            ok(self.organizer.post(f"/t/{tid}/api/teams", {"name": "House team"}), 201)
            self._cache["registration"] = tid
        return self._cache["registration"]

    def ready_to_start(self):
        tid = self.published(max_teams=2)["id"]
        for name in ("One", "Two"):
            ok(self.organizer.post(f"/t/{tid}/api/teams", {"name": name}), 201)
        return tid

    def completed(self):
        tid = self.ready_to_start()
        ok(self.organizer.post(f"/t/{tid}/api/start"))
        final = ok(self.organizer.get(f"/t/{tid}/api/matches"))["items"][0]
        ok(self.organizer.post(f"/t/{tid}/api/matches/{final['id']}/result", {"winner": final["team1_id"]}))
        assert ok(self.organizer.get(f"/t/{tid}/api/state"))["state"] == "COMPLETED"
        return tid

    def shared_completed(self):
        if "completed" not in self._cache:
            self._cache["completed"] = self.completed()
        return self._cache["completed"]

    def active(self):
        """An ACTIVE 4-team tournament: seed 1 is captain_this's, 4 captain_opponent's (they meet in
        round 1: the match the refused rows all try), 2 captain_other's, 3 a house team."""
        if "active" not in self._cache:
            tid = self.published(max_teams=4)["id"]
            for seed, actor in ((1, "captain_this"), (2, "captain_other"), (3, "organizer"), (4, "captain_opponent")):
                ok(self.actors[actor].post(f"/t/{tid}/api/teams", {"name": f"Seed {seed}", "seed": seed}), 201)
            ok(self.organizer.post(f"/t/{tid}/api/start"))
            captains = {t["id"]: t["captain"] for t in ok(self.organizer.get(f"/t/{tid}/api/teams"))["items"]}
            this, opponent = self.id_of("captain_this"), self.id_of("captain_opponent")
            refused = next(m for m in ok(self.organizer.get(f"/t/{tid}/api/matches"))["items"]
                           if {captains[m["team1_id"]], captains[m["team2_id"]]} == {this, opponent})
            self._cache["active"] = {"id": tid, "refused": refused}
        return self._cache["active"]

    def captains_match(self):
        """A fresh ACTIVE two-team event: captain_this's team against captain_opponent's."""
        tid = self.published(max_teams=2)["id"]
        for actor in ("captain_this", "captain_opponent"):
            ok(self.actors[actor].post(f"/t/{tid}/api/teams", {"name": actor}), 201)
        ok(self.organizer.post(f"/t/{tid}/api/start"))
        return tid, ok(self.organizer.get(f"/t/{tid}/api/matches"))["items"][0]

    def house_match(self):
        """An open match of an ACTIVE 8-team event of house teams, used up by the caller."""
        if "house" not in self._cache:
            tid = self.published(max_teams=8)["id"]
            for number in range(8):
                ok(self.organizer.post(f"/t/{tid}/api/teams", {"name": f"House {number}"}), 201)
            ok(self.organizer.post(f"/t/{tid}/api/start"))
            self._cache["house"] = (tid, ok(self.organizer.get(f"/t/{tid}/api/matches"))["items"])
        tid, pool = self._cache["house"]
        return tid, pool.pop(0)

    def register_target(self, prefix):
        """A REGISTRATION tournament of its own for each registering endpoint: every actor registers
        once there."""
        key = f"register {prefix}"
        if key not in self._cache:
            self._cache[key] = self.published(max_teams=64)["id"]
        return self._cache[key]

    def new_team_of_captain_this(self, tid):
        """captain_this's team in `tid`, registered afresh (the organizer first removes one left over
        from an earlier row: one team per captain)."""
        for team in ok(self.organizer.get(f"/t/{tid}/api/teams"))["items"]:
            if team["captain"] == self.id_of("captain_this"):
                ok(self.organizer.delete(f"/t/{tid}/api/teams/{team['id']}"), 204)
        return ok(self.actors["captain_this"].post(f"/t/{tid}/api/teams", {"name": unique("mine")}), 201)


def start_orchestrator_process(platform_env, log_dir):
    port = free_port()
    low, high = server_ports(80, salt=13)
    env = {**platform_env, "TOURNAMENT_PORTS": f"{low}-{high}"}
    proc = Proc(["orchestrator", "--port", str(port)], env, str(log_dir / "orchestrator.log"))
    wait_http(f"http://127.0.0.1:{port}/healthz", process=proc.process)
    return proc, f"http://127.0.0.1:{port}"


def make_admin(platform_env, username):
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-admin", username], cwd=ROOT,
                          env={**os.environ, **platform_env}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def world(platform_env, tmp_path_factory):
    proc, url = start_orchestrator_process(platform_env, tmp_path_factory.mktemp("matrix"))
    try:
        actors = {"anonymous": Api(url)}
        for actor in ("viewer", "captain_this", "captain_opponent", "captain_other", "organizer", "admin"):
            actors[actor] = Api(url).login(unique(actor.replace("_", "-")))
        make_admin(platform_env, actors["admin"].user["username"])
        assert ok(actors["admin"].get("/api/v1/auth/me"))["user"]["is_admin"] is True
        world = World(url, actors)
        yield world
        # Leave no served tournament behind for an orchestrator started later in the run.
        for tid in world.served:
            state = ok(world.organizer.get(f"{BASE}/{tid}"))["state"]
            if state in ("REGISTRATION", "ACTIVE"):
                world.organizer.post(f"{BASE}/{tid}/cancel")
            elif state == "COMPLETED":
                world.organizer.post(f"{BASE}/{tid}/archive")
    finally:
        proc.stop()


# ---- actions: each sends one request as `api`; `check_unchanged` runs when the row is refused ------

def unchanged(api, path):
    before = ok(api.get(path))

    def check():
        assert ok(api.get(path)) == before, f"{path} changed"
    return check


def a_create(world, api, succeeds):
    game = unique("game")
    response = api.post(BASE, {"name": "Mine", "game": game})

    def check():
        assert ok(world.organizer.get(BASE, params={"game": game}))["items"] == []
    return response, check


def on_a_draft(method, suffix="", body=None):
    def act(world, api, succeeds):
        tid = world.draft()["id"]
        check = unchanged(world.organizer, f"{BASE}/{tid}")
        if method == "POST" and suffix == "/publish" and succeeds:
            world.served.append(tid)
        return api.session.request(method, api.url(f"{BASE}/{tid}{suffix}"), json=body, timeout=30), check
    return act


def a_archive(world, api, succeeds):
    tid = world.completed() if succeeds else world.shared_completed()
    check = unchanged(world.organizer, f"{BASE}/{tid}")
    return api.post(f"{BASE}/{tid}/archive"), check


def a_register(prefix):
    def act(world, api, succeeds):
        tid = world.register_target(prefix)
        check = unchanged(world.organizer, f"/t/{tid}/api/teams")
        return api.post(prefix.format(tid=tid), {"name": unique("team")}), check
    return act


def a_unregister(world, api, succeeds):
    tid = world.registration()
    team = world.new_team_of_captain_this(tid)
    check = unchanged(world.organizer, f"/t/{tid}/api/teams")
    return api.delete(f"/t/{tid}/api/teams/{team['id']}"), check


def a_start(world, api, succeeds):
    tid = world.ready_to_start() if succeeds else world.registration()
    check = unchanged(world.organizer, f"/t/{tid}/api/state")
    return api.post(f"/t/{tid}/api/start"), check


def a_server_command(command):
    """Cancel/archive sent straight to the server through the gateway, where they would be legal."""
    def act(world, api, succeeds):
        tid = world.registration() if command == "cancel" else world.shared_completed()
        check = unchanged(world.organizer, f"/t/{tid}/api/state")
        return api.post(f"/t/{tid}/api/{command}"), check
    return act


def a_result(world, api, succeeds):
    if not succeeds:
        tid, match = world.active()["id"], world.active()["refused"]
    elif api is world.organizer or api is world.actors["admin"]:
        tid, match = world.house_match()
    else:
        tid, match = world.captains_match()
    check = unchanged(world.organizer, f"/t/{tid}/api/matches")
    return api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]}), check


def an_abandon(world, api, succeeds):
    tid, match = world.house_match() if succeeds else (world.active()["id"], world.active()["refused"])
    check = unchanged(world.organizer, f"/t/{tid}/api/matches")
    return api.post(f"/t/{tid}/api/matches/{match['id']}/abandon"), check


def a_disqualify(world, api, succeeds):
    if succeeds:  # a two-team event of its own: the disqualification ends it
        tid = world.ready_to_start()
        ok(world.organizer.post(f"/t/{tid}/api/start"))
        team = ok(world.organizer.get(f"/t/{tid}/api/teams"))["items"][1]
    else:
        tid = world.active()["id"]
        team = {"id": world.active()["refused"]["team2_id"]}
    check = unchanged(world.organizer, f"/t/{tid}/api/teams")
    return api.post(f"/t/{tid}/api/teams/{team['id']}/disqualify"), check


def a_drop(world, api, succeeds):
    """An ACTIVE two-team event of its own, captain_this's team the one to drop."""
    tid = world.published(max_teams=2)["id"]
    ok(world.organizer.post(f"/t/{tid}/api/teams", {"name": "House"}), 201)
    team = ok(world.actors["captain_this"].post(f"/t/{tid}/api/teams", {"name": "Leaving"}), 201)
    ok(world.organizer.post(f"/t/{tid}/api/start"))
    check = unchanged(world.organizer, f"/t/{tid}/api/teams")
    return api.post(f"/t/{tid}/api/teams/{team['id']}/drop"), check


def a_check_in(world, api, succeeds):
    if "check_in" not in world._cache:
        tournament = ok(world.organizer.post(BASE, {"name": "Check-in Cup", "game": "matrix", "max_teams": 64,
                                                    "check_in": True}), 201)
        world.served.append(tournament["id"])
        world._cache["check_in"] = ok(world.organizer.post(f"{BASE}/{tournament['id']}/publish"))["id"]
    tid = world._cache["check_in"]
    team = world.new_team_of_captain_this(tid)
    check = unchanged(world.organizer, f"/t/{tid}/api/teams")
    return api.post(f"/t/{tid}/api/teams/{team['id']}/check-in"), check


def get_stream(api, path):
    """Open an SSE stream and close it at once; a refusal's (finite) body is read first."""
    response = api.session.get(api.url(path), stream=True, timeout=30)
    if response.status_code != 200:
        response.content  # noqa: B018 - reads the error envelope
    response.close()
    return response


def a_get(path_template, stream=False):
    def act(world, api, succeeds):
        path = path_template.format(tid=world.active()["id"])
        return (get_stream(api, path) if stream else api.get(path)), lambda: None
    return act


def a_user_feed(world, api, succeeds):
    return get_stream(api, f"/api/v1/events/user/{world.id_of('captain_this')}"), lambda: None


def a_subscribe(world, api, succeeds):
    tid = world.registration()
    return api.post("/api/v1/subscriptions", {"tournament_id": tid}), lambda: None


def a_list_subscriptions(world, api, succeeds):
    return api.get("/api/v1/subscriptions"), lambda: None


ACTIONS = {
    "POST /api/v1/tournaments": a_create,
    "PATCH /api/v1/tournaments/<id>": on_a_draft("PATCH", body={"name": "Edited"}),
    "DELETE /api/v1/tournaments/<id>": on_a_draft("DELETE"),
    "POST /api/v1/tournaments/<id>/publish": on_a_draft("POST", "/publish"),
    "POST /api/v1/tournaments/<id>/cancel": on_a_draft("POST", "/cancel"),
    "POST /api/v1/tournaments/<id>/archive": a_archive,
    "POST /api/v1/tournaments/<id>/teams": a_register(BASE + "/{tid}/teams"),
    "POST /t/<id>/api/teams": a_register("/t/{tid}/api/teams"),
    "DELETE /t/<id>/api/teams/<team>": a_unregister,
    "POST /t/<id>/api/start": a_start,
    "POST /t/<id>/api/cancel": a_server_command("cancel"),
    "POST /t/<id>/api/archive": a_server_command("archive"),
    "POST /t/<id>/api/matches/<match>/result": a_result,
    "POST /t/<id>/api/matches/<match>/abandon": an_abandon,
    "POST /t/<id>/api/teams/<team>/disqualify": a_disqualify,
    "POST /t/<id>/api/teams/<team>/check-in": a_check_in,
    "POST /t/<id>/api/teams/<team>/drop": a_drop,
    "GET /api/v1/tournaments": a_get(BASE),
    "GET /api/v1/tournaments/<id>": a_get(BASE + "/{tid}"),
    "GET /api/v1/tournaments/<id>/teams": a_get(BASE + "/{tid}/teams"),
    "GET /t/<id>/api/state": a_get("/t/{tid}/api/state"),
    "GET /t/<id>/api/teams": a_get("/t/{tid}/api/teams"),
    "GET /t/<id>/api/matches": a_get("/t/{tid}/api/matches"),
    "GET /t/<id>/api/standings": a_get("/t/{tid}/api/standings"),
    "GET /t/<id>/api/bracket": a_get("/t/{tid}/api/bracket"),
    "GET /api/v1/events/global": a_get("/api/v1/events/global", stream=True),
    "GET /api/v1/events/tournaments/<id>": a_get("/api/v1/events/tournaments/{tid}", stream=True),
    "GET /t/<id>/api/events": a_get("/t/{tid}/api/events", stream=True),
    "GET /api/v1/events/user/<captain_this>": a_user_feed,
    "POST /api/v1/subscriptions": a_subscribe,
    "GET /api/v1/subscriptions": a_list_subscriptions,
}

ORGANIZER_ONLY = dict(anonymous=401, viewer=403, captain_this=403, captain_other=403)
DRAFT_ORGANIZER_ONLY = dict(anonymous=401, viewer=404, captain_this=404, captain_other=404)
ANY_USER = dict(anonymous=401, viewer=201, captain_this=201, captain_other=201, organizer=201, admin=201)
EVERYONE = {actor: 200 for actor in ACTORS}

EXPECTED = {
    "POST /api/v1/tournaments": ANY_USER,
    "PATCH /api/v1/tournaments/<id>": dict(DRAFT_ORGANIZER_ONLY, organizer=200, admin=200),
    "DELETE /api/v1/tournaments/<id>": dict(DRAFT_ORGANIZER_ONLY, organizer=204, admin=204),
    "POST /api/v1/tournaments/<id>/publish": dict(DRAFT_ORGANIZER_ONLY, organizer=200, admin=200),
    "POST /api/v1/tournaments/<id>/cancel": dict(DRAFT_ORGANIZER_ONLY, organizer=200, admin=200),
    "POST /api/v1/tournaments/<id>/archive": dict(ORGANIZER_ONLY, organizer=200, admin=200),
    "POST /api/v1/tournaments/<id>/teams": ANY_USER,
    "POST /t/<id>/api/teams": ANY_USER,
    "DELETE /t/<id>/api/teams/<team>": dict(anonymous=401, viewer=403, captain_this=204, captain_other=403,
                                            organizer=204, admin=204),
    "POST /t/<id>/api/start": dict(ORGANIZER_ONLY, organizer=200, admin=200),
    # Ending a tournament goes through /api/v1 (which stops its server); here only the refusals.
    "POST /t/<id>/api/cancel": ORGANIZER_ONLY,
    "POST /t/<id>/api/archive": ORGANIZER_ONLY,
    "POST /t/<id>/api/matches/<match>/result": dict(anonymous=401, viewer=403, captain_this=200,
                                                    captain_opponent=200, captain_other=403, organizer=200,
                                                    admin=200),
    "POST /t/<id>/api/matches/<match>/abandon": dict(ORGANIZER_ONLY, organizer=200, admin=200),
    "POST /t/<id>/api/teams/<team>/disqualify": dict(ORGANIZER_ONLY, organizer=200, admin=200),
    "POST /t/<id>/api/teams/<team>/drop": dict(anonymous=401, viewer=403, captain_this=200, captain_other=403,
                                               organizer=200, admin=200),
    "POST /t/<id>/api/teams/<team>/check-in": dict(anonymous=401, viewer=403, captain_this=200, captain_other=403,
                                                   organizer=200, admin=200),
    "GET /api/v1/tournaments": EVERYONE,
    "GET /api/v1/tournaments/<id>": EVERYONE,
    "GET /api/v1/tournaments/<id>/teams": EVERYONE,
    "GET /t/<id>/api/state": EVERYONE,
    "GET /t/<id>/api/teams": EVERYONE,
    "GET /t/<id>/api/matches": EVERYONE,
    "GET /t/<id>/api/standings": EVERYONE,
    "GET /t/<id>/api/bracket": EVERYONE,
    "GET /api/v1/events/global": EVERYONE,
    "GET /api/v1/events/tournaments/<id>": EVERYONE,
    "GET /t/<id>/api/events": EVERYONE,
    # A notification feed is its own user's only, admins included.
    "GET /api/v1/events/user/<captain_this>": dict(anonymous=401, viewer=403, captain_this=200,
                                                   captain_other=403, organizer=403, admin=403),
    "POST /api/v1/subscriptions": ANY_USER,
    "GET /api/v1/subscriptions": dict(EVERYONE, anonymous=401),
}

MATRIX = [pytest.param(endpoint, actor, status, id=f"{endpoint} as {actor} -> {status}")
          for endpoint, row in EXPECTED.items() for actor, status in row.items()]


@pytest.mark.parametrize("endpoint, actor, status", MATRIX)
def test_authorization_matrix(world, endpoint, actor, status):
    api = world.actors[actor]
    response, check_unchanged = ACTIONS[endpoint](world, api, status < 300)
    body = response.text[:300] if not response.headers.get("Content-Type", "").startswith("text/event-stream") else ""
    assert response.status_code == status, \
        f"{endpoint} as {actor}: expected {status}, got {response.status_code}: {body}"
    if status >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], error
        check_unchanged()
    elif endpoint in ("POST /api/v1/tournaments/<id>/teams", "POST /t/<id>/api/teams"):
        # The organizer (an admin too) enters teams for others: they have no captain.
        assert response.json()["captain"] == (None if actor in ("organizer", "admin") else world.id_of(actor))
    elif endpoint == "POST /api/v1/tournaments":
        assert response.json()["organizer"] == world.id_of(actor)
    elif "/events/" in endpoint:
        assert response.headers["Content-Type"].startswith("text/event-stream")


def test_the_matrix_names_every_actor_for_every_endpoint():
    """The table itself: no endpoint lacks a row for one of the six actors."""
    for endpoint, row in EXPECTED.items():
        missing = set(ACTORS) - set(row)
        if endpoint in ("POST /t/<id>/api/cancel", "POST /t/<id>/api/archive"):
            missing -= {"organizer", "admin"}
        assert not missing, f"{endpoint}: no row for {missing}"
    assert set(EXPECTED) == set(ACTIONS)


# ---- authentication and rights come before the state --------------------------------------------

ORDER_CASES = [
    pytest.param("anonymous", "/api/v1/tournaments/{reg}/archive", 401, id="orchestrator archive anonymous"),
    pytest.param("viewer", "/api/v1/tournaments/{reg}/archive", 403, id="orchestrator archive viewer"),
    pytest.param("anonymous", "/t/{reg}/api/archive", 401, id="gateway archive anonymous"),
    pytest.param("viewer", "/t/{reg}/api/archive", 403, id="gateway archive viewer"),
    pytest.param("captain_other", "/t/{active}/api/start", 403, id="gateway start captain_other"),
    pytest.param("anonymous", "/t/{active}/api/teams", 401, id="gateway register anonymous"),
]


@pytest.mark.parametrize("actor, path, status", ORDER_CASES)
def test_a_write_the_state_forbids_anyway_is_still_refused_for_lack_of_rights(world, actor, path, status):
    """Writes without authentication are 401 and with the wrong role 403, whatever the state: the same
    answer through the orchestrator's API and through the gateway (issue 3, "Accounts and permissions")."""
    path = path.format(reg=world.registration(), active=world.active()["id"])
    api = world.actors[actor]
    response = api.post(path, {"name": "Late"} if path.endswith("/teams") else None)
    assert response.status_code == status, \
        f"POST {path} as {actor}: expected {status}, got {response.status_code}: {response.text[:300]}"
