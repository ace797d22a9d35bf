"""/metrics with real processes: the orchestrator's (gunicorn, multiprocess mode) and a tournament
server's, read with prometheus-client's own parser; each figure must move when what it counts
happens."""
import os
import secrets
import shutil
import signal
import tempfile

import requests
import sqlalchemy as sa
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from shared.db.tables import users
from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until

FAST_RESTARTS = {"RESTART_BACKOFF_BASE": "0.1", "RESTART_BACKOFF_CAP": "0.5", "SUPERVISE_INTERVAL": "0.3"}


def scrape(url, token=None):
    """[(sample name, labels, value)] of a /metrics answer."""
    response = requests.get(url, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=30)
    assert response.status_code == 200, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return [(sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(response.text) for sample in family.samples]


def total(samples, name, **labels):
    """The sum of the `name` samples whose labels include `labels`; None when there is none."""
    values = [value for sample, got, value in samples
              if sample == name and all(got.get(key) == wanted for key, wanted in labels.items())]
    return sum(values) if values else None


def make_admin(database_url, username):
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.username == username).values(is_admin=True))
    engine.dispose()


def test_the_orchestrators_figures_move_with_requests_streams_events_and_the_fleet(start_orchestrator,
                                                                                  database_url):
    orchestrator = start_orchestrator(**FAST_RESTARTS)
    api, metrics = orchestrator.api, orchestrator.url + "/metrics"
    before = scrape(metrics)
    assert total(before, "orchestrator_worker") == 1

    for _ in range(5):
        ok(api.get("/healthz"))
    assert api.get("/no/such/route").status_code == 404
    tid = make_tournament(api, state="REGISTRATION", teams=0)["id"]
    after = scrape(metrics)
    healthz = dict(endpoint="health.healthz", method="GET", status="2xx")
    assert total(after, "orchestrator_http_requests_total", **healthz) - (
        total(before, "orchestrator_http_requests_total", **healthz) or 0) == 5
    assert total(after, "orchestrator_http_request_duration_seconds_count", endpoint="health.healthz") >= 5
    assert total(after, "orchestrator_http_requests_total", endpoint="unmatched", status="4xx") >= 1
    assert total(after, "orchestrator_http_requests_total", endpoint="tournaments.publish", status="2xx") == 1
    # No raw path, user or address in any label.
    assert not any(tid in str(labels) or "/no/such" in str(labels) for _name, labels, _value in after)
    assert total(after, "orchestrator_server_spawn_seconds_count") == 1
    assert 0 < total(after, "orchestrator_server_spawn_seconds_sum") < 20
    assert total(after, "orchestrator_tournament_servers", state="RUNNING") >= 1
    # The leading supervisor times each round (SUPERVISE_INTERVAL 0.3 s: several by now).
    rounds = total(after, "orchestrator_supervisor_round_seconds_count")
    assert rounds >= 1 and 0 < total(after, "orchestrator_supervisor_round_seconds_sum") < rounds * 5
    assert wait_until(lambda: total(scrape(metrics), "orchestrator_supervisor_round_seconds_count") > rounds)

    # Viewers: a feed, a page stream and a stream through the gateway, each counted as its kind.
    streams = {"feed": api.feed(f"/api/v1/events/tournaments/{tid}"),
               "page": api.feed(f"/api/v1/events/page?tournament={tid}"),
               "gateway": api.feed(f"/t/{tid}/api/events")}
    assert all(stream.status_code == 200 for stream in streams.values())
    watched = scrape(metrics)
    for kind in streams:
        assert total(watched, "orchestrator_sse_streams", kind=kind) == 1, kind
    ok(api.post(f"/t/{tid}/api/teams", {"name": "Relayed"}), 201)
    streams["feed"].until(lambda event: event["event"] == "team_registered")
    relayed = scrape(metrics)
    assert total(relayed, "orchestrator_relay_messages_total", outcome="relayed") > total(
        watched, "orchestrator_relay_messages_total", outcome="relayed")
    for stream in streams.values():
        stream.close()
    assert wait_until(lambda: total(scrape(metrics), "orchestrator_sse_streams") == 0, timeout=10)

    # A server killed and brought back by the supervisor: one restart, one more spawn.
    pid, _host, _port = server_of(database_url, tid)
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: server_of(database_url, tid)[0] not in (None, pid)
                      and total(scrape(metrics), "orchestrator_server_restarts_total") == 1, timeout=20)
    assert total(scrape(metrics), "orchestrator_server_spawn_seconds_count") == 2


