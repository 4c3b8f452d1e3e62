"""The assets: pycomm's modules (and the widget bundle), served at
``{base_url}comm-bridge/client/{version}/`` (the URL saved notebooks' outputs hold).

pycomm is a few plain ES modules that import each other by relative URL, so serving them
under a path that holds the version (a hash over all of them) versions every module: a page
never mixes modules of two releases, and each can be cached for good.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

ASSETS_URL_PATTERN = r"comm-bridge/client/(?P<version>[0-9a-f]+)/(?P<name>[A-Za-z0-9_-]+\.js)"
IMMUTABLE = "public, max-age=31536000, immutable"


def asset_dirs() -> list[Path]:
    """Where the assets are: packaged under ``static/`` (the widget bundle too), or in a source
    checkout ``js/`` and the bundle's build output ``js/widgets/dist/``."""
    packaged = Path(__file__).parent / "static"
    if packaged.is_dir():
        return [packaged]
    checkout = Path(__file__).parent.parent / "js"
    return [checkout, checkout / "widgets" / "dist"]


class Assets:
    """pycomm's modules and the widget bundle, read once at start-up, and their version."""

    def __init__(self, directories: list[Path]) -> None:
        self.files = {
            path.name: path.read_bytes()
            for directory in directories
            for path in sorted(directory.glob("*.js"))
        }
        digest = hashlib.sha256()
        for name, body in self.files.items():
            digest.update(name.encode() + b"\0" + body + b"\0")
        self.version = digest.hexdigest()[:16]

    def text(self, name: str) -> str:
        return self.files[name].decode("utf-8")


class AssetHandler(JupyterHandler):
    """One asset. Public, like the server's own static files."""

    def initialize(self, assets: Assets) -> None:
        self.assets = assets

    @allow_unauthenticated
    def get(self, version: str, name: str) -> None:
        body = self.assets.files.get(name)
        if body is None:
            raise web.HTTPError(404)
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        # a page of an earlier release still gets today's modules, but must not keep them
        self.set_header(
            "Cache-Control", IMMUTABLE if version == self.assets.version else "no-cache"
        )
        self.finish(body)
