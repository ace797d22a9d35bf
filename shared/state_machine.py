"""The tournament lifecycle as data: which action is allowed in which state, and where it leads."""

DRAFT = "DRAFT"
REGISTRATION = "REGISTRATION"
ACTIVE = "ACTIVE"
COMPLETED = "COMPLETED"
ARCHIVED = "ARCHIVED"
CANCELLED = "CANCELLED"

STATES = (DRAFT, REGISTRATION, ACTIVE, COMPLETED, ARCHIVED, CANCELLED)

# state -> {action: next state}. `None` means the action leaves the state as it is.
TRANSITIONS = {
    DRAFT: {"view": None, "edit": None, "publish": REGISTRATION, "delete": None, "cancel": CANCELLED},
    REGISTRATION: {
        "view": None,
        "register_team": None,
        "unregister": None,
        "check_in": None,
        "start": ACTIVE,
        "cancel": CANCELLED,
    },
    ACTIVE: {
        "view": None,
        "record_result": None,
        "correct_result": None,
        "abandon_match": None,
        "disqualify": None,
        "drop": None,
        "advance": None,
        "complete": COMPLETED,
        "cancel": CANCELLED,
    },
    COMPLETED: {"view": None, "archive": ARCHIVED},
    ARCHIVED: {"view": None},
    CANCELLED: {"view": None},
}

# Taken by the match engine on its own (a round completes, the final is decided), never asked for.
AUTOMATIC_ACTIONS = frozenset({"advance", "complete"})

ACTIONS = tuple(sorted({action for actions in TRANSITIONS.values() for action in actions}))

# States in which a tournament has its own server running.
SERVED_STATES = frozenset({REGISTRATION, ACTIVE, COMPLETED})


class IllegalAction(Exception):
    """An action that the tournament's current state does not allow (HTTP 409)."""

    def __init__(self, action, state):
        self.action = action
        self.state = state
        super().__init__(f"Can't trigger event {action} from state {state}")


def allowed_actions(state):
    """The actions a client may ask for in `state`, in table order."""
    return [action for action in TRANSITIONS[state] if action not in AUTOMATIC_ACTIONS]


def next_state(action, state):
    """The state `action` leads to from `state` (the same state for in-state actions).

    :raise IllegalAction: when the table does not allow `action` in `state`.
    """
    try:
        target = TRANSITIONS[state][action]
    except KeyError:
        raise IllegalAction(action, state) from None
    return state if target is None else target


def check(action, state):
    """Raise IllegalAction unless `action` is allowed in `state`."""
    next_state(action, state)