def test_tournament_servers_are_listed_for_scraping_and_measure_their_commands(start_orchestrator, database_url):
    orchestrator = start_orchestrator()
    api = orchestrator.api
    tid = make_tournament(api, state="REGISTRATION", teams=3, max_teams=8)["id"]
    _pid, host, port = server_of(database_url, tid)

    targets = "/api/v1/metrics/targets"
    assert api.anonymous().get(targets).status_code == 401
    assert api.get(targets).status_code == 403  # an organizer, not an admin
    admin = api.as_user(f"admin-{tid}")
    make_admin(database_url, admin.user["username"])
    listed = ok(admin.get(targets))
    assert {"targets": [f"{host}:{port}"], "labels": {"tournament_id": tid}} in listed

    # Never through the gateway: only on the server's private address.
    assert api.get(f"/t/{tid}/metrics").status_code == 404
    server_metrics = f"http://{host}:{port}/metrics"
    before = scrape(server_metrics)
    assert total(before, "tournament_commands_total", command="publish", outcome="ok") == 1
    assert total(before, "tournament_commands_total", command="register_team", outcome="ok") == 3
    assert total(before, "tournament_events_appended_total") >= 4  # published + 3 teams
    assert total(before, "tournament_replayed_events") == 0 and total(before, "tournament_replay_seconds") >= 0
    assert total(before, "tournament_sse_viewers") == 0

    viewer = api.feed(f"/t/{tid}/api/events")
    ok(api.post(f"/t/{tid}/api/teams", {"name": "Fourth"}), 201)
    assert api.anonymous().post(f"/t/{tid}/api/start").status_code == 401  # refused: nothing appended
    after = scrape(server_metrics)
    assert total(after, "tournament_sse_viewers") == 1
    assert total(after, "tournament_commands_total", command="register_team", outcome="ok") == 4
    assert total(after, "tournament_events_appended_total") == total(before, "tournament_events_appended_total") + 1
    assert total(after, "tournament_command_duration_seconds_count", command="register_team") == 4
    assert total(after, "tournament_commands_total", command="start", outcome="refused") == 1
    viewer.close()

    # A restarted server says how long it took to replay its log.
    pid = server_of(database_url, tid)[0]
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: server_of(database_url, tid)[0] not in (None, pid)
                      and api.get(f"/t/{tid}/api/state").status_code == 200, timeout=20)
    _pid, host, port = server_of(database_url, tid)
    replayed = scrape(f"http://{host}:{port}/metrics")
    assert total(replayed, "tournament_replayed_events") == total(after, "tournament_events_appended_total")
    assert total(replayed, "tournament_replay_seconds") > 0


def test_a_metrics_token_guards_both_services(start_orchestrator, database_url):
    token = secrets.token_hex(16)
    # Two workers and no PROMETHEUS_MULTIPROC_DIR: the master makes one, and the workers share it.
    orchestrator = start_orchestrator(METRICS_TOKEN=token, WEB_CONCURRENCY="2")
    assert wait_until(lambda: len(worker_pids(scrape(orchestrator.url + "/metrics", token))) == 2, timeout=20)
    api = orchestrator.api
    tid = make_tournament(api, state="REGISTRATION", teams=1)["id"]
    _pid, host, port = server_of(database_url, tid)
    for url in (orchestrator.url + "/metrics", f"http://{host}:{port}/metrics"):
        for refused in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            response = requests.get(url, headers=refused, timeout=30)
            assert response.status_code == 401, (url, refused)
            assert response.json()["error"]["code"] == "unauthorized"
        assert scrape(url, token)
    anonymous = requests.get(orchestrator.url + "/api/v1/metrics/targets",
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert {"targets": [f"{host}:{port}"], "labels": {"tournament_id": tid}} in ok(anonymous)


def test_two_workers_add_up_and_a_dead_workers_streams_stop_counting(start_orchestrator, tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"a previous run's file")  # emptied at start
    orchestrator = start_orchestrator(WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(directory))
    metrics = orchestrator.url + "/metrics"
    assert wait_until(lambda: len(worker_pids(scrape(metrics))) == 2, timeout=20)

    healthz = dict(endpoint="health.healthz", method="GET", status="2xx")
    sent = total(scrape(metrics), "orchestrator_http_requests_total", **healthz)  # waiting for it to start
    # Fresh connections until both workers answered some (the kernel picks which one accepts).
    while len(by_worker(directory, "counter", "orchestrator_http_requests_total", **healthz)) < 2 and sent < 500:
        for _ in range(20):
            assert requests.get(orchestrator.url + "/healthz", timeout=30).status_code == 200
        sent += 20
    counted = by_worker(directory, "counter", "orchestrator_http_requests_total", **healthz)
    assert len(counted) == 2, f"one worker answered all {sent} /healthz requests"
    assert sum(counted.values()) == sent
    # Whichever worker answers a scrape, it reports both workers' requests.
    for _ in range(6):
        assert total(scrape(metrics), "orchestrator_http_requests_total", **healthz) == sent

    # Streams, then the worker holding most of them killed: they stop counting, its requests don't.
    viewers = [orchestrator.api.feed("/api/v1/events/global") for _ in range(8)]
    assert wait_until(lambda: total(scrape(metrics), "orchestrator_sse_streams", kind="feed") == 8, timeout=10)
    held = by_worker(directory, "gauge_livesum", "orchestrator_sse_streams", kind="feed")
    victim = max(held, key=held.get)
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: victim not in worker_pids(scrape(metrics))
                      and len(worker_pids(scrape(metrics))) == 2, timeout=30)
    assert total(scrape(metrics), "orchestrator_sse_streams", kind="feed") == 8 - held[victim]
    assert wait_until(lambda: sum(not viewer.closed.is_set() for viewer in viewers) == 8 - held[victim])
    assert total(scrape(metrics), "orchestrator_http_requests_total", **healthz) == sent
    for viewer in viewers:
        viewer.close()


def worker_pids(samples):
    return sorted(int(labels["pid"]) for name, labels, _value in samples if name == "orchestrator_worker")


def by_worker(directory, file_kind, name, **labels):
    """{pid: the `name` samples with `labels`, summed} of each worker whose `<file_kind>_<pid>.db` file
    (prometheus-client's layout) has any, read alone with prometheus-client's own collector."""
    found = {}
    for path in directory.glob(f"{file_kind}_*.db"):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(path, alone)
            samples = [(sample.name, sample.labels, sample.value)
                       for family in MultiProcessCollector(None, alone).collect() for sample in family.samples]
        value = total([(n, {k: v for k, v in got.items() if k != "pid"}, x) for n, got, x in samples], name, **labels)
        if value:
            found[int(path.stem.rsplit("_", 1)[1])] = value
    return found
