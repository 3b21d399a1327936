"""Rate-limit counts in the worker's own memory, for a single instance without Redis.

The ``limits`` library's memory storage throws old counts away from a timer thread: every
count it takes starts a new thread when none is waiting, up to a hundred a second, and each
run walks every count kept. Under load that was a twentieth of a sheet send. This storage is
the same one, with the walk done by the request that finds it due, at most once a second, and
no thread. A count past its window is refused as before when it is read (``MemoryStorage.get``
checks each key's expiry); the walk only frees memory.

Configured as ``RATELIMIT_STORAGE_URI = "worker-memory://"`` (the default); with ``REDIS_URL``
set, the counts go to Redis instead, shared by every instance.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from limits.storage import MemoryStorage

SCHEME = "worker-memory"
# Seconds between walks over the kept counts.
EXPIRY_INTERVAL = 1.0


class WorkerMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_walk = time.monotonic() + EXPIRY_INTERVAL
        self._walking = threading.Lock()

    # MemoryStorage calls this before each count it takes; it would start the timer thread.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_walk or not self._walking.acquire(blocking=False):
            return
        try:
            self._next_walk = now + EXPIRY_INTERVAL
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._walking.release()
