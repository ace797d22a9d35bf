"""Who hears what: the per-user notifications a tournament's events give rise to (pure)."""
from shared import events


def notifications_for(tournament, new_events, subscriber_ids):
    """[(user_id, notification)] for `new_events` of `tournament` (its state before them).

    Subscribers and captains hear that the tournament starts; both captains hear that their match
    is ready (naming the opponent) and how it ended. A captain of two teams hears once per team.
    """
    teams = tournament.teams
    name = tournament.name
    produced = []

    def captain(team_id):
        team = teams.get(team_id)
        return team.get("captain") if team else None

    for event in new_events:
        kind = event["type"]
        if kind in (events.STATE_CHANGED, events.TOURNAMENT_STARTING):
            reminder = kind == events.TOURNAMENT_STARTING
            if not reminder and event["to_state"] != "ACTIVE":
                continue
            audience = set(subscriber_ids) | {t["captain"] for t in teams.values() if t.get("captain")}
            for user_id in sorted(audience):
                produced.append((user_id, events.make_event(
                    events.TOURNAMENT_STARTING, tournament.id, tournament_name=name,
                    starts_in_minutes=event["starts_in_minutes"] if reminder else 0)))
        elif kind == events.ROUND_ADVANCED:
            for match in event["matches"]:
                if match["status"] != "pending":
                    continue
                for mine, theirs in ((match["team1_id"], match["team2_id"]), (match["team2_id"], match["team1_id"])):
                    if captain(mine):
                        produced.append((captain(mine), events.make_event(
                            events.MATCH_READY, tournament.id, tournament_name=name, match_id=match["id"],
                            round=match["round"], team_id=mine, opponent=teams[theirs]["name"],
                            opponent_id=theirs)))
        elif kind == events.MATCH_RESULT:
            for team_id in (event["team1_id"], event["team2_id"]):
                if captain(team_id):
                    produced.append((captain(team_id), events.make_event(
                        events.MATCH_RESULT, tournament.id, tournament_name=name, match_id=event["match_id"],
                        round=event["round"], team_id=team_id, winner=event["winner"],
                        won=event["winner"] == team_id)))
    return produced
