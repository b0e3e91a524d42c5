"""The memory backend (``memory://``): one process, no I/O, works under asyncio and trio.

Each channel's hub keeps the last ``retention`` messages (from the first publish or subscribe on,
for the life of the ``Broadcast``) and assigns ids whose epoch is the moment the hub was created,
so an id handed out by an earlier process is recognised as another history (a reset gap).

Not compiled: these are thin async wrappers over ``_hub`` (compiled), where the work is.
"""

from __future__ import annotations

from ._backend import Backend, Fetch
from ._hub import Hub, SubQueue, now_ms, parse_id

__all__ = ["MemoryBackend"]

# The last epoch given to a hub in this process: epochs stay distinct across Broadcast instances
# created within the same millisecond, so an id of one never passes for an id of another.
_last_epoch = 0


def _new_epoch() -> int:
    global _last_epoch
    _last_epoch = max(now_ms(), _last_epoch + 1)
    return _last_epoch


class MemoryBackend(Backend):
    def __init__(self, retention: int) -> None:
        self.retention = retention
        self.hubs: dict[str, Hub] = {}

    def _hub(self, name: str) -> Hub:
        hub = self.hubs.get(name)
        if hub is None:
            hub = self.hubs[name] = Hub(name, self.retention, _new_epoch())
        return hub

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        for hub in self.hubs.values():
            hub.subscribers.clear()
        self.hubs.clear()

    async def publish(self, name: str, payload: bytes) -> str:
        return self._hub(name).append(payload).id

    async def attach(self, name: str, queue: SubQueue, last_id: str | None) -> Fetch | None:
        hub = self._hub(name)
        if last_id is None:
            queue.start_at(hub.epoch, hub.last_n, None if hub.last_n == 0 else hub.cursor)
        else:
            epoch, n = parse_id(last_id)
            if epoch == 0 and n == 0:
                queue.start_at(0, 0, None)  # from the start of the window
            elif epoch == hub.epoch and n <= hub.last_n:
                queue.start_at(epoch, n, last_id)
            else:
                queue.reset_from(last_id)  # not an id of this history: report, then go on
                epoch, n = 0, 0
            queue.add_backlog(hub.window_after(epoch, n))
        hub.register(queue)
        return None

    def detach(self, name: str, queue: SubQueue) -> None:
        hub = self.hubs.get(name)
        if hub is not None:
            hub.unregister(queue)

    def refill(self, name: str, queue: SubQueue) -> Fetch | None:
        queue.overflowed = False
        hub = self._hub(name)
        epoch = queue.last_epoch if queue.last_epoch > 0 else 0
        queue.add_backlog(hub.window_after(epoch, queue.last_n))
        return None

    async def fetch(self, name: str, queue: SubQueue, fetch: Fetch) -> bool:
        return False
