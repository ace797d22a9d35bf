"""The lifecycle table in shared/state_machine.py checked against DESIGN.md, written out independently."""
import itertools

import pytest

from shared import state_machine as sm
from shared.state_machine import IllegalAction, allowed_actions, check, next_state

# DESIGN.md "Tournament state machine", written out by hand: state -> {action: resulting state}.
# An in-state action maps to the state itself. Every state allows "view".
EXPECTED = {
    "DRAFT": {"view": "DRAFT", "edit": "DRAFT", "publish": "REGISTRATION", "delete": "DRAFT",
              "cancel": "CANCELLED"},
    "REGISTRATION": {"view": "REGISTRATION", "register_team": "REGISTRATION", "unregister": "REGISTRATION",
                     "check_in": "REGISTRATION", "start": "ACTIVE", "cancel": "CANCELLED"},
    "ACTIVE": {"view": "ACTIVE", "record_result": "ACTIVE", "correct_result": "ACTIVE", "abandon_match": "ACTIVE",
               "disqualify": "ACTIVE", "drop": "ACTIVE", "advance": "ACTIVE",
               "complete": "COMPLETED", "cancel": "CANCELLED"},
    "COMPLETED": {"view": "COMPLETED", "archive": "ARCHIVED"},
    "ARCHIVED": {"view": "ARCHIVED"},
    "CANCELLED": {"view": "CANCELLED"},
}
EXPECTED_STATES = ("DRAFT", "REGISTRATION", "ACTIVE", "COMPLETED", "ARCHIVED", "CANCELLED")
EXPECTED_ACTIONS = {
    "view", "edit", "publish", "delete", "cancel", "register_team", "unregister", "start",
    "record_result", "abandon_match", "advance", "complete", "archive",
    "check_in", "correct_result", "disqualify", "drop",
}
EXPECTED_AUTOMATIC = {"advance", "complete"}


def test_states_are_exactly_the_design_states():
    assert tuple(sm.STATES) == EXPECTED_STATES
    assert set(EXPECTED) == set(EXPECTED_STATES)


def test_actions_are_exactly_the_design_actions():
    assert set(sm.ACTIONS) == EXPECTED_ACTIONS
    assert len(sm.ACTIONS) == len(EXPECTED_ACTIONS)  # no duplicates


def test_automatic_actions():
    assert set(sm.AUTOMATIC_ACTIONS) == EXPECTED_AUTOMATIC


# Every action in the module's ACTIONS crossed with every state in STATES (and, in case either tuple
# were to shrink, the hand-written ones too).
ALL_PAIRS = sorted(set(itertools.product(set(sm.ACTIONS) | EXPECTED_ACTIONS, set(sm.STATES) | set(EXPECTED_STATES))))


@pytest.mark.parametrize(("action", "state"), ALL_PAIRS)
def test_next_state_table(action, state):
    expected = EXPECTED[state].get(action)
    if expected is not None:
        assert next_state(action, state) == expected
        check(action, state)  # does not raise
    else:
        with pytest.raises(IllegalAction) as info:
            next_state(action, state)
        assert str(info.value) == f"Can't trigger event {action} from state {state}"
        assert info.value.action == action
        assert info.value.state == state
        with pytest.raises(IllegalAction) as info2:
            check(action, state)
        assert str(info2.value) == f"Can't trigger event {action} from state {state}"


def test_table_has_expected_number_of_legal_and_illegal_pairs():
    legal = [(a, s) for a, s in ALL_PAIRS if a in EXPECTED[s]]
    assert len(legal) == sum(len(v) for v in EXPECTED.values()) == 24
    assert len(ALL_PAIRS) - len(legal) == 17 * 6 - 24


@pytest.mark.parametrize("action", ["", "View", "PUBLISH", "nonsense", "start "])
@pytest.mark.parametrize("state", EXPECTED_STATES)
def test_unknown_actions_are_illegal_everywhere(action, state):
    with pytest.raises(IllegalAction) as info:
        next_state(action, state)
    assert str(info.value) == f"Can't trigger event {action} from state {state}"


@pytest.mark.parametrize("state", ["draft", "UNKNOWN", ""])
def test_unknown_state_is_illegal(state):
    with pytest.raises(IllegalAction) as info:
        next_state("view", state)
    assert info.value.state == state
    assert info.value.action == "view"


def test_illegal_action_is_an_exception_with_args():
    exc = IllegalAction("start", "DRAFT")
    assert isinstance(exc, Exception)
    assert exc.args == ("Can't trigger event start from state DRAFT",)


@pytest.mark.parametrize("state", EXPECTED_STATES)
def test_allowed_actions_excludes_automatic_actions(state):
    actions = allowed_actions(state)
    assert set(actions) == set(EXPECTED[state]) - EXPECTED_AUTOMATIC
    assert len(actions) == len(set(actions))
    assert "view" in actions
    assert not set(actions) & EXPECTED_AUTOMATIC


def test_allowed_actions_of_active_in_table_order():
    assert allowed_actions("ACTIVE") == ["view", "record_result", "correct_result", "abandon_match", "disqualify",
                                         "drop", "cancel"]
    assert allowed_actions("DRAFT") == ["view", "edit", "publish", "delete", "cancel"]
    assert allowed_actions("ARCHIVED") == ["view"]


def test_automatic_actions_are_still_legal_transitions():
    # Not offered to clients, yet the engine takes them.
    assert "complete" not in allowed_actions("ACTIVE")
    assert next_state("complete", "ACTIVE") == "COMPLETED"
    assert next_state("advance", "ACTIVE") == "ACTIVE"


def test_terminal_states_only_allow_view():
    for state in ("ARCHIVED", "CANCELLED"):
        assert allowed_actions(state) == ["view"]


def test_served_states():
    assert set(sm.SERVED_STATES) == {"REGISTRATION", "ACTIVE", "COMPLETED"}
