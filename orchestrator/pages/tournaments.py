"""Pages of the registry: the home page, the list, a tournament, its form and its lifecycle buttons."""
from flask import current_app, flash, redirect, render_template, request, url_for

from orchestrator import auth
from orchestrator.api.tournaments import TOURNAMENT_FIELDS
from orchestrator.pages import bp, forms, manage
from orchestrator.pages.accounts import login_required
from orchestrator.services import fleet, overview, registry
from shared import formats
from shared import state_machine as sm
from shared import validation as v
from shared.errors import APIError

HOME_STATES = (sm.REGISTRATION, sm.ACTIVE, sm.COMPLETED, sm.DRAFT)
ANNOUNCEMENTS_SHOWN = 10
PAGE_SIZE = 20
# The lifecycle buttons, in the order shown, with what each does in words.
LIFECYCLE = {
    "publish": ("Publish", "published"),
    "cancel": ("Cancel the tournament", "cancelled"),
    "archive": ("Archive", "archived"),
    "delete": ("Delete the draft", "deleted"),
}


def _spawner():
    return current_app.extensions["spawner"]


def home_context():
    """The home page's live part: how many tournaments there are in each published state and how
    many servers run or have failed, the newest announcements, and tournaments by state (a few of
    each, newest first)."""
    sections = [(state, registry.list_tournaments(state, None, 10, None, auth.viewer())[0]) for state in HOME_STATES]
    servers = fleet.status_counts()
    return {"sections": [(state, items) for state, items in sections if items],
            "announcements": overview.recent_announcements(ANNOUNCEMENTS_SHOWN),
            "by_state": overview.published_counts(), "running": servers.get(fleet.RUNNING, 0),
            "failed": servers.get(fleet.FAILED, 0)}


@bp.get("/")
def home():
    """Tournaments by state and the global feed's news."""
    return render_template("home.html", **home_context())


def _text_filter(name, max_len, problems):
    """`?name=` as the API would take it, None when blank or refused (the refusal in `problems`)."""
    raw = request.args.get(name, "").strip()
    try:
        return v.string(1, max_len)(raw) if raw else None
    except ValueError as exc:
        problems[name] = str(exc)
        return None


@bp.get("/tournaments")
def tournament_list():
    """Every tournament the viewer may see, filtered by state, game and name, a page at a time."""
    problems = {}
    state = request.args.get("state") or None
    if state is not None and state not in sm.STATES:
        problems["state"], state = "must be one of " + ", ".join(sm.STATES), None
    filters = {"state": state, "game": _text_filter("game", 50, problems), "q": _text_filter("q", 100, problems)}

    def page(cursor):
        return registry.list_tournaments(state, filters["game"], PAGE_SIZE, cursor, auth.viewer(), filters["q"])
    try:
        items, next_cursor = page(request.args.get("cursor") or None)
    except APIError as exc:
        problems.update(exc.fields or {"cursor": exc.message})
        items, next_cursor = page(None)
    return render_template("tournaments.html", items=items, next_cursor=next_cursor, filters=filters,
                           problems=problems)


def _lifecycle_actions(tournament):
    """The lifecycle buttons the viewer may press now: only an organizer's, only those the
    state allows."""
    if not auth.is_organizer(auth.viewer(), tournament):
        return []
    allowed = sm.allowed_actions(tournament.state)
    return [(action, label) for action, (label, _done) in LIFECYCLE.items() if action in allowed]


def detail_context(tournament_id):
    """Everything a tournament's page shows its viewer. :raise 404: for an unknown id or another's draft."""
    tournament = auth.visible_tournament(tournament_id)
    organizer = auth.is_organizer(auth.viewer(), tournament)
    return {"tournament": tournament, "details": tournament.to_dict(),
            "manage": manage.management(tournament) if organizer else None,
            "subscribed": manage.is_subscribed(auth.viewer(), tournament.id),
            "actions": _lifecycle_actions(tournament), "can_edit": organizer and tournament.state == sm.DRAFT,
            "format_names": forms.FORMAT_NAMES, "labels": forms.LABELS}


