"""The HTML pages people use (server-rendered Jinja): thin views over the same services as the API.

Every write is a same-site form post carrying Flask-WTF's token (checked before any view runs);
refusals from the services (wrong state, bad field, rate limited) are shown on the page.
"""
from flask import Blueprint, render_template, request
from flask_login import current_user

from orchestrator.extensions import csrf
from orchestrator.auth import SAFE_METHODS
from shared import formats, moments
from shared import state_machine as sm

bp = Blueprint("pages", __name__)


@bp.before_request
def check_form_token():
    """Every write of the pages carries the form's CSRF token. :raise CSRFError (400): otherwise."""
    if request.method not in SAFE_METHODS:
        csrf.protect()


STATE_TITLES = {
    sm.DRAFT: "Drafts", sm.REGISTRATION: "Open for registration", sm.ACTIVE: "Being played",
    sm.COMPLETED: "Completed", sm.ARCHIVED: "Archived", sm.CANCELLED: "Cancelled",
}


bp.add_app_template_filter(moments.in_words, "in_words")


@bp.app_context_processor
def page_globals():
    """Names every page template may use (the app's error pages too)."""
    from orchestrator.pages.forms import FORMAT_NAMES, GRAND_FINALS

    return {
        "current_user": current_user, "state_titles": STATE_TITLES, "format_names": FORMAT_NAMES,
        "tiebreak_names": formats.TIEBREAK_NAMES, "grand_finals": GRAND_FINALS,
        "state_choices": [(state, STATE_TITLES[state]) for state in sm.STATES],
        "best_of_choices": [(str(n), str(n)) for n in formats.BEST_OF],
        "for_formats": lambda names: ", ".join(FORMAT_NAMES[name].lower() for name in names),
    }


def error_page(status, code, message):
    """The HTML a browser gets for an error (JSON clients get the envelope; see shared/errors.py)."""
    if code == "not_published":  # a DRAFT's own pages (/t/<id>/) before it is published
        return render_template("tournament_not_started.html", status=status, message=message,
                               tournament_id=(request.view_args or {}).get("tournament_id"))
    template = "404.html" if status == 404 else "error.html"
    return render_template(template, status=status, code=code, message=message)


from orchestrator.pages import accounts, dashboard, manage, tournaments  # noqa: E402,F401  (their routes join bp)

# Every page view: pages for people, not API operations (orchestrator/openapi.py leaves them out).
VIEWS = (tournaments.home, tournaments.tournament_list, tournaments.tournament_detail, tournaments.lifecycle,
         tournaments.tournament_new, tournaments.tournament_edit, accounts.login, accounts.register, accounts.logout,
         manage.restart_server, manage.decide_match, manage.subscription, dashboard.dashboard, dashboard.fleet_board)

from orchestrator.pages import chat as chat_pages  # noqa: E402  (its routes join bp)
from orchestrator.pages import leaderboard as leaderboard_pages, live  # noqa: E402  (their routes join bp)

VIEWS += leaderboard_pages.VIEWS + chat_pages.VIEWS + live.VIEWS
