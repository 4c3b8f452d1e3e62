"""npm's semver ranges, as widget models name their frontend module's version.

A model's ``_model_module_version`` is an npm range (``^0.12``, ``~1.2``, ``3.1.0``, ``*``,
``>=1 <2``, ``1.x || 2.x``) and the module found has an exact version (a ``package.json``'s).
:func:`satisfies` answers as npm's ``semver.satisfies`` does (and so as JupyterLab's widget
manager does), with one difference: a range that accepts any version (``*``, ``x``, ``""``)
accepts prereleases too, because a kernel environment with a prerelease of a library installed
is what its user wants loaded. Any other range accepts a prerelease only when one of its
comparators names a prerelease of the same ``major.minor.patch`` (``^1.2.3-beta.1`` accepts
``1.2.3-beta.4``, not ``1.3.0-beta.1``), as npm does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The longest range looked at: a model's version range is a few characters.
MAX_RANGE = 256

_IDENT = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(rf"^\s*[v=]*\s*(\d+)\.(\d+)\.(\d+)(?:-({_IDENT}))?(?:\+{_IDENT})?\s*$")
_PART = r"x|X|\*|\d+"
_PARTIAL = re.compile(
    rf"^v?({_PART})(?:\.({_PART})(?:\.({_PART})(?:-({_IDENT}))?(?:\+{_IDENT})?)?)?$"
)
_OPERATOR = re.compile(r"^(<=|>=|<|>|=|~>|~|\^)?(.*)$")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")
_SPACE_AFTER_OPERATOR = re.compile(r"(<=|>=|<|>|=|~>|~|\^)\s+")

Identifier = int | str


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[Identifier, ...] = ()

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Sort key by semver precedence: a prerelease comes before its release, numeric
        identifiers before alphanumeric ones."""
        pre = tuple((0, i, "") if isinstance(i, int) else (1, 0, i) for i in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def same_release(self, other: Version) -> bool:
        return (self.major, self.minor, self.patch) == (other.major, other.minor, other.patch)


#: ``(operator, version)``: operator one of ``<``, ``<=``, ``>``, ``>=``, ``=``.
Comparator = tuple[str, Version]
#: Comparators that must all hold; an empty set accepts any version.
ComparatorSet = tuple[Comparator, ...]
#: A version that no version reaches: ``<0.0.0-0`` (what ``>*`` means).
NOTHING: ComparatorSet = (("<", Version(0, 0, 0, (0,))),)


def _identifiers(text: str | None) -> tuple[Identifier, ...]:
    if not text:
        return ()
    return tuple(int(i) if i.isdigit() else i for i in text.split("."))


def parse_version(text: str) -> Version | None:
    """An exact version (``1.2.3``, ``1.2.3-beta.1``, ``v1.2.3+build``), or None."""
    match = _VERSION.match(text)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return Version(int(major), int(minor), int(patch), _identifiers(pre))


def is_exact_version(text: str) -> bool:
    return parse_version(text) is not None


@dataclass(frozen=True)
class Partial:
    """A version with parts left out or wildcards (``1``, ``1.2``, ``1.x``, ``*``): None."""

    major: int | None
    minor: int | None
    patch: int | None
    prerelease: tuple[Identifier, ...] = ()

    def floor(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.prerelease)


def _number(part: str | None) -> int | None:
    return None if part is None or part in ("x", "X", "*") else int(part)


def parse_partial(text: str) -> Partial:
    match = _PARTIAL.match(text)
    if match is None:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch = (_number(p) for p in match.groups()[:3])
    # a wildcard makes every part after it a wildcard (1.x.3 is 1.x)
    if major is None:
        minor = patch = None
    if minor is None:
        patch = None
    return Partial(major, minor, patch, _identifiers(match.group(4)) if patch is not None else ())


def _below(major: int, minor: int = 0, patch: int = 0) -> Comparator:
    """``<major.minor.patch-0``: below that release and all its prereleases."""
    return ("<", Version(major, minor, patch, (0,)))


def _caret(p: Partial) -> ComparatorSet:
    if p.major is None:
        return ()
    if p.minor is None:
        return ((">=", p.floor()), _below(p.major + 1))
    if p.patch is None:
        upper = _below(0, p.minor + 1) if p.major == 0 else _below(p.major + 1)
        return ((">=", p.floor()), upper)
    if p.major != 0:
        upper = _below(p.major + 1)
    elif p.minor != 0:
        upper = _below(0, p.minor + 1)
    else:
        upper = _below(0, 0, p.patch + 1)
    return ((">=", p.floor()), upper)


def _tilde(p: Partial) -> ComparatorSet:
    if p.major is None:
        return ()
    if p.minor is None:
        return ((">=", p.floor()), _below(p.major + 1))
    return ((">=", p.floor()), _below(p.major, p.minor + 1))


def _equal(p: Partial) -> ComparatorSet:
    if p.major is None:
        return ()
    if p.minor is None:
        return ((">=", p.floor()), _below(p.major + 1))
    if p.patch is None:
        return ((">=", p.floor()), _below(p.major, p.minor + 1))
    return (("=", p.floor()),)


def _ordered(op: str, p: Partial) -> ComparatorSet:
    """``>``, ``>=``, ``<``, ``<=`` with a partial version, as npm reads them."""
    if p.major is None:
        return NOTHING if op in ("<", ">") else ()
    if p.minor is not None and p.patch is not None:
        return ((op, p.floor()),)
    # the next release past the partial: 1 -> 2.0.0, 1.2 -> 1.3.0
    after = Version(p.major + 1, 0, 0) if p.minor is None else Version(p.major, p.minor + 1, 0)
    if op == ">":
        return ((">=", after),)
    if op == ">=":
        return ((">=", p.floor()),)
    if op == "<":
        return (_below(p.major, p.minor or 0),)
    return (_below(after.major, after.minor),)


def _comparator(token: str) -> ComparatorSet:
    match = _OPERATOR.match(token)
    assert match is not None  # the pattern matches any string
    op, rest = match.group(1) or "", match.group(2)
    partial = parse_partial(rest)
    if op == "^":
        return _caret(partial)
    if op in ("~", "~>"):
        return _tilde(partial)
    if op in ("", "="):
        return _equal(partial)
    return _ordered(op, partial)


def _hyphen(low: str, high: str) -> ComparatorSet:
    lower, upper = parse_partial(low), parse_partial(high)
    result: list[Comparator] = []
    if lower.major is not None:
        result.append((">=", lower.floor()))
    if upper.major is not None:
        result.extend(_ordered("<=", upper))
    return tuple(result)


def _comparator_set(text: str) -> ComparatorSet:
    hyphen = _HYPHEN.match(text)
    if hyphen is not None:
        return _hyphen(hyphen.group(1), hyphen.group(2))
    tokens = _SPACE_AFTER_OPERATOR.sub(r"\1", text.strip()).split()
    return tuple(c for token in tokens for c in _comparator(token))


def parse_range(text: str) -> tuple[ComparatorSet, ...]:
    """The comparator sets of an npm range (any one may hold); ValueError if it is none."""
    if len(text) > MAX_RANGE:
        raise ValueError("range too long")
    return tuple(_comparator_set(part) for part in text.split("||"))


def is_range(text: str) -> bool:
    try:
        parse_range(text)
    except ValueError:
        return False
    return True


def _holds(comparator: Comparator, version: Version) -> bool:
    op, bound = comparator
    have, want = version.key(), bound.key()
    if op == "<":
        return have < want
    if op == "<=":
        return have <= want
    if op == ">":
        return have > want
    if op == ">=":
        return have >= want
    return have == want


def _set_accepts(comparators: ComparatorSet, version: Version) -> bool:
    if not comparators:
        return True  # any version, prereleases too (see the module's docstring)
    if not all(_holds(c, version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    return any(bound.prerelease and bound.same_release(version) for _, bound in comparators)


def satisfies(version: str, range_: str) -> bool:
    """Whether the exact ``version`` is in the npm ``range_`` (False if either is invalid)."""
    parsed = parse_version(version)
    if parsed is None:
        return False
    try:
        sets = parse_range(range_)
    except ValueError:
        return False
    return any(_set_accepts(s, parsed) for s in sets)
