"""A hostile client for tests/test_production_server.py, in a process of its own.

``python flood_client.py URL SECONDS RATE`` sends RATE messages a second (in bursts of 1 % of
RATE every 10 ms) to URL for SECONDS, reconnecting whenever the server closes the connection,
then prints one JSON line: ``{"sent": n, "codes": {"1008": k, ...}}``, the close codes it got.
A process of its own, so that the flood keeps its rate however busy the test's own clients are.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def flood(url: str, seconds: float, rate: int) -> dict[str, object]:
    burst = max(rate // 100, 1)
    sent = 0
    codes: Counter[str] = Counter()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        # A queue that never fills: the echoes are read (and dropped) as they come, so the close
        # frame behind them is seen at once; a client that reads nothing is throttled by TCP
        # instead. (A large number rather than None: websockets takes None from 15.0 only.)
        with connect(
            url, open_timeout=30, close_timeout=10, max_size=None, max_queue=1 << 20
        ) as ws:
            try:
                tick = time.monotonic()
                while time.monotonic() < until:
                    for i in range(burst):
                        ws.send(str(i))
                        sent += 1
                    tick += 0.01
                    time.sleep(max(tick - time.monotonic(), 0))
                ws.close()
            except ConnectionClosed:
                pass
            try:
                while True:
                    ws.recv(timeout=10)
            except (ConnectionClosed, TimeoutError):
                pass
            received = ws.close_code
            codes[str(received)] += 1
    return {"sent": sent, "codes": dict(codes)}


if __name__ == "__main__":
    url, seconds, rate = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(flood(url, seconds, rate)), flush=True)
