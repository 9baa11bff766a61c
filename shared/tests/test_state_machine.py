"""Transition tables: next states, allowed actions, the 409 they become over HTTP."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from casework.problems import install_problem_handlers
from casework.state_machine import IllegalTransition, TransitionTable

DOOR = TransitionTable(
    "door",
    {
        ("closed", "open"): "open",
        ("open", "close"): "closed",
        ("closed", "lock"): "locked",
        ("locked", "unlock"): "closed",
    },
)


def test_next_state_and_allowed_actions() -> None:
    assert DOOR.next_state("closed", "open") == "open"
    assert DOOR.allowed("closed") == ["lock", "open"]
    assert DOOR.can("locked", "unlock") and not DOOR.can("locked", "open")
    assert DOOR.states == {"open", "closed", "locked"}
    assert DOOR.final_states() == set()
    assert DOOR.reachable("locked") == {"open", "closed", "locked"} and DOOR.reachable("nowhere") == {"nowhere"}
    assert DOOR.sources("close") == ["open"] and DOOR.sources("lock") == ["closed"] and DOOR.sources("fly") == []


def test_illegal_move_names_state_and_allowed_actions() -> None:
    with pytest.raises(IllegalTransition) as caught:
        DOOR.next_state("locked", "open")
    assert (caught.value.state, caught.value.action, caught.value.allowed) == ("locked", "open", ["unlock"])


def test_check_covers_finds_unknown_states() -> None:
    DOOR.check_covers(["open", "closed", "locked"])
    with pytest.raises(ValueError, match="locked"):
        DOOR.check_covers(["open", "closed"])


def test_illegal_transition_is_a_409_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/door/open")
    def open_door() -> None:
        DOOR.next_state("locked", "open")

    response = TestClient(app).post("/door/open")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["current_state"], body["action"], body["allowed_actions"]) == ("locked", "open", ["unlock"])
