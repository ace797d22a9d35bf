"""Who hears what: the per-user notifications a tournament's events give rise to (pure)."""
from shared import events
from tournament_service.engine.routing import playable


def notifications_for(tournament, new_events, subscriber_ids):
    """[(user_id, notification)] for `new_events` of `tournament` (its state before them).

    - Subscribers and captains hear that the tournament starts.
    - Both captains hear when their match can be played (naming the opponent), and how it ended
      (a correction too).
    - The opponent's captain hears of a captain's report, to confirm it by reporting the same;
      a dispute reaches both captains and the organizer, who decides it.
    - A disqualified team's captain hears of it.
    A captain of two teams hears once per team.
    """
    teams = tournament.teams
    name = tournament.name
    organizer = (tournament.config or {}).get("organizer_id")
    produced = []
    seen = {}  # match id -> (team1, team2, playable) as this batch left it

    def known(match_id):
        if match_id not in seen:
            before = tournament.matches.get(match_id)
            seen[match_id] = (before["team1_id"], before["team2_id"], playable(before)) if before else (None, None, False)
        return seen[match_id]

    def captain(team_id):
        team = teams.get(team_id)
        return team.get("captain") if team else None

    def tell(user_id, kind, **fields):
        if user_id is not None:
            produced.append((user_id, events.make_event(kind, tournament.id, tournament_name=name, **fields)))

    for event in new_events:
        kind = event["type"]
        for match in event.get("matches") or ():
            # A match becomes ready when it turns playable, or turns up with other teams (a correction).
            sides = (match["team1_id"], match["team2_id"])
            if playable(match) and known(match["id"]) != (*sides, True):
                for mine, theirs in (sides, sides[::-1]):
                    tell(captain(mine), events.MATCH_READY, match_id=match["id"], round=match["round"],
                         team_id=mine, opponent=teams[theirs]["name"], opponent_id=theirs)
            seen[match["id"]] = (*sides, playable(match))
        if kind in (events.STATE_CHANGED, events.TOURNAMENT_STARTING):
            reminder = kind == events.TOURNAMENT_STARTING
            if not reminder and event["to_state"] != "ACTIVE":
                continue
            audience = set(subscriber_ids) | {t["captain"] for t in teams.values() if t.get("captain")}
            for user_id in sorted(audience):
                tell(user_id, events.TOURNAMENT_STARTING, starts_in_minutes=event["starts_in_minutes"] if reminder else 0)
        elif kind in (events.MATCH_RESULT, events.RESULT_CORRECTED):
            for team_id in (event["team1_id"], event["team2_id"]):
                tell(captain(team_id), events.MATCH_RESULT, match_id=event["match_id"], round=event["round"],
                     team_id=team_id, winner=event["winner"], won=event["winner"] == team_id,
                     corrected=kind == events.RESULT_CORRECTED)
        elif kind == events.MATCH_REPORTED:
            opponent = event["team2_id"] if event["team_id"] == event["team1_id"] else event["team1_id"]
            tell(captain(opponent), events.MATCH_REPORTED, match_id=event["match_id"], round=event["round"],
                 team_id=opponent, reported_by=event["team_id"], winner=event["winner"], scores=event["scores"])
        elif kind == events.MATCH_DISPUTED:
            audience = {captain(event["team1_id"]), captain(event["team2_id"]), organizer} - {None}
            for user_id in sorted(audience):
                tell(user_id, events.MATCH_DISPUTED, match_id=event["match_id"], round=event["round"],
                     reports=event["reports"])
        elif kind == events.TEAM_DISQUALIFIED:
            tell(captain(event["team_id"]), events.TEAM_DISQUALIFIED, team_id=event["team_id"])
    return produced
