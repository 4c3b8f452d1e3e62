"""What the widget-module routes answer, and the names in their URLs (docs/widget-modules.md).

``GET comm-bridge/widgets/kernels/{kernel_id}/modules/{module}?version={range}`` answers a
:class:`ModuleFound` (200) or a :class:`ModuleMissing` (404); the module's files are then under
``comm-bridge/widgets/files/{source}/{kind}/{module}/{version}/``. Every name that reaches a
file system path or a CDN URL is checked here first.
"""

from __future__ import annotations

import re
from typing import Literal, TypedDict
from urllib.parse import quote

Source = Literal["kernel", "server", "cdn"]
Format = Literal["amd", "federated"]
Kind = Literal["nbextensions", "labextensions"]

FILES_PREFIX = "comm-bridge/widgets/files"
#: The ``{version}`` of a module whose version is unknown.
UNKNOWN = "unknown"
#: The ``{kind}`` of files from the CDN: the npm package's own layout.
NPM = "npm"

#: npm package names (validate-npm-package-name's rules, upper case allowed for old ones).
NPM_NAME = re.compile(r"(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*")
NPM_NAME_LIMIT = 214
#: Kernelspec names as jupyter_client allows them (never ``.`` or ``..``).
KERNELSPEC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}")
#: A version in a files URL: an exact semver version (or ``unknown``).
VERSION_SEGMENT = re.compile(r"[0-9A-Za-z.+-]{1,64}")
PATH_LIMIT = 1024


class _ModuleFound(TypedDict):
    module: str
    #: The version found ("" when unknown).
    version: str
    format: Format
    source: Source
    #: Where the module's files are, relative to the server's base_url, ending in "/".
    base: str
    #: The file to load, relative to ``base``.
    entry: str


class ModuleFound(_ModuleFound, total=False):
    #: Federated only: the container's module that exports the plugin(s) (``./extension``).
    extension: str


class Looked(TypedDict):
    source: Source
    #: A data path, a kernelspec, or the CDN's URL.
    where: str
    #: The version found there, or None.
    found: str | None
    why: str


class ModuleMissing(TypedDict):
    module: str
    #: The range asked for.
    version: str
    looked: list[Looked]
    #: One sentence for the user: the module and range, and what to do.
    message: str


class NotServed(Exception):
    """A module or file a source does not have (or has, but must not serve): ``why``."""

    def __init__(self, why: str, found: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        #: The version there, when there is one.
        self.found = found


def is_npm_name(name: str) -> bool:
    return len(name) <= NPM_NAME_LIMIT and NPM_NAME.fullmatch(name) is not None


def is_kernelspec_name(name: str) -> bool:
    return KERNELSPEC_NAME.fullmatch(name) is not None


def relative_parts(path: str) -> tuple[str, ...] | None:
    """The segments of a relative file path inside a module, or None when it could leave it:
    no empty, ``.`` or ``..`` segment (nor any hidden name), no backslash, no NUL."""
    if not path or len(path) > PATH_LIMIT:
        return None
    parts = tuple(path.split("/"))
    for part in parts:
        if not part or part.startswith(".") or "\\" in part or "\0" in part:
            return None
    return parts


def files_base(source: str, kind: str, module: str, version: str) -> str:
    """The URL (relative to base_url) under which a module's files are served.

    ``source``: ``kernelspecs/{name}``, ``server`` or ``cdn``; ``version``: "" when unknown."""
    segment = quote(version or UNKNOWN, safe="")
    return f"{FILES_PREFIX}/{source}/{kind}/{quote(module, safe='')}/{segment}/"
