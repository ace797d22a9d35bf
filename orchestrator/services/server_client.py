"""Talking to a tournament's own server: the orchestrator never edits its matches itself."""
import requests

from shared import logs
from shared.errors import APIError


class ServerUnavailable(APIError):
    def __init__(self, tournament_id, why):
        super().__init__(503, "server_unavailable",
                         f"The server of tournament {tournament_id} is not reachable: {why}.")


def _call(method, endpoint, tournament_id, path, body=None, timeout=10, headers=None):
    """The JSON answer of the server at `endpoint` to `method path`.

    :raise APIError: with the server's own status and envelope when it refuses.
    :raise ServerUnavailable: when it does not answer, or not in JSON.
    """
    try:
        # The server records the request id with the events this command causes.
        response = requests.request(method, f"http://{endpoint}{path}", json=body, timeout=timeout,
                                    headers={**(headers or {}), **logs.request_id_header()})
    except requests.RequestException as exc:
        raise ServerUnavailable(tournament_id, type(exc).__name__) from None
    try:
        payload = response.json()
    except ValueError:
        raise ServerUnavailable(tournament_id, f"answer {response.status_code} is not JSON") from None
    if response.status_code >= 400:
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        raise APIError(response.status_code, error.get("code", "error"), error.get("message", "refused"),
                       error.get("fields"))
    return payload


def command(endpoint, tournament_id, path, identity, body=None, timeout=10):
    """POST a command with a JSON body, signed with `identity` headers; return the server's answer."""
    return _call("POST", endpoint, tournament_id, path, body if body is not None else {}, timeout, identity)


def query(endpoint, tournament_id, path, timeout=10):
    """GET `path`; return the server's answer."""
    return _call("GET", endpoint, tournament_id, path, timeout=timeout)
