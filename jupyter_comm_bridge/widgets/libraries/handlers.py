"""The widget-module routes (docs/widget-modules.md, "HTTP").

``comm-bridge/widgets/kernels/{kernel_id}/modules/{module}?version={range}``: where a kernel's
widget module is (authorized as ``read`` on kernels and on kernelspecs);
``comm-bridge/widgets/files/{source}/{kind}/{module}/{version}/{path}``: its files (authorized
as the kernelspecs API). Both are API handlers: without a login they answer 403, never a
redirect to the login page, and their errors are JSON that say why.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .cdn import CdnSource
from .environments import KernelEnvironments, server_paths
from .extensions import NOT_THERE, Extensions, locate
from .finder import ModuleFinder
from .shapes import (
    FILES_PREFIX,
    NPM,
    UNKNOWN,
    Kind,
    ModuleMissing,
    NotServed,
    is_kernelspec_name,
    is_npm_name,
    relative_parts,
)

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# {module} is one URL-encoded segment (%40scope%2Fname); tornado decodes the groups after
# matching, so every name is checked again once decoded
MODULES_URL_PATTERN = (
    rf"comm-bridge/widgets/kernels/(?P<kernel_id>{UUID})/modules/(?P<module>[^/]+)"
)
FILES_URL_PATTERN = (
    rf"{FILES_PREFIX}/(?P<source>server|cdn|kernelspecs/[^/]+)"
    r"/(?P<kind>nbextensions|labextensions|npm)/(?P<module>[^/]+)/(?P<version>[^/]+)/(?P<path>.+)"
)
IMMUTABLE = "private, max-age=31536000, immutable"
#: Media types that must not depend on the machine's mime.types (a script served as
#: text/plain does not run; WebAssembly compiles while it streams only as application/wasm).
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".txt": "text/plain; charset=utf-8",
}


def media_type(name: str) -> str:
    extension = os.path.splitext(name)[1].lower()
    if extension in MEDIA_TYPES:
        return MEDIA_TYPES[extension]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise NotServed(f"unreadable ({e.strerror or e})") from e


class WidgetModulesHandler(APIHandler):
    """Where a kernel's widget module is: 200 with where to load it, or 404 with why not."""

    auth_resource = "kernels"

    def initialize(self, finder: ModuleFinder) -> None:
        self.finder = finder

    @web.authenticated
    @authorized
    async def get(self, kernel_id: str, module: str) -> None:
        # the answer names kernelspecs' data paths: as the kernelspecs API reads them
        if not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", "kernelspecs")
        ):
            raise web.HTTPError(403, "User is not authorized to read on resource: kernelspecs.")
        range_ = self.get_query_argument("version", "*")
        self.set_header("Cache-Control", "no-store")  # what is installed changes
        if not is_npm_name(module):
            return self._missing(module, range_, f"{module!r} is not an npm package name.")
        if kernel_id not in self.kernel_manager:
            return self._missing(module, range_, f"There is no kernel {kernel_id}.")
        kernel = self.kernel_manager.get_kernel(kernel_id)
        answer = await self.finder.find(kernel, module, range_)
        self.set_status(404 if "looked" in answer else 200)
        self.finish(json.dumps(answer))

    def _missing(self, module: str, range_: str, message: str) -> None:
        self.set_status(404)
        answer = ModuleMissing(module=module, version=range_, looked=[], message=message)
        self.finish(json.dumps(answer))


class WidgetFilesHandler(APIHandler):
    """A widget module's file, from a data path of its source or from the CDN's cache."""

    auth_resource = "kernelspecs"

    def initialize(
        self, environments: KernelEnvironments, extensions: Extensions, cdn: CdnSource | None
    ) -> None:
        self.environments = environments
        self.extensions = extensions
        self.cdn = cdn

    @web.authenticated
    @authorized
    async def get(self, source: str, kind: str, module: str, version: str, path: str) -> None:
        parts = relative_parts(path)
        if parts is None:
            raise web.HTTPError(404, "Not a file inside the module's folder.")
        if not is_npm_name(module):
            raise web.HTTPError(404, f"{module!r} is not an npm package name.")
        try:
            if source == "cdn":
                body, current = await self._from_cdn(kind, module, version, path)
            else:
                body, current = await self._from_data_paths(source, kind, module, version, parts)
        except NotServed as e:
            raise web.HTTPError(404, f"{module}/{path}: {e.why}.") from None
        # a URL names a version; what is served for it is for good only while it is that one
        self.set_header("Cache-Control", IMMUTABLE if current else "no-cache")
        self.finish(body, set_content_type=media_type(parts[-1]))

    async def _from_cdn(
        self, kind: str, module: str, version: str, path: str
    ) -> tuple[bytes, bool]:
        if self.cdn is None:
            raise NotServed("the CDN source is off (CommBridgeApp.widget_cdn)")
        if kind != NPM:
            raise NotServed(f"the CDN's files are under {NPM}/")
        return await self.cdn.file(module, version, path), True

    async def _from_data_paths(
        self, source: str, kind: str, module: str, version: str, parts: tuple[str, ...]
    ) -> tuple[bytes, bool]:
        if kind not in ("nbextensions", "labextensions"):
            raise NotServed(f"{kind} is not a folder of a Jupyter data path")
        if source == "server":
            paths = server_paths()
        else:
            name = source.removeprefix("kernelspecs/")
            if not is_kernelspec_name(name):
                raise NotServed(f"{name!r} is not a kernelspec name")
            environment = await self.environments.of_spec(name)
            if environment.why:
                raise NotServed(environment.why)
            paths = environment.paths
        kind_: Kind = "nbextensions" if kind == "nbextensions" else "labextensions"
        return await asyncio.to_thread(self._read, paths, kind_, module, version, parts)

    def _read(
        self, paths: tuple[str, ...], kind: Kind, module: str, version: str, parts: tuple[str, ...]
    ) -> tuple[bytes, bool]:
        """The file from the data path that has the module in ``version``, else from the first
        that has the file (the module changed since the page was told its version)."""
        if version != UNKNOWN:
            for data_path in paths:
                if self.extensions.version(data_path, kind, module) == version:
                    return _read_file(locate(data_path, kind, module, parts)), True
        refusal: NotServed | None = None
        for data_path in paths:
            try:
                file = locate(data_path, kind, module, parts)
            except NotServed as e:
                if e.why != NOT_THERE:
                    refusal = refusal or e
                continue
            return _read_file(file), False
        raise refusal or NotServed(NOT_THERE)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # errors are never cached: the file may be installed a moment later
        self.set_header("Cache-Control", "no-store")
        super().write_error(status_code, **kwargs)
