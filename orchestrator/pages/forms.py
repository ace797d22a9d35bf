"""The tournament form: what the browser posts, turned into the body the API takes.

The values are only converted here (text to numbers, checkboxes to booleans); checking them is
left to the API's own rules (the field schema, shared/formats.py and the registry), so a page and
a JSON client are told the same thing.
"""
from shared import formats
from shared.validation import counter

# Fields of the form, in order, and how each is shown.
NUMBER_FIELDS = ("max_teams", "min_teams")
CHOICE_NUMBERS = ("best_of", "final_best_of")
OPTION_NUMBERS = ("swiss_rounds", "groups", "advance_per_group")
OPTION_CHECKBOXES = ("confirm_results", "check_in", "third_place_match", "double_round_robin", "allow_draws")
POINT_KEYS = ("win", "draw", "loss")
# The double-elimination grand final's choices, as the form offers them and the summary shows them.
GRAND_FINALS = {"reset": "with a reset match if the lower-bracket team wins", "single": "one match",
                "none": "none: the two bracket winners share first"}

LABELS = {
    "name": "Name", "game": "Game", "format": "Format", "max_teams": "Most teams",
    "min_teams": "Fewest teams", "best_of": "Games per match (best of)", "description": "Description",
    "starts_at": "Starts at (UTC)", "confirm_results": "The opponent confirms each reported result",
    "check_in": "Teams check in before the start", "final_best_of": "The final is best of",
    "third_place_match": "Play a match for third place", "grand_final": "Grand final",
    "double_round_robin": "Everyone meets twice", "allow_draws": "Draws allowed",
    "swiss_rounds": "Swiss rounds", "groups": "Groups", "advance_per_group": "Teams advancing per group",
    "points": "Match points (win, draw, loss)", "tiebreaks": "Tiebreaks, in order",
}
FORMAT_NAMES = {
    formats.SINGLE_ELIMINATION: "Single elimination", formats.DOUBLE_ELIMINATION: "Double elimination",
    formats.ROUND_ROBIN: "Round robin", formats.SWISS: "Swiss",
    formats.GROUP_PLAYOFF: "Groups, then a playoff",
}


def _number(raw):
    """An int for plain digits, None for nothing, the text itself otherwise (the API's check
    then names the problem)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    number = counter(raw)
    return raw if number is None else number


def _points(form):
    values = [form.get(f"points_{key}", "") for key in POINT_KEYS]
    if not any(value.strip() for value in values):
        return None
    return {key: _number(value) if value.strip() else value for key, value in zip(POINT_KEYS, values)}


def _tiebreaks(raw):
    names = [formats.tiebreak_typed(name.strip()) for name in (raw or "").split(",") if name.strip()]
    return names or None


def body_from_form(form, creating):
    """The JSON body the API would take for this posted form.

    Options of formats other than the chosen one are left out: the form shows every option, and
    only the chosen format's count. Blank numbers are left out on create (the defaults apply) and
    left as they are on edit; a blank option means "the default".
    """
    body = {key: form.get(key, "") for key in ("name", "game", "format")}
    body["description"] = form.get("description", "")
    body["starts_at"] = form.get("starts_at", "").strip() or None
    for key in NUMBER_FIELDS + ("best_of",):
        value = _number(form.get(key))
        if value is not None:
            body[key] = value
    chosen = body["format"]
    options = {
        "final_best_of": _number(form.get("final_best_of")),
        "grand_final": form.get("grand_final") or None,
        "points": _points(form),
        "tiebreaks": _tiebreaks(form.get("tiebreaks")),
        **{key: _number(form.get(key)) for key in OPTION_NUMBERS},
        **{key: form.get(key) == "on" for key in OPTION_CHECKBOXES},
    }
    for key, value in options.items():
        if chosen in formats.OPTIONS[key].formats and (value is not None or not creating):
            body[key] = value
    if creating and body["starts_at"] is None:
        del body["starts_at"]
    return body


def form_values(tournament):
    """What the edit form shows for `tournament` (or the create form's defaults for None)."""
    if tournament is None:
        values = {"format": formats.SINGLE_ELIMINATION, "max_teams": 16, "min_teams": 2, "best_of": 1,
                  **formats.with_defaults(formats.SINGLE_ELIMINATION, {})}
    else:
        values = tournament.to_dict()
        for name, option in formats.OPTIONS.items():
            values.setdefault(name, option.default)
    values["starts_at"] = (values.get("starts_at") or "")[:16]
    points = values.get("points") or formats.OPTIONS["points"].default
    values.update({f"points_{key}": points[key] for key in POINT_KEYS})
    values["tiebreaks"] = ", ".join(formats.TIEBREAK_NAMES.get(t, t) for t in values.get("tiebreaks") or ())
    return values


def posted_values(form):
    """What the form shows again after a refusal: what was typed, checkboxes as booleans."""
    values = dict(form.items())
    values.update({key: form.get(key) == "on" for key in OPTION_CHECKBOXES})
    return values
