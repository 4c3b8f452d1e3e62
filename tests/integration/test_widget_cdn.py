"""Widget modules from a CDN (``CommBridgeApp.widget_cdn``): off by default; when set, fetched
by the server, kept on disk and served from there (docs/widget-modules.md).

The CDN is a local tornado server laid out as jsDelivr's ``/npm``:
``/npm/{module}@{range}/package.json`` (the newest version in the range) and
``/npm/{module}@{version}/{path}``; ``unpkg`` mode answers a range with a redirect instead.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from traitlets.config import Config

from jupyter_comm_bridge.widgets.libraries.semver import parse_version, satisfies

MODULE = "cdn-widgets"
INDEX = b'define(["@jupyter-widgets/base"], function (base) { return {cdn: 1}; });\n'
IMMUTABLE = "private, max-age=31536000, immutable"
MAX_FILE = 64 * 1024


class FakeCdn:
    """npm packages by name and version: path -> body; every request it got."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, dict[str, bytes]]] = {}
        self.requests: list[str] = []
        self.unpkg = False
        self.url = ""

    def add(self, module: str, version: str, files: dict[str, bytes]) -> None:
        package = json.dumps({"name": module, "version": version}).encode()
        self.packages.setdefault(module, {})[version] = {"package.json": package, **files}

    def resolve(self, module: str, spec: str) -> str | None:
        versions = [v for v in self.packages.get(module, {}) if satisfies(v, spec)]
        return max(versions, key=lambda v: parse_version(v).key()) if versions else None

    def hits(self, fragment: str) -> int:
        return sum(fragment in path for path in self.requests)


class CdnHandler(web.RequestHandler):
    def initialize(self, cdn: FakeCdn) -> None:
        self.cdn = cdn

    def get(self, module: str, spec: str, path: str) -> None:
        self.cdn.requests.append(self.request.path)
        if module == "evil-widgets":  # a CDN that sends the server elsewhere
            return self.redirect(f"{self.cdn.url}/../elsewhere/{module}@1.0.0/{path}")
        if module == "escaping-widgets":
            return self.redirect(f"/npm/{module}@1.0.0/../../elsewhere/{path}")
        version = self.cdn.resolve(module, spec)
        if version is None:
            raise web.HTTPError(404)
        if version != spec and self.cdn.unpkg:
            return self.redirect(f"/npm/{module}@{version}/{path}")
        body = self.cdn.packages[module][version].get(path)
        if body is None:
            raise web.HTTPError(404)
        self.finish(body)


@pytest.fixture
def cdn(jp_asyncio_loop):
    fake = FakeCdn()
    fake.add(MODULE, "1.0.0", {"dist/index.js": b"define([], {old: 1});"})
    fake.add(MODULE, "1.1.5", {"dist/index.js": b"define([], {older: 1});"})
    fake.add(MODULE, "1.2.0", {"dist/index.js": INDEX, "dist/chunk.js": b"chunk();"})
    fake.add(MODULE, "2.0.0", {"dist/index.js": b"define([], {two: 1});"})
    fake.add("@fake/scoped", "0.3.1", {"dist/index.js": b"define([], {});"})
    fake.add("no-dist-widgets", "1.0.0", {"lib/index.js": b"module.exports = {};"})
    fake.add("big-widgets", "1.0.0", {"dist/index.js": b"x" * (MAX_FILE + 1)})
    fake.add("only-local-widgets", "1.0.0", {"dist/index.js": b"define([], {cdn: 1});"})
    pattern = r"/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.*)"
    app = web.Application([(pattern, CdnHandler, {"cdn": fake})])

    async def start() -> HTTPServer:
        server = HTTPServer(app)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        fake.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/npm"
        return server

    server = jp_asyncio_loop.run_until_complete(start())
    yield fake
    server.stop()


@pytest.fixture
def get(http_server_client, jp_base_url, jp_auth_header):
    async def fetch(path: str):
        return await http_server_client.fetch(
            jp_base_url + path, headers=jp_auth_header, raise_error=False, follow_redirects=False
        )

    return fetch


async def find(get, kernel_id: str, module: str, range_: str) -> tuple[int, dict]:
    name = urllib.parse.quote(module, safe="")
    path = f"comm-bridge/widgets/kernels/{kernel_id}/modules/{name}"
    response = await get(f"{path}?version={urllib.parse.quote(range_)}")
    return response.code, json.loads(response.body)


async def test_off_by_default(get, cdn, kernel_id):
    code, answer = await find(get, kernel_id, MODULE, "^1.1")
    assert code == 404
    assert {entry["source"] for entry in answer["looked"]} == {"kernel", "server"}
    assert "CommBridgeApp.widget_cdn" in answer["message"]
    response = await get(f"comm-bridge/widgets/files/cdn/npm/{MODULE}/1.2.0/dist/index.js")
    assert response.code == 404
    assert "off" in json.loads(response.body)["message"]
    assert cdn.requests == []


