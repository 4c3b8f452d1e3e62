"""What a Jupyter data path holds of a widget module, and its files, safely.

A data path (``{prefix}/share/jupyter``) can hold a module as an AMD nbextension
(``nbextensions/{module}/index.js``) and as a federated labextension
(``labextensions/{module}/package.json`` naming its container). Every file is found by its
real path, which must stay inside the ``{kind}`` folder: a symlink that leads out is refused.

Blocking file system calls: the finder and the file handler run these in a thread.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from ...wire.bounded import Recent
from .shapes import Format, Kind, NotServed, relative_parts

AMD_ENTRY = "index.js"
NOT_THERE = "not there"
#: The largest package.json read (a labextension's is a few KiB).
PACKAGE_LIMIT = 1024 * 1024
#: The largest AMD bundle searched for the version it embeds (the biggest widget bundles are
#: a few MiB).
SCAN_LIMIT = 32 * 1024 * 1024
#: Bundles whose embedded version is remembered (by path, size and modification time).
SCANNED_LIMIT = 1024


@dataclass(frozen=True)
class Installed:
    """A module as one data path has it."""

    kind: Kind
    format: Format
    #: "" when unknown.
    version: str
    #: The file to load, relative to the module's folder.
    entry: str
    #: Federated: the container's module that exports the plugin(s).
    extension: str = ""


def locate(data_path: str, kind: Kind, module: str, parts: tuple[str, ...]) -> str:
    """The real path of ``{data_path}/{kind}/{module}/{parts}``, a file whose real path is
    inside the real ``{kind}`` folder; NotServed otherwise. ``module`` and ``parts`` are
    checked names (shapes.is_npm_name, shapes.relative_parts)."""
    kind_dir = os.path.join(data_path, kind)
    root = os.path.realpath(kind_dir)
    target = os.path.realpath(os.path.join(kind_dir, *module.split("/"), *parts))
    if os.path.commonpath([root, target]) != root:
        raise NotServed(f"a symlink leading out of {kind}")
    if not os.path.isfile(target):
        raise NotServed(NOT_THERE)
    return target


def _read_package(data_path: str, module: str) -> dict[str, Any]:
    path = locate(data_path, "labextensions", module, ("package.json",))
    try:
        with open(path, "rb") as f:
            package = json.loads(f.read(PACKAGE_LIMIT + 1))
    except (OSError, ValueError) as e:
        raise NotServed(f"its labextension's package.json is unreadable ({e})") from e
    if not isinstance(package, dict):
        raise NotServed("its labextension's package.json is not an object")
    return package


def _version_of(package: dict[str, Any]) -> str:
    version = package.get("version")
    return version if isinstance(version, str) else ""


def _container(package: dict[str, Any]) -> tuple[str, str]:
    """A built labextension's container file and plugin module (``jupyterlab._build``)."""
    lab = package.get("jupyterlab")
    build = lab.get("_build") if isinstance(lab, dict) else None
    load = build.get("load") if isinstance(build, dict) else None
    extension = build.get("extension") if isinstance(build, dict) else None
    version = _version_of(package)
    if not isinstance(load, str) or not isinstance(extension, str):
        raise NotServed("a labextension with no built container (jupyterlab._build)", version)
    return load.removeprefix("./"), extension


class Extensions:
    """Looks modules up in data paths; remembers the versions AMD bundles embed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scanned: Recent[tuple[str, int, int], str] = Recent(SCANNED_LIMIT)

    def look(self, data_path: str, module: str) -> Installed:
        """The module as ``data_path`` has it: its nbextension if it has one, else its
        federated labextension; NotServed otherwise."""
        try:
            locate(data_path, "nbextensions", module, (AMD_ENTRY,))
        except NotServed as amd:
            try:
                return self._federated(data_path, module)
            except NotServed as federated:
                raise federated if federated.why != NOT_THERE else amd from None
        return Installed("nbextensions", "amd", self.amd_version(data_path, module), AMD_ENTRY)

    def _federated(self, data_path: str, module: str) -> Installed:
        package = _read_package(data_path, module)
        version = _version_of(package)
        entry, extension = _container(package)
        parts = relative_parts(entry)
        if parts is None:
            raise NotServed(f"its labextension's container {entry!r} is not a file in it", version)
        try:
            locate(data_path, "labextensions", module, parts)
        except NotServed as e:
            raise NotServed(f"its labextension's container: {e.why}", version) from None
        return Installed("labextensions", "federated", version, entry, extension)

    def version(self, data_path: str, kind: Kind, module: str) -> str:
        """The version of the module's ``kind`` folder in ``data_path`` ("" when unknown)."""
        if kind == "labextensions":
            try:
                return _version_of(_read_package(data_path, module))
            except NotServed:
                return ""
        return self.amd_version(data_path, module)

    def amd_version(self, data_path: str, module: str) -> str:
        """An nbextension's version: its labextension's, else the one its bundle embeds."""
        try:
            return _version_of(_read_package(data_path, module))
        except NotServed:
            pass
        try:
            bundle = locate(data_path, "nbextensions", module, (AMD_ENTRY,))
            stat = os.stat(bundle)
        except (NotServed, OSError):
            return ""
        key = (bundle, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._scanned.get(key)
        if known is None:
            known = _embedded_version(bundle, module, stat.st_size)
            with self._lock:
                self._scanned.add(key, known)
        return known


def _embedded_version(bundle: str, module: str, size: int) -> str:
    """The version of the package.json a bundle embeds (``"name":"m","version":"1.2.3"``)."""
    if size > SCAN_LIMIT:
        return ""
    pattern = re.compile(
        rb'"name"\s*:\s*"'
        + re.escape(module.encode())
        + rb'"\s*,\s*"version"\s*:\s*"([0-9A-Za-z.+-]{1,64})"'
    )
    try:
        with open(bundle, "rb") as f:
            match = pattern.search(f.read(SCAN_LIMIT))
    except OSError:
        return ""
    return match.group(1).decode() if match else ""
