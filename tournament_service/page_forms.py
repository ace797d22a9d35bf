"""What the tournament page offers its viewer: the signup and check-in forms while registering, and
in ACTIVE the playable matches with only the actions the server would accept from them.

The page never decides a result: it shows what may be asked, and the form posts go through the
same commands as the JSON API (tournament_service/forms.py)."""
from datetime import datetime, timezone

from shared import moments
from shared import validation as v
from shared.errors import APIError
from shared.state_machine import ACTIVE, REGISTRATION
from tournament_service.api import RESULT_FIELDS
from tournament_service.engine.matches import DISPUTED, PENDING, REPORTED
from tournament_service.engine.routing import playable

NOTICES = {
    "signed_up": "Your team is signed up.",
    "checked_in": "Your team is checked in.",
    "started": "The tournament has started: round 1 is on.",
    "reported": "Your result is reported; it counts once the other captain confirms it.",
    "disputed": "The reports differ: the match is disputed and the organizer decides.",
    "recorded": "The result is recorded.",
}
DRAW = "draw"


def forms_for(tournament, actor, names):
    """{"signup", "start", "check_in": [teams], "matches": [match actions]} for `actor` on this page."""
    mine = {team["id"] for team in tournament.team_list() if actor.user_id and team.get("captain") == actor.user_id}
    forms = {"signup": False, "check_in": [], "checked_in": [], "matches": [], "logged_in": actor.user_id is not None,
             "start": tournament.state == REGISTRATION and actor.is_organizer,
             # The results section is there for whoever may ever act on a match (it refreshes live).
             "results": tournament.state == ACTIVE and (actor.is_organizer or bool(mine))}
    if tournament.state == REGISTRATION and actor.user_id is not None:
        forms["signup"] = True
        if tournament.options.get("check_in"):
            own = [team for team in tournament.team_list() if team["id"] in mine]
            forms["check_in"] = [team for team in own if not team.get("checked_in")]
            forms["checked_in"] = [team for team in own if team.get("checked_in")]
    if tournament.state == ACTIVE and actor.user_id is not None:
        actions = [_match_action(tournament, match, actor, mine, names)
                   for match in tournament.match_list() if playable(match)]
        # A captain's own matches first; nothing at all for matches they may not touch.
        forms["matches"] = sorted((a for a in actions if a["may"]), key=lambda a: not a["mine"])
    return forms


def check_in_banner(tournament, now):
    """What the check-in banner says, or None when there is none (not REGISTRATION, or no
    `check_in`): {"checked", "teams", "starts_at", "left", "passed"}.

    The platform sets no check-in deadline: check-in stays open until the organizer starts the
    tournament, and `starts_at` is only the announced start (nothing starts by itself then), so
    the banner counts down to it when it is set and says so."""
    if tournament.state != REGISTRATION or not tournament.options.get("check_in"):
        return None
    teams = tournament.team_list()
    starts_at = tournament.config.get("starts_at")
    banner = {"checked": sum(1 for team in teams if team.get("checked_in")), "teams": len(teams),
              "starts_at": starts_at, "left": None, "passed": False}
    if starts_at:
        at = datetime.fromisoformat(starts_at).astimezone(timezone.utc)
        seconds = (at - now).total_seconds()
        banner.update(starts_at=at.isoformat().replace("+00:00", "Z"), passed=seconds <= 0, left=time_left(seconds),
                      when=moments.in_words(at))
    return banner


def time_left(seconds):
    """'2 days 3 h', '1 h 05 min', '4 min', 'less than a minute': the time until an instant, in
    the words static/countdown.js uses (it adds the seconds)."""
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min" if minutes else "less than a minute"


def _match_action(tournament, match, actor, mine, names):
    sides = [match["team1_id"], match["team2_id"]]
    own = [team_id for team_id in sides if team_id in mine]
    reports = match.get("reports") or {}
    action = {"match": match, "mine": bool(own), "best_of": tournament.best_of(match["id"]),
              "draw": tournament.format.allows_draw(match), "names": [names.get(t, t) for t in sides],
              "theirs": None, "may": None}
    if actor.is_organizer:
        action["may"] = "settle"
    elif len(own) == 1:
        opponent = sides[1] if own[0] == sides[0] else sides[0]
        if match["status"] == PENDING:
            action["may"] = "report"
        elif match["status"] == REPORTED and own[0] not in reports and opponent in reports:
            action["may"], action["theirs"] = "confirm", reports[opponent]
        elif match["status"] == REPORTED:
            action["may"] = "wait"
        elif match["status"] == DISPUTED:
            action["may"] = "disputed"
    elif own:
        action["may"] = "report"  # one user captains both teams: their report is final
    return action


def signup_fields(form):
    """The JSON API's team body from the signup form: a name and players, one per line."""
    players = [line.strip() for line in form.get("players", "").splitlines() if line.strip()]
    return {"name": form.get("name", ""), "players": players or None}


def result_fields(form):
    """The JSON API's result body from the results form: the winner (a team id, or `draw`) and the
    two game scores, both or neither. :raise APIError 400: scores that are not whole numbers."""
    body = {"winner": None if form.get("winner") == DRAW else form.get("winner")}
    if "winner" not in form:
        body.pop("winner")  # refused by the API's own rule: the winner is required
    raw = [form.get("score1", "").strip(), form.get("score2", "").strip()]
    if any(raw):
        if not all(s.isdigit() and len(s) <= 4 for s in raw):
            raise APIError(400, "invalid_input", "The request has invalid fields.",
                           {"scores": "give both teams' game scores as whole numbers, or neither"})
        body["scores"] = [int(s) for s in raw]
    return v.validate(body, RESULT_FIELDS)