class TestWidgetCdn:
    @pytest.fixture
    def jp_server_config(self, cdn):
        return Config(
            {
                "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
                "CommBridgeApp": {"widget_cdn": cdn.url, "widget_cdn_max_file": MAX_FILE},
            }
        )

    @pytest.fixture
    def cache(self, jp_runtime_dir) -> Path:
        """The default cache folder: in the server's runtime directory."""
        return jp_runtime_dir / "comm-bridge" / "widget-cdn"

    async def test_found_on_the_cdn_and_served_from_the_cache(self, get, cdn, cache, kernel_id):
        code, answer = await find(get, kernel_id, MODULE, "^1.1")
        assert code == 200, answer
        assert answer == {
            "module": MODULE,
            "version": "1.2.0",
            "format": "amd",
            "source": "cdn",
            "base": f"comm-bridge/widgets/files/cdn/npm/{MODULE}/1.2.0/",
            "entry": "dist/index.js",
        }
        assert cdn.hits(f"{MODULE}@1.2.0/dist/index.js") == 1
        for _ in range(2):
            response = await get(answer["base"] + answer["entry"])
            assert (response.code, response.body) == (200, INDEX)
            assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert response.headers["Cache-Control"] == IMMUTABLE
        assert cdn.hits(f"{MODULE}@1.2.0/dist/index.js") == 1  # the cache's
        assert cache.joinpath("npm", MODULE, "1.2.0", "dist", "index.js").read_bytes() == INDEX
        # any other file of the package the page asks for: fetched once
        for _ in range(2):
            response = await get(answer["base"] + "dist/chunk.js")
            assert (response.code, response.body) == (200, b"chunk();")
        assert cdn.hits(f"{MODULE}@1.2.0/dist/chunk.js") == 1
        # the range stays resolved for a while: asking again costs the CDN nothing
        before = len(cdn.requests)
        assert (await find(get, kernel_id, MODULE, "^1.1"))[1]["version"] == "1.2.0"
        assert len(cdn.requests) == before

    async def test_a_redirecting_cdn_and_a_scoped_module(self, get, cdn, kernel_id):
        cdn.unpkg = True
        code, answer = await find(get, kernel_id, "@fake/scoped", "^0.3")
        assert (code, answer["version"]) == (200, "0.3.1")
        assert answer["base"] == "comm-bridge/widgets/files/cdn/npm/%40fake%2Fscoped/0.3.1/"
        assert cdn.hits("/npm/@fake/scoped@%5E0.3/package.json") == 1
        response = await get(answer["base"] + "dist/index.js")
        assert (response.code, response.body) == (200, b"define([], {});")

    async def test_what_the_cdn_does_not_have(self, get, cdn, kernel_id):
        code, answer = await find(get, kernel_id, MODULE, "^3")
        assert code == 404
        assert answer["looked"][-1] == {
            "source": "cdn",
            "where": f"{cdn.url}/{MODULE}@^3",
            "found": None,
            "why": "the CDN answered 404",
        }
        assert "CommBridgeApp.widget_cdn" not in answer["message"]
        assert "the CDN answered 404" in answer["message"]
        code, answer = await find(get, kernel_id, "no-dist-widgets", "1")
        assert code == 404
        assert answer["looked"][-1]["found"] == "1.0.0"
        assert answer["looked"][-1]["why"] == "dist/index.js: the CDN answered 404"
        code, answer = await find(get, kernel_id, "big-widgets", "1")
        assert code == 404, answer
        assert answer["looked"][-1]["why"] == (
            f"dist/index.js: the CDN's file is bigger than {MAX_FILE} bytes"
        )
        response = await get(f"comm-bridge/widgets/files/cdn/npm/{MODULE}/1.2.0/dist/none.js")
        assert response.code == 404

    async def test_the_cdn_never_leads_elsewhere(self, get, cdn, kernel_id):
        for module in ("evil-widgets", "escaping-widgets"):
            code, answer = await find(get, kernel_id, module, "1")
            assert code == 404
            assert answer["looked"][-1]["why"].startswith("the CDN redirected outside"), answer
        assert not any("elsewhere" in path for path in cdn.requests)
        refused = [
            f"comm-bridge/widgets/files/cdn/npm/{MODULE}/1.2.0/..%2F..%2Fother@1.0.0%2Fx.js",
            f"comm-bridge/widgets/files/cdn/npm/{MODULE}/1.2.0/../../other@1.0.0/x.js",
            f"comm-bridge/widgets/files/cdn/npm/{MODULE}/%2E%2E/dist/index.js",
            f"comm-bridge/widgets/files/cdn/npm/{MODULE}/^1/dist/index.js",
            "comm-bridge/widgets/files/cdn/npm/..%2F..%2Fetc/1.2.0/passwd",
            f"comm-bridge/widgets/files/cdn/nbextensions/{MODULE}/1.2.0/dist/index.js",
        ]
        before = len(cdn.requests)
        for path in refused:
            assert (await get(path)).code == 404, path
        assert len(cdn.requests) == before

    async def test_local_environments_come_first(self, get, cdn, kernel_id, jp_data_dir):
        folder = jp_data_dir / "nbextensions" / "only-local-widgets"
        folder.mkdir(parents=True)
        folder.joinpath("index.js").write_bytes(b"define([], {local: 1});")
        code, answer = await find(get, kernel_id, "only-local-widgets", "1")
        assert (code, answer["source"]) == (200, "kernel")  # jp_data_dir: the kernel's too
        assert cdn.hits("only-local-widgets") == 0
