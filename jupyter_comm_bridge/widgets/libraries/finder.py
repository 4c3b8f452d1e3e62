"""Finding a widget module for a kernel: the kernel's environment, the server's, the CDN.

In that order (docs/widget-modules.md). In each Jupyter data path the module is its AMD
nbextension, else its federated labextension (:mod:`.extensions`); a version that does not
satisfy the range the model asks for sends the search on, and when nothing does, the answer
says where it looked, what it found there and what the user can do.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .cdn import CdnSource
from .environments import KernelEnvironments, server_paths
from .extensions import Extensions, Installed
from .semver import satisfies
from .shapes import Looked, ModuleFound, ModuleMissing, NotServed, Source, files_base

SOURCE_NAMES: dict[Source, str] = {
    "kernel": "the kernel's environment",
    "server": "the server's environment",
    "cdn": "the CDN",
}


def mismatch(version: str, range_: str) -> str | None:
    """Why ``version`` will not do for ``range_``, or None (an unknown version will)."""
    if not version or satisfies(version, range_):
        return None
    return f"{version} does not satisfy {range_}"


def found(module: str, source: Source, url_source: str, installed: Installed) -> ModuleFound:
    answer = ModuleFound(
        module=module,
        version=installed.version,
        format=installed.format,
        source=source,
        base=files_base(url_source, installed.kind, module, installed.version),
        entry=installed.entry,
    )
    if installed.format == "federated":
        answer["extension"] = installed.extension
    return answer


def _what_was_there(source: Source, looked: list[Looked]) -> str | None:
    entries = [entry for entry in looked if entry["source"] == source]
    if not entries:
        return None
    versions = sorted({entry["found"] for entry in entries if entry["found"]})
    if versions:
        return f"{SOURCE_NAMES[source]} has {' and '.join(versions)}"
    if source == "cdn":
        return entries[0]["why"]
    return f"{SOURCE_NAMES[source]} does not have it"


def message(module: str, range_: str, looked: list[Looked], kernel_why: str, cdn_on: bool) -> str:
    """One sentence for the user: the module and range asked for, and what to do."""
    reasons = [kernel_why] if kernel_why else []
    for source in SOURCE_NAMES:
        if source != "kernel" or not kernel_why:
            reason = _what_was_there(source, looked)
            if reason:
                reasons.append(reason)
    place = "the server's environment" if kernel_why else "the kernel's environment"
    mismatched = any(entry["found"] for entry in looked)
    what = (
        "a version in that range of the library" if mismatched else "the library that provides it"
    )
    advice = f"install {what} in {place}"
    if not cdn_on:
        advice += ", or set CommBridgeApp.widget_cdn to load it from a CDN"
    return (
        f"The widget module {module} {range_ or '*'} could not be loaded "
        f"({'; '.join(reasons)}): {advice}."
    )


class ModuleFinder:
    """Finds modules for kernels. Owned by the extension, with the sources it searches."""

    def __init__(
        self, environments: KernelEnvironments, extensions: Extensions, cdn: CdnSource | None
    ) -> None:
        self.environments = environments
        self.extensions = extensions
        self.cdn = cdn

    async def find(self, kernel: Any, module: str, range_: str) -> ModuleFound | ModuleMissing:
        """``module`` in a version in ``range_`` for ``kernel`` (one of the server's kernel
        managers), or where it looked."""
        looked: list[Looked] = []
        environment = await self.environments.of_kernel(kernel)
        kernel_paths = [os.path.normpath(path) for path in environment.paths]
        spec = str(getattr(kernel, "kernel_name", ""))
        if environment.why:
            looked.append(
                Looked(source="kernel", where=f"kernelspec {spec}", found=None, why=environment.why)
            )
        # a data path both have (the user's, the system's) is the kernel's
        server = [p for p in map(os.path.normpath, server_paths()) if p not in kernel_paths]
        searches: list[tuple[Source, str, list[str]]] = [
            ("kernel", f"kernelspecs/{spec}", kernel_paths),
            ("server", "server", server),
        ]
        for source, url_source, paths in searches:
            answer = await asyncio.to_thread(
                self._look, source, url_source, paths, module, range_, looked
            )
            if answer is not None:
                return answer
        if self.cdn is not None:
            try:
                return await self.cdn.find(module, range_)
            except NotServed as e:
                where = self.cdn.where(module, range_)
                looked.append(Looked(source="cdn", where=where, found=e.found, why=e.why))
        return ModuleMissing(
            module=module,
            version=range_,
            looked=looked,
            message=message(module, range_, looked, environment.why, self.cdn is not None),
        )

    def _look(
        self,
        source: Source,
        url_source: str,
        paths: list[str],
        module: str,
        range_: str,
        looked: list[Looked],
    ) -> ModuleFound | None:
        """The first data path that has a version that will do (blocking: in a thread)."""
        for path in paths:
            try:
                installed = self.extensions.look(path, module)
            except NotServed as e:
                looked.append(Looked(source=source, where=path, found=e.found, why=e.why))
                continue
            why = mismatch(installed.version, range_)
            if why is None:
                return found(module, source, url_source, installed)
            looked.append(Looked(source=source, where=path, found=installed.version, why=why))
        return None
