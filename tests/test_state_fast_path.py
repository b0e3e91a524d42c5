"""The per-message fast-path tables of _state.py agree with the transition tables, pair by pair."""

from __future__ import annotations

import pytest

from typedws._state import (
    RECEIVE,
    SEND,
    SEND_ALLOWED,
    STATES,
    next_app_state,
    next_client_state,
    receive_allowed,
)

STATE_NUMBERS = range(len(STATES))


@pytest.mark.parametrize("app_state", STATE_NUMBERS)
def test_send_allowed_matches_the_app_table(app_state: int) -> None:
    assert SEND_ALLOWED[app_state] == (next_app_state(app_state, SEND) >= 0)


@pytest.mark.parametrize("app_state", STATE_NUMBERS)
@pytest.mark.parametrize("client_state", [0, 1, 2])  # the client side has no RESPONSE state
def test_receive_allowed_matches_the_client_table(client_state: int, app_state: int) -> None:
    expected = next_client_state(client_state, app_state, RECEIVE) >= 0
    assert receive_allowed(client_state, app_state) == expected
