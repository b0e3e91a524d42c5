"""The per-message fast-path tables of _state.py agree with the transition tables, pair by pair."""

from __future__ import annotations

import pytest

from typedws._state import (
    APP_TRANSITIONS,
    CLIENT_TRANSITIONS,
    CONNECTED,
    RECEIVE,
    RECEIVE_ALLOWED,
    SEND,
    SEND_ALLOWED,
    STATES,
    next_app_state,
    next_client_state,
    receive_allowed,
    send_allowed,
)

APP_STATES = sorted(APP_TRANSITIONS)
CLIENT_STATES = sorted(CLIENT_TRANSITIONS)


@pytest.mark.parametrize("app_state", APP_STATES)
def test_send_allowed_matches_the_app_table(app_state: int) -> None:
    assert SEND_ALLOWED[app_state] == (next_app_state(app_state, SEND) >= 0)


@pytest.mark.parametrize("app_state", APP_STATES)
@pytest.mark.parametrize("client_state", CLIENT_STATES)
def test_receive_allowed_matches_the_client_table(client_state: int, app_state: int) -> None:
    # The fast path is the open client side only; a frame that reaches a receive already
    # waiting when the transport broke (client side GONE) takes the general path.
    expected = (
        client_state == CONNECTED and next_client_state(client_state, app_state, RECEIVE) >= 0
    )
    assert receive_allowed(client_state, app_state) == expected


@pytest.mark.parametrize("app_state", APP_STATES)
def test_send_allowed_predicate_matches_the_folded_table(app_state: int) -> None:
    assert send_allowed(app_state) == SEND_ALLOWED[app_state]


@pytest.mark.parametrize("app_state", APP_STATES)
@pytest.mark.parametrize("client_state", CLIENT_STATES)
def test_receive_allowed_predicate_matches_the_folded_table(
    client_state: int, app_state: int
) -> None:
    assert (
        receive_allowed(client_state, app_state)
        == RECEIVE_ALLOWED[client_state * len(STATES) + app_state]
    )
