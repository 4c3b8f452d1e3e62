"""The CDN's files on disk: written atomically, the least recently used dropped past a bound.

Keys are relative paths the CDN source builds from checked names (``npm/{module}/{version}/
{path}``); files of an exact version never change, so a file once written is good for good.
Blocking calls: the CDN source runs them in a thread; the index is guarded by a lock.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

#: Suffix of files being written (renamed into place when complete).
PARTIAL = ".partial"
#: A partial file older than this was left by a process that died while writing it.
STALE_PARTIAL = 3600.0


class DiskCache:
    """Files under ``root``, at most ``limit`` bytes in all (the least recently used go)."""

    def __init__(self, root: Path, limit: int, log: logging.Logger) -> None:
        self.root = Path(os.path.abspath(root))
        self.limit = limit
        self.log = log
        self._lock = threading.Lock()
        #: key -> size, the least recently used first; None until the folder is read.
        self._index: OrderedDict[str, int] | None = None
        self.total = 0

    def _path(self, key: str) -> Path:
        path = Path(os.path.normpath(self.root.joinpath(*key.split("/"))))
        # the key's segments are checked by the caller; this keeps a mistake from escaping
        if os.path.commonpath([self.root, path]) != str(self.root):
            raise ValueError(f"not a cache key: {key!r}")
        return path

    def _load(self) -> OrderedDict[str, int]:
        """What the folder holds (from an earlier run too), oldest first."""
        if self._index is not None:
            return self._index
        found: list[tuple[float, str, int]] = []
        now = time.time()
        for directory, _, names in os.walk(self.root):
            for name in names:
                path = Path(directory, name)
                try:
                    stat = path.stat()
                    if name.endswith(PARTIAL):
                        if now - stat.st_mtime > STALE_PARTIAL:
                            path.unlink()
                        continue
                except OSError:
                    continue
                key = path.relative_to(self.root).as_posix()
                found.append((stat.st_mtime, key, stat.st_size))
        self._index = OrderedDict((key, size) for _, key, size in sorted(found))
        self.total = sum(self._index.values())
        return self._index

    def read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            body = path.read_bytes()
        except OSError:
            return None
        with self._lock:
            index = self._load()
            if key in index:
                index.move_to_end(key)
        try:
            os.utime(path)  # the order survives a restart
        except OSError:
            pass
        return body

    def write(self, key: str, body: bytes) -> None:
        """Keep ``body`` as ``key`` (a file bigger than the whole cache is not kept)."""
        if len(body) > self.limit:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=PARTIAL)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(body)
                os.replace(partial, path)
            except BaseException:
                os.unlink(partial)
                raise
        except OSError as e:
            self.log.warning("comm-bridge: could not cache %s: %s", key, e)
            return
        with self._lock:
            index = self._load()
            self.total -= index.pop(key, 0)
            index[key] = len(body)
            self.total += len(body)
            self._evict(index, keep=key)

    def _evict(self, index: OrderedDict[str, int], keep: str) -> None:
        while self.total > self.limit and len(index) > 1:
            key, size = next(iter(index.items()))
            if key == keep:
                index.move_to_end(key)
                continue
            del index[key]
            self.total -= size
            try:
                self._path(key).unlink()
            except OSError:
                pass
