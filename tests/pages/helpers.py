"""Driving the pages with Flask's test client as a browser would: GET a form, post it back."""
import re
import uuid

PASSWORD = "correct horse battery staple"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
_TOKEN = re.compile(r'name="form_csrf" value="([^"]+)"')


def form_token(client, path="/login"):
    """The CSRF token a page's forms carry."""
    page = client.get(path, headers=HTML)
    return _TOKEN.search(page.get_data(as_text=True)).group(1)


def post_form(client, path, data, token_from="/login", with_token=True, **kwargs):
    """Post `data` as the page at `token_from` would (with its CSRF token unless told not to)."""
    data = dict(data)
    if with_token:
        data["form_csrf"] = form_token(client, token_from)
    return client.post(path, data=data, headers={**HTML, **kwargs.pop("headers", {})}, **kwargs)


def log_in(client, username=None):
    """Register `username` (a fresh one by default) and log in through the pages; its name."""
    username = username or f"page-{uuid.uuid4().hex[:8]}"
    assert post_form(client, "/register", {"username": username, "password": PASSWORD}).status_code == 302
    assert post_form(client, "/login", {"username": username, "password": PASSWORD}).status_code == 302
    return username


def create_draft(client, **fields):
    """Create a draft through the form; its id (from the page it redirects to)."""
    data = {"name": "Spring Cup", "game": "chess", "format": "single_elimination", "min_teams": "2",
            "max_teams": "8", "best_of": "1", "confirm_results": "on", **fields}
    response = post_form(client, "/tournaments/new", data, token_from="/tournaments/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]
