"""Bounded memories: a long-running server forgets its oldest entries."""

from __future__ import annotations

from jupyter_comm_bridge.wire.bounded import Recent, RecentKeys


def test_recent_keeps_the_newest_entries() -> None:
    recent: Recent[str, int] = Recent(3)
    for i in range(5):
        recent.add(f"k{i}", i)
    assert list(recent) == ["k2", "k3", "k4"]
    recent.add("k2", 20)  # added again: newest
    recent.add("k5", 5)
    assert list(recent) == ["k4", "k2", "k5"]
    assert recent.pop("k4") == 4 and recent.pop("k4") is None


def test_recent_by_size_forgets_until_it_fits_but_keeps_one() -> None:
    recent: Recent[str, bytes] = Recent(100, size=len, max_size=10)
    recent.add("a", b"x" * 4)
    recent.add("b", b"x" * 4)
    recent.add("c", b"x" * 4)
    assert list(recent) == ["b", "c"] and recent.total == 8
    recent.add("huge", b"x" * 50)
    assert list(recent) == ["huge"] and recent.total == 50
    recent.pop("huge")
    assert recent.total == 0


def test_recent_keys_note_says_whether_it_was_seen() -> None:
    seen: RecentKeys[str] = RecentKeys(2)
    assert seen.note("a") is False
    assert seen.note("a") is True
    seen.note("b")
    seen.note("c")
    assert "a" not in seen and seen.note("c") is True
