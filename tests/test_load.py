"""Load and faults through a real server: uvicorn on 127.0.0.1 running tests/load_app.py.

* Many concurrent clients each send a stream of JSON messages to an echo handler built on
  ``typedws.WebSocket``; every echo must come back exactly once and in order.
* Clients that drop their TCP connection mid-stream, without a close frame, while others keep
  talking: the others are unaffected, every handler exits with WebSocketDisconnect (counted by the
  server), no handler or task is left behind, and resident memory returns to within 20 MB.
* A handler that keeps sending after its client vanished gets WebSocketDisconnect(1006), and again
  on the next send, instead of hanging.

The normal run uses a reduced size (well under a minute for everything); ``nox -s soak``
(TYPEDWS_SOAK=1) runs the full one: 500 clients x 200 messages, 5 rounds of 100 dropped
connections.
Each test is run against uvicorn's two websocket implementations that ship with ``websockets``.
Figures are printed (``-s`` shows them).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from load_harness import (
    SOAK,
    ServerProcess,
    dropping_client,
    echo_client,
    vanishing_reader,
)

ECHO_CLIENTS, ECHO_MESSAGES = (500, 200) if SOAK else (100, 50)
DROPPED, TALKERS, TALKER_MESSAGES = (100, 100, 200) if SOAK else (25, 25, 50)
#: Rounds of dropped + talking clients after the warm-up one: a leak grows with each round.
FAULT_ROUNDS = 5 if SOAK else 1
VANISHING = 20 if SOAK else 5
MEMORY_SLACK_KIB = 20 * 1024

WS_IMPLS = ["websockets", "websockets-sansio"]
#: The close code each uvicorn implementation reports when a client's TCP connection drops without
#: a close frame. RFC 6455 section 7.1.5 says 1006; uvicorn 0.54's websockets-sansio reports 1005
#: (its connection_lost), and typedws passes on what the server reports.
DROP_CODE = {"websockets": 1006, "websockets-sansio": 1005}

pytestmark = [
    pytest.mark.parametrize("ws_impl", WS_IMPLS),
    pytest.mark.timeout(900 if SOAK else 120),
]


def _check_echoes(received: list[Any], client: int, messages: int) -> tuple[int, int]:
    """(lost, duplicated) for one client's echoes; also fails on reordering or foreign data."""
    indices = [m["i"] for m in received]
    assert all(m == {"c": client, "i": m["i"]} for m in received), "an echo from another client"
    counts = Counter(indices)
    lost = sum(1 for i in range(messages) if i not in counts)
    duplicated = sum(n - 1 for n in counts.values())
    if not lost and not duplicated:
        assert indices == list(range(messages)), "echoes out of order"
    return lost, duplicated


async def _echo_wave(url: str, clients: int, messages: int, first: int = 0) -> tuple[int, int]:
    results = await asyncio.gather(*(echo_client(url, first + c, messages) for c in range(clients)))
    lost = duplicated = 0
    for c, received in enumerate(results):
        client_lost, client_duplicated = _check_echoes(received, first + c, messages)
        lost += client_lost
        duplicated += client_duplicated
    return lost, duplicated


def test_concurrent_clients_get_every_echo_once_and_in_order(ws_impl: str) -> None:
    async def main(server: ServerProcess) -> None:
        lost, duplicated = await _echo_wave(server.url, ECHO_CLIENTS, ECHO_MESSAGES)
        stats = await server.wait_for(lambda s: s["active"] == 0, "all handlers to exit")
        print(
            f"\n[load {ws_impl}] clients={ECHO_CLIENTS} messages/client={ECHO_MESSAGES} "
            f"total={ECHO_CLIENTS * ECHO_MESSAGES} lost={lost} duplicated={duplicated} "
            f"handler exits={stats['exits']}"
        )
        assert (lost, duplicated) == (0, 0)
        # Each client closed normally: every handler ended in WebSocketDisconnect(1000).
        assert stats["exits"] == {"WebSocketDisconnect:1000": ECHO_CLIENTS}
        assert stats["started"] == ECHO_CLIENTS

    with ServerProcess(ws_impl) as server:
        asyncio.run(main(server))


