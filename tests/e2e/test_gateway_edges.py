"""The gateway in front of a real orchestrator and its spawned server: redirects, request bodies,
server-internal paths. What a client sends is forwarded as the server would route it, and nothing
the gateway answers names the server's private address or the Host the client sent."""
import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok


@pytest.fixture
def served(orchestrator, database_url):
    """(orchestrator, tournament id, the server's private host:port) of a REGISTRATION tournament."""
    tid = make_tournament(orchestrator.api, "REGISTRATION", teams=0, max_teams=8)["id"]
    _pid, host, port = server_of(database_url, tid)
    return orchestrator, tid, f"{host}:{port}"


def raw_request(base_url, method, path, headers=None, body_chunks=None):
    """One request on a raw connection (no client-side path cleaning); (status, headers, body)."""
    address = urlsplit(base_url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}))
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body_chunks is not None:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for chunk in body_chunks or ():
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if body_chunks is not None:
            conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_no_redirect_names_the_servers_address_or_the_callers_host(served):
    orchestrator, tid, private = served
    for path in (f"/t/{tid}", f"/t/{tid}//api/state", f"/t/{tid}/api//state", f"/t/{tid}/./api/state",
                 f"/t/{tid}/api/../api/state", "//api/v1/tournaments"):
        status, headers, body = raw_request(orchestrator.url, "GET", path, {"Host": "attacker.example"})
        location = headers.get("Location", "")
        assert "attacker.example" not in location and private not in location, (path, status, location)
        assert private.encode() not in body, path
        if 300 <= status < 400:
            assert location.startswith("/") and not location.startswith("//"), (path, location)  # relative
        else:
            # 400: the gateway refuses dot segments and empty segments outright.
            assert status in (200, 400, 404), (path, status, body[:300])


def test_the_server_only_ever_redirects_to_gateway_paths():
    from orchestrator.gateway import _gateway_location

    assert _gateway_location("t_a", "http://127.0.0.1:6003/api/state?x=1") == "/t/t_a/api/state?x=1"
    assert _gateway_location("t_a", "//evil.example/api/teams") == "/t/t_a/api/teams"
    assert _gateway_location("t_a", "/api/../../state") == "/t/t_a/state"
    assert _gateway_location("t_a", "teams") == "teams"


def test_a_chunked_body_is_forwarded_and_the_size_limit_still_holds(served):
    orchestrator, tid, _private = served
    auth = {"Authorization": orchestrator.api.session.headers["Authorization"], "Content-Type": "application/json"}
    body = json.dumps({"name": "Chunked Crew"}).encode()
    status, _headers, answer = raw_request(orchestrator.url, "POST", f"/t/{tid}/api/teams", auth,
                                           body_chunks=[body[:7], body[7:]])
    assert status == 201, answer[:300]
    assert json.loads(answer)["name"] == "Chunked Crew"
    # 64 KiB is the limit: a bigger chunked body is refused before anything reaches the server.
    huge = json.dumps({"name": "Huge", "players": ["x" * 50] * 2000}).encode()
    status, _headers, answer = raw_request(orchestrator.url, "POST", f"/t/{tid}/api/teams", auth,
                                           body_chunks=[huge[i:i + 8192] for i in range(0, len(huge), 8192)])
    assert status == 413, answer[:300]
    assert json.loads(answer)["error"]["code"]
    names = [t["name"] for t in ok(orchestrator.api.get(f"/t/{tid}/api/teams"))["items"]]
    assert names == ["Chunked Crew"]


def test_the_servers_health_answer_is_not_reachable_through_the_gateway(served):
    orchestrator, tid, private = served
    assert requests.get(f"http://{private}/api/health", timeout=10).json()["token"]  # it is there, privately
    for path in ("api/health", "api//health", "./api/health", "api/teams/../health", "api/%68ealth",
                 "api/health%3Fx=1", "api/health%23", "api/health%2F"):
        for method in ("GET", "HEAD"):
            status, headers, body = raw_request(orchestrator.url, method, f"/t/{tid}/{path}")
            assert b"token" not in body, path
            assert status in (400, 404) or (300 <= status < 400 and "health" in headers.get("Location", "")), \
                (path, method, status, body[:300])
