"""A thin HTTP client for the orchestrator API and factories that bring a tournament to a phase."""
import requests


PASSWORD = "correct horse battery"


class Api:
    """HTTP to one orchestrator, as one user (after `login`) or anonymously."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.user = None

    def login(self, username, password=PASSWORD, register=True):
        """Register `username` (unless told not to), log in, and send its Bearer token from now on."""
        if register:
            ok(self.post("/api/v1/auth/register", {"username": username, "password": password}), 201)
        body = ok(self.post("/api/v1/auth/login", {"username": username, "password": password}))
        self.session.headers["Authorization"] = f"Bearer {body['token']}"
        self.session.cookies.clear()  # a Bearer client sends no cookie
        self.user = body["user"]
        return self

    def feed(self, path, **kw):
        """An SSE client on `path`, sending this user's credentials."""
        from tests.support.sse import SSEClient

        auth = self.session.headers.get("Authorization")
        return SSEClient(self.url(path), headers={"Authorization": auth} if auth else None, **kw)

    def as_user(self, username):
        """Another client of the same orchestrator, logged in as a new user."""
        return Api(self.base).login(username)

    def anonymous(self):
        return Api(self.base)

    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        return self.session.get(self.url(path), timeout=30, **kw)

    def post(self, path, json=None, **kw):
        return self.session.post(self.url(path), json=json, timeout=30, **kw)

    def patch(self, path, json=None, **kw):
        return self.session.patch(self.url(path), json=json, timeout=30, **kw)

    def delete(self, path, **kw):
        return self.session.delete(self.url(path), timeout=30, **kw)


def ok(response, status=200):
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return response.json() if response.content else None


def make_tournament(api, state="DRAFT", teams=8, **fields):
    """A tournament in `state` (DRAFT, REGISTRATION or ACTIVE) with `teams` teams registered."""
    body = {"name": "Test Cup", "game": "chess", "max_teams": max(teams, 2), "min_teams": 2}
    body.update(fields)
    tournament = ok(api.post("/api/v1/tournaments", body), 201)
    if state == "DRAFT":
        return tournament
    tournament = ok(api.post(f"/api/v1/tournaments/{tournament['id']}/publish"))
    gateway = f"/t/{tournament['id']}"
    for number in range(1, teams + 1):
        ok(api.post(f"{gateway}/api/teams", {"name": f"Team {number}"}), 201)
    if state == "ACTIVE":
        ok(api.post(f"{gateway}/api/start"))
    return tournament


def play_round(api, tournament_id, pick=lambda match: match["team1_id"]):
    """Record a result for every pending match of the current round; return the results sent."""
    gateway = f"/t/{tournament_id}"
    pending = ok(api.get(f"{gateway}/api/matches", params={"status": "pending"}))["items"]
    current = min(m["round"] for m in pending)
    sent = []
    for match in [m for m in pending if m["round"] == current]:
        winner = pick(match)
        ok(api.post(f"{gateway}/api/matches/{match['id']}/result", {"winner": winner}))
        sent.append((match["id"], winner))
    return sent