def test_dropped_connections_leave_others_unaffected_and_nothing_behind(ws_impl: str) -> None:
    rng = random.Random(6)

    async def main(server: ServerProcess) -> None:
        # Warm up with the same shape of traffic, so that the "before" figure includes the
        # memory any first run allocates for good (interned strings, caches, allocator arenas).
        await _round(server, first=0)
        before = await server.wait_for(lambda s: s["active"] == 0, "warm-up handlers to exit")
        lost = duplicated = seen = 0
        rss_mib = [round(before["rss_kib"] / 1024, 1)]
        for round_number in range(1, FAULT_ROUNDS + 1):
            round_lost, round_duplicated, round_seen = await _round(server, 10_000 * round_number)
            lost, duplicated, seen = (
                lost + round_lost,
                duplicated + round_duplicated,
                seen + round_seen,
            )
            idle = await server.wait_for(lambda s: s["active"] == 0, "the round's handlers")
            rss_mib.append(round(idle["rss_kib"] / 1024, 1))
        # uvicorn finishes its own per-connection tasks shortly after the handlers return: a
        # leak shows as this wait timing out, with the counts in the message.
        after = await server.wait_for(
            lambda s: s["active"] == 0 and s["tasks"] <= before["tasks"],
            "all handlers and their tasks to finish",
        )
        exits = Counter(after["exits"]) - Counter(before["exits"])
        growth = after["rss_kib"] - before["rss_kib"]
        print(
            f"\n[faults {ws_impl}] rounds={FAULT_ROUNDS} dropped/round={DROPPED} "
            f"(after {seen} echoes in all) "
            f"talkers/round={TALKERS}x{TALKER_MESSAGES} lost={lost} duplicated={duplicated} "
            f"handler exits={dict(exits)} errors={after['errors']} "
            f"tasks before/after={before['tasks']}/{after['tasks']} "
            f"rss before={before['rss_kib'] / 1024:.1f} MiB after={after['rss_kib'] / 1024:.1f} "
            f"MiB growth={growth / 1024:+.1f} MiB (per round: {rss_mib})"
        )
        assert (lost, duplicated) == (0, 0)
        assert exits == {
            # Gone without a close frame, or closed normally.
            f"WebSocketDisconnect:{DROP_CODE[ws_impl]}": DROPPED * FAULT_ROUNDS,
            "WebSocketDisconnect:1000": TALKERS * FAULT_ROUNDS,
        }
        assert abs(growth) < MEMORY_SLACK_KIB

    async def _round(server: ServerProcess, first: int) -> tuple[int, int, int]:
        droppers = asyncio.gather(
            *(
                dropping_client(server.url, first + c, rng.randint(1, TALKER_MESSAGES // 2))
                for c in range(DROPPED)
            )
        )
        talkers = _echo_wave(server.url, TALKERS, TALKER_MESSAGES, first=first + DROPPED)
        seen, (lost, duplicated) = await asyncio.gather(droppers, talkers)
        return lost, duplicated, sum(seen)

    with ServerProcess(ws_impl) as server:
        asyncio.run(main(server))


def test_sending_after_the_client_vanished_raises_1006_instead_of_hanging(ws_impl: str) -> None:
    async def main(server: ServerProcess) -> None:
        await asyncio.gather(*(vanishing_reader(server.url, 3) for _ in range(VANISHING)))
        stats = await server.wait_for(
            lambda s: s["active"] == 0, "every flooding handler to give up", timeout=30
        )
        print(f"\n[vanish {ws_impl}] clients={VANISHING} flood outcomes={stats['flood']}")
        assert stats["flood"] == {"first=1006 second=1006": VANISHING}
        assert stats["exits"] == {"WebSocketDisconnect:1006": VANISHING}

    with ServerProcess(ws_impl) as server:
        asyncio.run(main(server))
