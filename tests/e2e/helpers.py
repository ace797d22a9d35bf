"""What end-to-end tests read from the database or the machine that the API does not show, and
what they put between the test servers and containers."""
import ipaddress
from urllib.parse import urlsplit

import psutil
import sqlalchemy as sa

from orchestrator.spawners.docker import DEPLOYMENT, TOURNAMENT
from orchestrator.spawners.subprocess import served_tournament
from shared.db.tables import tournament_servers
from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until
from tests.support.tcp_relay import TcpRelay


def server_of(database_url, tournament_id):
    """(pid, host, port) of the tournament's server as the fleet records it; Nones when none."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(tournament_servers.c.pid, tournament_servers.c.host,
                                         tournament_servers.c.port)
                               .where(tournament_servers.c.tournament_id == tournament_id)).first()
    finally:
        engine.dispose()
    return (row.pid, row.host, row.port) if row else (None, None, None)


def server_processes(tournament_id):
    """Live `run.py tournament --id ID` processes on this machine, whoever started them."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if (served_tournament(process.info["cmdline"] or ()) == tournament_id
                and process.info["status"] != psutil.STATUS_ZOMBIE):
            found.append(process.pid)
    return found


def containers(engine, deployment, tournament_id=None, running_only=True):
    """The tournament servers' containers of `deployment` (of one tournament, if given) on `engine`."""
    labels = [f"{DEPLOYMENT}={deployment}"] + ([f"{TOURNAMENT}={tournament_id}"] if tournament_id else [])
    filters = {"label": labels, **({"status": "running"} if running_only else {})}
    return engine.containers.list(all=not running_only, filters=filters)


def fleet_entry(api, tournament_id):
    """The tournament's server as `GET /api/v1/servers` shows it to `api`'s user, or None."""
    return next((s for s in ok(api.get("/api/v1/servers"))["items"] if s["tournament_id"] == tournament_id), None)


def assert_publish_refused(api, message):
    """Publishing a new tournament is a 503 whose message holds `message`, and changes nothing."""
    draft = make_tournament(api)
    response = api.post(f"/api/v1/tournaments/{draft['id']}/publish")
    assert response.status_code == 503, response.text
    said = response.json()["error"]["message"]
    assert message in said, said
    assert ok(api.get(f"/api/v1/tournaments/{draft['id']}"))["state"] == "DRAFT"


def gateway_address(network):
    """The host's address on a Docker network. A fresh engine's default `bridge` lists only its
    subnet, no Gateway; Docker gives the host the subnet's first address then."""
    config = network.attrs["IPAM"]["Config"][0]
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def relayed_services(platform_env, address):
    """Relays on `address` (a container network's gateway on this host) to the test PostgreSQL and
    Redis on 127.0.0.1, and the TOURNAMENT_DATABASE_URL / TOURNAMENT_REDIS_URL that reach them
    through it: ([relay, ...], {setting: url}). Close the relays when done."""
    relays, urls = [], {}
    for name in ("DATABASE_URL", "REDIS_URL"):
        url = urlsplit(platform_env[name])
        relay = TcpRelay(address, (url.hostname, url.port or {"DATABASE_URL": 5432, "REDIS_URL": 6379}[name]))
        relays.append(relay)
        credentials = url.netloc.rpartition("@")[0]
        urls[f"TOURNAMENT_{name}"] = url._replace(
            netloc=f"{credentials}{'@' if credentials else ''}{address}:{relay.address[1]}").geturl()
    return relays, urls


def restart_and_adopt(first, start, tournament_id):
    """Kills orchestrator `first` (SIGKILL: no hand-over), starts another with `start()`, logged in
    as the same user, and waits until it has checked the tournament's server again (adopted)."""
    api, entry = first.api, fleet_entry(first.api, tournament_id)
    first.kill9()
    second = start()
    second.api = second.api.__class__(second.url).login(api.user["username"], register=False)
    assert wait_until(lambda: (fleet_entry(second.api, tournament_id) or {}).get("status") == "RUNNING"
                      and fleet_entry(second.api, tournament_id)["last_check_at"] != entry["last_check_at"],
                      timeout=20)
    return second