@bp.get("/tournaments/<tournament_id>")
def tournament_detail(tournament_id):
    return render_template("tournament_detail.html", **detail_context(tournament_id))


def refusal(exc):
    """A service's refusal in words for a page."""
    if isinstance(exc, sm.IllegalAction):
        verb = LIFECYCLE.get(exc.action, (None, exc.action.replace("_", " ") + "ed"))[1]
        return f"This tournament can't be {verb} now: it is {exc.state}."
    if exc.fields:
        return exc.message + " " + "; ".join(f"{forms.LABELS.get(k, k)}: {why}" for k, why in exc.fields.items())
    return exc.message


@bp.post("/tournaments/<tournament_id>/<any(publish, cancel, archive, delete):action>")
def lifecycle(tournament_id, action):
    """One lifecycle button: the same checks and services as the API's command."""
    if not auth.viewer():
        return redirect(url_for("pages.login", next=url_for("pages.tournament_detail", tournament_id=tournament_id)))
    auth.require_organizer(auth.visible_tournament(tournament_id))
    try:
        if action == "publish":
            registry.publish_tournament(tournament_id, _spawner(), current_app.config)
        elif action == "delete":
            registry.delete_tournament(tournament_id)
            flash("The draft was deleted.", "success")
            return redirect(url_for("pages.tournament_list"))
        else:
            end = registry.cancel_tournament if action == "cancel" else registry.archive_tournament
            end(tournament_id, _spawner(), current_app.config, auth.identity_headers)
        flash(f"The tournament was {LIFECYCLE[action][1]}.", "success")
    except (APIError, sm.IllegalAction) as exc:
        if isinstance(exc, APIError) and exc.status in (401, 403, 404):
            raise
        flash(refusal(exc), "error")
    return redirect(url_for("pages.tournament_detail", tournament_id=tournament_id))


def _form_page(tournament, values, problems, status=200):
    return render_template("tournament_form.html", tournament=tournament, values=values, problems=problems,
                           labels=forms.LABELS, format_names=forms.FORMAT_NAMES, options=formats.OPTIONS,
                           best_of=formats.BEST_OF), status


def _saved(tournament, creating):
    """Validate the posted form by the API's rules and save it; the form again with every problem
    named at its field when they refuse it."""
    body = forms.body_from_form(request.form, creating)
    try:
        fields = v.validate(body, TOURNAMENT_FIELDS, partial=not creating)
        if creating:
            tournament = registry.create_tournament(fields, auth.viewer().id)
        else:
            tournament = registry.update_tournament(tournament.id, fields)
    except APIError as exc:
        if exc.status != 400:
            raise
        return _form_page(tournament, forms.posted_values(request.form), exc.fields or {"name": exc.message}, 400)
    except sm.IllegalAction as exc:
        flash(refusal(exc), "error")
        return redirect(url_for("pages.tournament_detail", tournament_id=tournament.id))
    flash("The tournament was saved.", "success")
    return redirect(url_for("pages.tournament_detail", tournament_id=tournament.id))


@bp.route("/tournaments/new", methods=("GET", "POST"))
@login_required
def tournament_new():
    if request.method == "POST":
        return _saved(None, creating=True)
    return _form_page(None, forms.form_values(None), {})


@bp.route("/tournaments/<tournament_id>/edit", methods=("GET", "POST"))
@login_required
def tournament_edit(tournament_id):
    tournament = auth.visible_tournament(tournament_id)
    auth.require_organizer(tournament)
    if tournament.state != sm.DRAFT:
        flash(refusal(sm.IllegalAction("edit", tournament.state)), "error")
        return redirect(url_for("pages.tournament_detail", tournament_id=tournament_id))
    if request.method == "POST":
        return _saved(tournament, creating=False)
    return _form_page(tournament, forms.form_values(tournament), {})
