"""Replay stores: where used ``jti``s are kept until they expire. Keys are ``jti:<jti>``."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from .errors import IdentityError


class ReplayStore(Protocol):
    def set_if_absent(self, key: str, ttl_ms: float) -> bool:
        """Stores ``key`` for ``ttl_ms`` unless present; ``True`` when stored. Raises when it cannot answer."""
        ...


class MemoryStore:
    """The in-process store (one process only). When full, new entries are refused: the receiver answers 503."""

    def __init__(self, max_entries: int = 500_000, clock: Callable[[], float] | None = None) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be a positive integer")
        self._max = max_entries
        self._clock = clock or (lambda: time.time() * 1000)
        self._expiries: dict[str, float] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiries)

    def set_if_absent(self, key: str, ttl_ms: float) -> bool:
        now = self._clock()
        with self._lock:
            expiry = self._expiries.get(key)
            if expiry is not None and expiry > now:
                return False
            if len(self._expiries) >= self._max:
                for stale in [k for k, e in self._expiries.items() if e <= now]:
                    del self._expiries[stale]
                if len(self._expiries) >= self._max:
                    raise IdentityError("store_unavailable", "the identity store is full")
            self._expiries[key] = now + max(1000.0, math.ceil(ttl_ms))
            return True


class RedisStore:
    """A store shared by several receivers, Node or Python: ``SET <prefix><key> "" PX <ms> NX``.

    The default prefix and the ``jti:<jti>`` keys are those of the TypeScript ``RedisStore``, so both
    kinds of receiver can share one Redis. ``client`` is a ``redis.Redis`` (with ``socket_timeout`` set).
    """

    def __init__(self, client: Any, prefix: str = "mcp-identity:") -> None:
        if not callable(getattr(client, "set", None)):
            raise ValueError("client must be a redis.Redis client")
        self._client = client
        self.prefix = prefix

    def set_if_absent(self, key: str, ttl_ms: float) -> bool:
        ms = max(1000, math.ceil(ttl_ms))
        try:
            answer = self._client.set(self.prefix + key, "", px=ms, nx=True)
        except Exception as error:
            raise IdentityError("store_unavailable", "the Redis store could not run SET") from error
        if answer is True or answer == b"OK" or answer == "OK":
            return True
        if answer is None:
            return False
        raise IdentityError("store_unavailable", "the Redis store gave an unexpected answer to SET")
