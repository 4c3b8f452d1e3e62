"""npm semver ranges as widget models write them (jupyter_comm_bridge.widgets.libraries.semver)."""

from __future__ import annotations

import pytest

from jupyter_comm_bridge.widgets.libraries.semver import (
    is_exact_version,
    is_range,
    parse_version,
    satisfies,
)

# (range, versions it accepts, versions it refuses): what npm's semver.satisfies answers
CASES = [
    ("^0.12", ["0.12.0", "0.12.7"], ["0.11.0", "0.13.0", "1.0.0", "0.12.1-beta.1"]),
    ("^0.12.0", ["0.12.0", "0.12.3"], ["0.13.0", "0.11.9"]),
    ("^0.6.1", ["0.6.1", "0.6.9"], ["0.6.0", "0.7.0"]),
    ("^1.2.3", ["1.2.3", "1.9.0"], ["2.0.0", "1.2.2", "2.0.0-0", "2.0.0-alpha"]),
    ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
    ("^0.0", ["0.0.0", "0.0.9"], ["0.1.0"]),
    ("^0.x", ["0.0.1", "0.99.0"], ["1.0.0"]),
    ("^1", ["1.0.0", "1.99.99"], ["2.0.0", "0.9.0"]),
    ("^1.x", ["1.0.0", "1.5.0"], ["2.0.0"]),
    ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0", "1.1.9"]),
    ("~1.2.3", ["1.2.3", "1.2.8"], ["1.3.0", "1.2.2"]),
    ("~1", ["1.0.0", "1.9.0"], ["2.0.0"]),
    ("~>1.2", ["1.2.5"], ["1.3.0"]),
    ("3.1.0", ["3.1.0", "v3.1.0", "3.1.0+build.5"], ["3.1.1", "3.0.9"]),
    ("=3.1.0", ["3.1.0"], ["3.1.1"]),
    ("2.0.0", ["2.0.0"], ["2.0.1", "2.0.0-rc.1"]),
    ("1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
    ("1.2.x", ["1.2.0", "1.2.9"], ["1.3.0"]),
    ("1.x", ["1.0.0", "1.9.9"], ["2.0.0"]),
    ("1", ["1.0.0", "1.4.0"], ["2.0.0"]),
    ("*", ["0.0.0", "5.1.2", "2.0.0-alpha.1"], []),
    ("x", ["0.1.0", "9.9.9"], []),
    ("", ["1.0.0", "1.0.0-rc.1"], []),
    (">=1 <2", ["1.0.0", "1.99.0"], ["2.0.0", "0.9.9", "1.5.0-beta"]),
    (">= 1.2.3 < 2", ["1.2.3", "1.9.0"], ["1.2.2", "2.0.0"]),
    (">1", ["2.0.0"], ["1.9.9"]),
    (">1.2", ["1.3.0"], ["1.2.9"]),
    (">1.2.3", ["1.2.4"], ["1.2.3"]),
    ("<1.2", ["1.1.9"], ["1.2.0", "1.1.0-beta"]),
    ("<=1.2", ["1.2.9"], ["1.3.0"]),
    ("<=1.2.3", ["1.2.3"], ["1.2.4"]),
    (">*", [], ["0.0.0", "1.0.0"]),
    (">=*", ["0.0.0", "1.0.0"], []),
    ("1.x || 3.x", ["1.2.0", "3.0.0"], ["2.0.0", "4.0.0"]),
    ("^0.12 || ^1.0.0", ["0.12.1", "1.3.0"], ["0.13.0", "2.0.0"]),
    ("1.2 - 2.3.4", ["1.2.0", "2.3.4"], ["1.1.9", "2.3.5"]),
    ("1.2.3 - 2.3", ["1.2.3", "2.3.9"], ["2.4.0"]),
    ("1.2.3 - 2", ["2.9.9"], ["3.0.0"]),
    # prereleases: only when a comparator names one of the same major.minor.patch
    ("^1.2.3-beta.2", ["1.2.3-beta.2", "1.2.3-beta.10", "1.2.3", "1.5.0"], ["1.2.3-beta.1"]),
    ("^1.2.3-beta.2", [], ["1.3.0-beta.3", "1.2.3-alpha.9"]),
    (">=1.0.0-rc.1", ["1.0.0-rc.1", "1.0.0-rc.2", "1.0.0"], ["1.0.0-beta", "1.1.0-rc.1"]),
    ("~2.0.0-alpha.1", ["2.0.0-alpha.1", "2.0.0-alpha.2", "2.0.0"], ["2.0.1-alpha.1"]),
]


@pytest.mark.parametrize(("range_", "accepted", "refused"), CASES)
def test_ranges_as_npm_reads_them(range_, accepted, refused):
    for version in accepted:
        assert satisfies(version, range_), (version, range_)
    for version in refused:
        assert not satisfies(version, range_), (version, range_)


def test_prerelease_precedence():
    ordered = [
        "1.0.0-0",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    keys = [parse_version(v).key() for v in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    "text", ["latest", "1.2.3.4", "^", "~x.y", ">=a", "1.2.3-", "0.1.0a1", "^1" + " " * 300]
)
def test_invalid_ranges_hold_nothing(text):
    assert not is_range(text)
    assert not satisfies("1.2.3", text)


@pytest.mark.parametrize("text", ["1.2", "1.2.3.4", "0.1.0a1", "x", "", "1.2.3-", "latest"])
def test_invalid_versions_satisfy_nothing(text):
    assert not is_exact_version(text)
    assert not satisfies(text, "*")


def test_exact_versions():
    assert parse_version("1.2.3-beta.4+sha.5") == parse_version("v1.2.3-beta.4")
    assert parse_version("10.20.30").key() > parse_version("10.3.40").key()
