"""A mapping that forgets its oldest entries: for what a long-running server remembers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """The most recent entries, at most ``limit`` of them, and (with ``size``) at most
    ``max_size`` in total of ``size(value)``; the oldest go first. At least one entry is kept."""

    def __init__(
        self,
        limit: int,
        size: Callable[[V], int] | None = None,
        max_size: int = 0,
    ) -> None:
        self.limit = limit
        self._size = size
        self.max_size = max_size
        self.total = 0
        self._entries: OrderedDict[K, V] = OrderedDict()

    def add(self, key: K, value: V) -> None:
        """Remember ``key`` as the newest entry, forgetting the oldest beyond the bounds."""
        self.pop(key)
        self._entries[key] = value
        if self._size is not None:
            self.total += self._size(value)
        while len(self._entries) > 1 and (
            len(self._entries) > self.limit or (self._size and self.total > self.max_size)
        ):
            self._forget(*self._entries.popitem(last=False))

    def pop(self, key: K, default: V | None = None) -> V | None:
        if key not in self._entries:
            return default
        value = self._entries.pop(key)
        self._forget(key, value)
        return value

    def _forget(self, key: K, value: V) -> None:
        if self._size is not None:
            self.total -= self._size(value)

    def get(self, key: K, default: V | None = None) -> V | None:
        return self._entries.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)


class RecentKeys(Recent[K, None]):
    """A bounded set of the most recent keys."""

    def note(self, key: K) -> bool:
        """Remember ``key``; True if it was already there."""
        seen = key in self
        self.add(key, None)
        return seen
