"""Signing secrets: neither app starts with a SECRET_KEY or GATEWAY_SECRET shorter than 32 bytes.

With a one-character SECRET_KEY anyone can sign a session cookie; with a short GATEWAY_SECRET, an
identity the tournament servers believe.
"""
import os
import subprocess
import sys

import pytest

from shared.config import MIN_SECRET_BYTES, WeakSecret, instance_secrets
from tests.conftest import orchestrator_test_config
from tests.support.processes import ROOT, free_port

SHORT = "s" * (MIN_SECRET_BYTES - 1)


@pytest.mark.parametrize("name, value", [
    pytest.param("SECRET_KEY", "x", id="secret-key-1-char"),
    pytest.param("SECRET_KEY", SHORT, id="secret-key-31-bytes"),
    pytest.param("SECRET_KEY", "é" * 15, id="secret-key-30-bytes-in-15-chars"),
    pytest.param("GATEWAY_SECRET", "x", id="gateway-secret-1-char"),
    pytest.param("GATEWAY_SECRET", "", id="gateway-secret-empty"),
])
def test_the_orchestrator_refuses_a_short_secret(platform_env, name, value):
    from orchestrator import create_app

    with pytest.raises(WeakSecret) as refused:
        create_app(orchestrator_test_config(platform_env, **{name: value}))
    assert name in str(refused.value) and f"{MIN_SECRET_BYTES} bytes" in str(refused.value)


def test_the_tournament_server_refuses_a_short_gateway_secret(make_tournament_server):
    with pytest.raises(WeakSecret, match="GATEWAY_SECRET"):
        make_tournament_server(secret="x")


def test_secrets_of_exactly_32_bytes_are_taken(make_app):
    app = make_app(SECRET_KEY="k" * MIN_SECRET_BYTES, GATEWAY_SECRET="g" * MIN_SECRET_BYTES)
    assert app.test_client().get("/healthz").status_code == 200


def test_the_generated_secrets_are_long_enough(tmp_path):
    made = instance_secrets(str(tmp_path))
    for name in ("SECRET_KEY", "GATEWAY_SECRET"):
        assert len(made[name].encode()) >= MIN_SECRET_BYTES, made
    assert instance_secrets(str(tmp_path)) == made  # kept, not made again


@pytest.mark.parametrize("command, env", [
    pytest.param(["orchestrator", "--port", "{port}"], {"SECRET_KEY": "x"}, id="orchestrator"),
    pytest.param(["tournament", "--id", "t_weaksecret", "--port", "{port}"], {"GATEWAY_SECRET": "x"},
                 id="tournament-server"),
])
def test_a_process_started_with_a_short_secret_exits_saying_why(platform_env, tmp_path, command, env):
    port = str(free_port())
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), *[a.format(port=port) for a in command]],
                          cwd=ROOT, env={**os.environ, **platform_env, "INSTANCE_PATH": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    name = next(iter(env))
    assert f"{name} is 1 bytes long" in output and f"at least {MIN_SECRET_BYTES} bytes" in output, output[-2000:]
