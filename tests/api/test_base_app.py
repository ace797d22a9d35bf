"""create_app on a base app (tournament_service.build_app, what the zygote builds once before it
forks servers, with its templates compiled): the tournament's own config replaces the builder's,
and a base serves one tournament."""
import os

import pytest

from tests.conftest import GATEWAY_SECRET, REDIS_URL


@pytest.fixture
def config(tournament_id, database_url, redis_namespace):
    return {"TOURNAMENT_ID": tournament_id, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
            "REDIS_NAMESPACE": redis_namespace, "MIGRATE_ON_START": False, "GATEWAY_SECRET": GATEWAY_SECRET}


def close(app):
    server = app.extensions["tournament_server"]
    server.publisher.close()
    server.publisher.client.close()
    server.log.engine.dispose()


def test_a_base_app_is_finished_with_its_tournaments_own_config_and_serves_only_it(config, tournament_id):
    from tournament_service import build_app, create_app, precompile

    base = build_app()
    precompile(base)  # as the zygote does: its Jinja environment is made with the builder's config
    builders = base.config
    builders["METRICS_TOKEN"] = builders["SET_BY_THE_BUILDER"] = "the builder's"  # none of it may reach the server
    app = create_app({**config, "SERVER_TOKEN": "its own"}, base=base)
    try:
        assert app is base and app.config is not builders
        assert "SET_BY_THE_BUILDER" not in app.config and app.config["METRICS_TOKEN"] == os.environ.get("METRICS_TOKEN", "")
        assert app.jinja_env.globals["config"] is app.config
        page = app.test_client().get("/")
        assert page.status_code == 200 and b"Input Cup" in page.data
        health = app.test_client().get("/api/health").get_json()
        assert health["tournament_id"] == tournament_id and health["token"] == "its own"
        with pytest.raises(RuntimeError, match="already serves a tournament"):
            create_app(config, base=base)
    finally:
        close(app)
