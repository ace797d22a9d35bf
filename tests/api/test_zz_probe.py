import json
import pytest
from tests.api.helpers import send

BASE = "/api/v1/tournaments"

RAW = {
    "surrogate-value": '{"name": "A\\ud800", "game": "chess"}',
    "surrogate-key": '{"name": "A", "game": "chess", "\\udc00": 1}',
    "nul-escaped": '{"name": "A\\u0000", "game": "chess"}',
    "nan": '{"name": "A", "game": "chess", "max_teams": NaN}',
    "inf-option": '{"name": "A", "game": "chess", "format": "round_robin", "points": {"win": Infinity, "draw": 1, "loss": 0}}',
    "nan-unknown": '{"name": "A", "game": "chess", "x": NaN}',
    "nested-50": '{"name": "A", "game": "chess", "x": ' + "[" * 50 + "]" * 50 + "}",
    "dup-keys": '{"name": "A", "name": "B", "game": "chess"}',
    "date-10000": '{"name": "A", "game": "chess", "starts_at": "9999-12-31T23:59:59-01:00"}',
    "date-0001": '{"name": "A", "game": "chess", "starts_at": "0001-01-01T00:00:00+01:00"}',
    "desc-surrogate": '{"name": "A", "game": "chess", "description": "x\\udfff"}',
    "big-int": '{"name": "A", "game": "chess", "max_teams": ' + "9" * 5000 + "}",
}

@pytest.mark.parametrize("key", list(RAW))
def test_probe_create(bearer_client, key):
    r = send(bearer_client, "POST", BASE, raw=RAW[key])
    print("\nPROBE create", key, r.status_code, r.get_data(as_text=True)[:200])

@pytest.mark.parametrize("path", [
    BASE + "/t_%ED%A0%80", BASE + "/%ff", BASE + "/t_x%00", "/t/t_%00x/api/state", "/t/%ff/api/state",
    "/api/v1/events/tournaments/%ff", "/api/v1/subscriptions/%00", "/api/v1/events/user/99999999999999999999",
    "/api/v1/auth/tokens/99999999999999999999999"])
def test_probe_paths(bearer_client, path):
    r = bearer_client.get(path) if "subscriptions" not in path and "tokens" not in path else bearer_client.delete(path)
    print("\nPROBE path", path, r.status_code, r.get_data(as_text=True)[:200])

@pytest.mark.parametrize("q", [{"cursor": "\udc00"}, {"cursor": "%00"}, {"game": "a\x00"}, {"cursor": "AAAA"*50},
   {"cursor": "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTAxOjAwIiwgInQiXQ"}, {"limit": "1"*30}, {"state": "\x00"}])
def test_probe_query(bearer_client, q):
    r = bearer_client.get(BASE, query_string=q)
    print("\nPROBE query", q, r.status_code, r.get_data(as_text=True)[:200])

@pytest.mark.parametrize("h", ["\udc00", "1\x00", "99999999999999999999999999", "١٢", " 5", "5 ", "+5", "0"*5000])
def test_probe_lei(bearer_client, h):
    try:
        r = bearer_client.get("/api/v1/events/global", headers={"Last-Event-ID": h}, buffered=False)
        print("\nPROBE lei", repr(h[:10]), r.status_code, r.status_code != 200 and r.get_data(as_text=True)[:200])
        r.close()
    except Exception as e:
        print("\nPROBE lei", repr(h[:10]), "EXC", e)

@pytest.mark.parametrize("body", ['{"tournament_id": "t_\\ud800"}', '{"tournament_id": "t_\\u0000"}', '{"tournament_id": "t_ x"}'])
def test_probe_subscribe(bearer_client, body):
    r = send(bearer_client, "POST", "/api/v1/subscriptions", raw=body)
    print("\nPROBE sub", body, r.status_code, r.get_data(as_text=True)[:200])

@pytest.mark.parametrize("body", ['{"username": "ab\\ud800c", "password": "x"*10}', '{"username": "abc", "password": "passw\\ud800rd1"}', '{"username": "abc\\u0000", "password": "password1"}'])
def test_probe_auth(app, body):
    c = app.test_client()
    for ep in ("register", "login"):
        r = send(c, "POST", "/api/v1/auth/" + ep, raw=body.replace('"x"*10', '"xxxxxxxxxx"'))
        print("\nPROBE auth", ep, body, r.status_code, r.get_data(as_text=True)[:200])

TS = {
    "surrogate": '{"name": "A\\ud800"}',
    "players-surrogate": '{"name": "A", "players": ["\\udc00"]}',
    "nan-seed": '{"name": "A", "seed": NaN}',
    "nested": '{"name": "A", "players": ' + "[" * 50 + "]" * 50 + "}",
    "surrogate-key": '{"name": "A", "\\ud800": 1}',
}

@pytest.mark.parametrize("key", list(TS))
def test_probe_ts(tournament_client, key):
    r = send(tournament_client, "POST", "/api/teams", raw=TS[key])
    print("\nPROBE ts", key, r.status_code, r.get_data(as_text=True)[:200])

@pytest.mark.parametrize("path", ["/api/teams/%ED%A0%80", "/api/teams/%00", "/api/matches/%ff/result", "/api/teams/" + "x"*5000])
def test_probe_ts_path(tournament_client, path):
    r = send(tournament_client, "DELETE" if path.count("/") == 3 else "POST", path, body={"winner": "x"})
    print("\nPROBE tspath", path[:40], r.status_code, r.get_data(as_text=True)[:200])

@pytest.mark.parametrize("h", ["\udc00", "1\x00", "99999999999999999999999999"])
def test_probe_ts_lei(tournament_client, h):
    try:
        r = tournament_client.get("/api/events", headers={"Last-Event-ID": h}, buffered=False)
        print("\nPROBE tslei", repr(h[:10]), r.status_code, r.status_code != 200 and r.get_data(as_text=True)[:200])
        r.close()
    except Exception as e:
        print("\nPROBE tslei", repr(h[:10]), "EXC", e)

def test_probe_ts_match_q(tournament_client):
    for q in ["round=%00", "status=%ED%A0%80", "round=99999999999"]:
        r = tournament_client.get("/api/matches?" + q)
        print("\nPROBE tsq", q, r.status_code, r.get_data(as_text=True)[:200])
