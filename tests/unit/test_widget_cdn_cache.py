"""The CDN's files on disk: atomic writes, a bound on what is kept (widgets/cdn_cache.py)."""

from __future__ import annotations

import logging
import os

import pytest

from jupyter_comm_bridge.widgets.libraries.cdn_cache import PARTIAL, DiskCache

LOG = logging.getLogger("test")


def test_written_files_are_read_back_and_survive_a_restart(tmp_path):
    cache = DiskCache(tmp_path / "cache", 1000, LOG)
    assert cache.read("npm/m/1.0.0/dist/index.js") is None
    cache.write("npm/m/1.0.0/dist/index.js", b"define([], {});")
    cache.write("npm/@s/m/1.0.0/dist/index.js", b"scoped")
    assert cache.read("npm/m/1.0.0/dist/index.js") == b"define([], {});"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(PARTIAL)]
    again = DiskCache(tmp_path / "cache", 1000, LOG)
    assert again.read("npm/@s/m/1.0.0/dist/index.js") == b"scoped"


def test_the_least_recently_used_go_past_the_bound(tmp_path):
    cache = DiskCache(tmp_path, 250, LOG)
    for name in "abc":
        cache.write(f"npm/{name}/1.0.0/f.js", name.encode() * 100)
    # 300 bytes > 250: the oldest went
    assert cache.read("npm/a/1.0.0/f.js") is None
    assert cache.read("npm/b/1.0.0/f.js") is not None  # b is now the most recent
    cache.write("npm/d/1.0.0/f.js", b"d" * 100)
    assert cache.read("npm/c/1.0.0/f.js") is None
    assert cache.read("npm/b/1.0.0/f.js") is not None
    assert cache.total <= 250
    # bigger than the whole cache: not kept at all
    cache.write("npm/e/1.0.0/f.js", b"e" * 251)
    assert cache.read("npm/e/1.0.0/f.js") is None
    # a restart knows what the folder holds, oldest first
    os.utime(tmp_path / "npm/d/1.0.0/f.js", (1, 1))
    again = DiskCache(tmp_path, 250, LOG)
    again.write("npm/f/1.0.0/f.js", b"f" * 100)
    assert again.read("npm/d/1.0.0/f.js") is None
    assert again.read("npm/b/1.0.0/f.js") is not None


def test_stale_partial_files_are_removed(tmp_path):
    stale = tmp_path / "npm" / f".x{PARTIAL}"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    os.utime(stale, (1, 1))
    cache = DiskCache(tmp_path, 1000, LOG)
    cache.write("npm/m/1.0.0/a.js", b"a")
    assert not stale.exists()


@pytest.mark.parametrize("key", ["../outside", "npm/../../outside", "npm/a/../../../x"])
def test_keys_never_leave_the_folder(tmp_path, key):
    cache = DiskCache(tmp_path / "cache", 1000, LOG)
    with pytest.raises(ValueError):
        cache.write(key, b"x")
    with pytest.raises(ValueError):
        cache.read(key)
