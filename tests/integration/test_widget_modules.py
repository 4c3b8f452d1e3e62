"""Widget modules from the kernel's environment and the server's (docs/widget-modules.md).

The kernel's environment is a real virtual environment (``venv``, with the system's site
packages, so that ipykernel runs in it: made in a tenth of a second) registered as the
kernelspec ``fake-env``, whose ``share/jupyter`` holds widget modules as libraries ship them:
an AMD nbextension and a federated labextension. Its kernelspec's ``env`` gives the kernel a
user data directory of its own, so that the server's (``jp_data_dir``) is the server's only.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import venv
from pathlib import Path

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import AsyncHTTPClient
from traitlets.config import Config

SPEC = "fake-env"
MODULE = "fake-widgets"
AMD_BODY = b'define(["@jupyter-widgets/base"], function (base) { return {}; });\n'
CONTAINER = "static/remoteEntry.1a2b3c.js"
IMMUTABLE = "private, max-age=31536000, immutable"
SECRET = "the server's secret"
FILES_OF_SPEC = f"comm-bridge/widgets/files/kernelspecs/{SPEC}"


def amd(data_path: Path, module: str, body: bytes = AMD_BODY) -> Path:
    folder = data_path.joinpath("nbextensions", *module.split("/"))
    folder.mkdir(parents=True)
    folder.joinpath("index.js").write_bytes(body)
    return folder


def labextension(data_path: Path, module: str, version: str) -> Path:
    folder = data_path.joinpath("labextensions", *module.split("/"))
    folder.joinpath("static").mkdir(parents=True)
    build = {"load": f"./{CONTAINER}", "extension": "./extension"}
    package = {"name": module, "version": version, "jupyterlab": {"_build": build}}
    folder.joinpath("package.json").write_text(json.dumps(package))
    folder.joinpath(CONTAINER).write_text("var _JUPYTERLAB;\n")
    return folder


@pytest.fixture
def kernel_env(tmp_path: Path, jp_data_dir: Path) -> Path:
    """The kernelspec ``fake-env``'s environment: its ``share/jupyter``."""
    prefix = tmp_path / "kernel-env"
    venv.EnvBuilder(system_site_packages=True, symlinks=True, with_pip=False).create(prefix)
    argv = [str(prefix / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    env = {"JUPYTER_DATA_DIR": str(tmp_path / "kernel-user-data")}
    spec = {"argv": argv, "display_name": "fake env", "language": "python", "env": env}
    jp_data_dir.joinpath("kernels", SPEC).mkdir(parents=True)
    jp_data_dir.joinpath("kernels", SPEC, "kernel.json").write_text(json.dumps(spec))
    share = prefix / "share" / "jupyter"
    share.mkdir(parents=True)
    return share


@pytest.fixture
def fake_kernel(kernel_env: Path, jp_fetch, jp_asyncio_loop) -> str:
    """A kernel of the kernelspec ``fake-env``."""

    async def start() -> str:
        body = json.dumps({"name": SPEC})
        return json.loads((await jp_fetch("api", "kernels", method="POST", body=body)).body)["id"]

    return jp_asyncio_loop.run_until_complete(start())


@pytest.fixture
def get(http_server_client, jp_base_url, jp_auth_header):
    """GET a path under base_url as it is written (no escaping, no redirects followed)."""

    async def fetch(path: str, headers: dict[str, str] | None = None):
        return await http_server_client.fetch(
            jp_base_url + path,
            headers={**jp_auth_header, **(headers or {})},
            raise_error=False,
            follow_redirects=False,
        )

    return fetch


def modules_path(kernel_id: str, module: str, range_: str) -> str:
    name, version = urllib.parse.quote(module, safe=""), urllib.parse.quote(range_)
    return f"comm-bridge/widgets/kernels/{kernel_id}/modules/{name}?version={version}"


async def find(get, kernel_id: str, module: str, range_: str) -> tuple[int, dict]:
    response = await get(modules_path(kernel_id, module, range_))
    assert response.headers["Content-Type"] == "application/json"
    return response.code, json.loads(response.body)


async def test_amd_module_from_the_kernel_env_with_its_labextension_version(
    get, kernel_env, fake_kernel
):
    amd(kernel_env, MODULE)
    labextension(kernel_env, MODULE, "0.12.3")
    code, answer = await find(get, fake_kernel, MODULE, "^0.12")
    assert code == 200, answer
    assert answer == {
        "module": MODULE,
        "version": "0.12.3",
        "format": "amd",
        "source": "kernel",
        "base": f"comm-bridge/widgets/files/kernelspecs/{SPEC}/nbextensions/{MODULE}/0.12.3/",
        "entry": "index.js",
    }
    response = await get(answer["base"] + answer["entry"])
    assert response.code == 200
    assert response.body == AMD_BODY
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == IMMUTABLE


async def test_versions_embedded_in_the_bundle_or_unknown(get, kernel_env, fake_kernel):
    embedded = b'define([],function(){JSON.parse(\'{"name":"emb","version":"1.4.0"}\')});'
    amd(kernel_env, "emb", embedded)
    code, answer = await find(get, fake_kernel, "emb", "~1.4")
    assert (code, answer["version"]) == (200, "1.4.0")
    amd(kernel_env, "plain")
    code, answer = await find(get, fake_kernel, "plain", "^9")
    assert (code, answer["version"]) == (200, "")  # unknown: accepted
    assert answer["base"].endswith("/plain/unknown/")
    response = await get(answer["base"] + "index.js")
    assert (response.code, response.headers["Cache-Control"]) == (200, "no-cache")


async def test_federated_labextension_of_a_scoped_module(get, kernel_env, fake_kernel):
    labextension(kernel_env, "@fake/events", "2.0.4")
    code, answer = await find(get, fake_kernel, "@fake/events", "^2.0.0")
    assert code == 200, answer
    assert answer == {
        "module": "@fake/events",
        "version": "2.0.4",
        "format": "federated",
        "source": "kernel",
        "base": f"{FILES_OF_SPEC}/labextensions/%40fake%2Fevents/2.0.4/",
        "entry": CONTAINER,
        "extension": "./extension",
    }
    response = await get(answer["base"] + answer["entry"])
    assert (response.code, response.body) == (200, b"var _JUPYTERLAB;\n")
    assert response.headers["Cache-Control"] == IMMUTABLE
    package = await get(answer["base"] + "package.json")
    assert package.headers["Content-Type"] == "application/json"


async def test_the_kernel_env_comes_before_the_server_env(
    get, kernel_env, fake_kernel, jp_data_dir
):
    amd(kernel_env, MODULE, b"define([], {kernel: 2});")
    labextension(kernel_env, MODULE, "2.0.0")
    amd(jp_data_dir, MODULE, b"define([], {server: 1});")
    labextension(jp_data_dir, MODULE, "1.0.0")
    code, answer = await find(get, fake_kernel, MODULE, "*")
    assert (code, answer["source"], answer["version"]) == (200, "kernel", "2.0.0")
    # a range the kernel's version does not satisfy: on to the server's environment
    code, answer = await find(get, fake_kernel, MODULE, "^1")
    assert (code, answer["source"], answer["version"]) == (200, "server", "1.0.0")
    assert answer["base"] == f"comm-bridge/widgets/files/server/nbextensions/{MODULE}/1.0.0/"
    response = await get(answer["base"] + "index.js")
    assert (response.code, response.body) == (200, b"define([], {server: 1});")
    assert response.headers["Cache-Control"] == IMMUTABLE
    # a URL of a version no longer there: the file that is, not for good
    response = await get(f"comm-bridge/widgets/files/server/nbextensions/{MODULE}/0.9.0/index.js")
    assert (response.code, response.headers["Cache-Control"]) == (200, "no-cache")


async def test_a_version_that_does_not_satisfy_the_range(get, kernel_env, fake_kernel):
    amd(kernel_env, MODULE)
    labextension(kernel_env, MODULE, "0.11.0")
    code, answer = await find(get, fake_kernel, MODULE, "^0.12")
    assert code == 404
    assert (answer["module"], answer["version"]) == (MODULE, "^0.12")
    assert {
        "source": "kernel",
        "where": str(kernel_env),
        "found": "0.11.0",
        "why": "0.11.0 does not satisfy ^0.12",
    } in answer["looked"]
    assert {entry["source"] for entry in answer["looked"]} == {"kernel", "server"}
    assert all(entry["why"] == "not there" for entry in answer["looked"] if not entry["found"])
    message = answer["message"]
    assert f"{MODULE} ^0.12" in message and "0.11.0" in message, message
    assert "kernel's environment" in message and "CommBridgeApp.widget_cdn" in message
    # a module nowhere
    code, answer = await find(get, fake_kernel, "nowhere-widgets", "^1")
    assert code == 404 and "nowhere-widgets ^1" in answer["message"]


async def test_unknown_kernel_and_bad_names(get, kernel_id):
    path = modules_path("00000000-0000-0000-0000-000000000000", MODULE, "*")
    response = await get(path)
    assert response.code == 404
    assert json.loads(response.body)["looked"] == []
    for bad in ("..", "%2e%2e", "a%2F..%2F..%2Fb", "%2Fetc%2Fpasswd"):
        response = await get(f"comm-bridge/widgets/kernels/{kernel_id}/modules/{bad}")
        assert response.code == 404, bad
        assert json.loads(response.body)["looked"] == [], (bad, response.body)


async def test_kernelspecs_without_a_kernel_environment(get, jp_data_dir, jp_env_jupyter_path):
    for name, argv0 in (("fake-r", "R"), ("fake-deno", "/usr/bin/deno")):
        spec = {"argv": [argv0, "{connection_file}"], "display_name": name, "language": "x"}
        jp_data_dir.joinpath("kernels", name).mkdir(parents=True)
        jp_data_dir.joinpath("kernels", name, "kernel.json").write_text(json.dumps(spec))
        amd(jp_env_jupyter_path, f"{name}-widgets")
        response = await get(
            f"comm-bridge/widgets/files/kernelspecs/{name}/nbextensions/{name}-widgets/unknown/index.js"
        )
        assert response.code == 404
        assert "does not run a Python interpreter" in json.loads(response.body)["message"]


async def test_media_types(get, jp_data_dir):
    folder = amd(jp_data_dir, MODULE)
    types = {
        "style.css": "text/css; charset=utf-8",
        "a.woff2": "font/woff2",
        "icon.svg": "image/svg+xml",
        "index.js.map": "application/json",
        "lib.wasm": "application/wasm",
        "chunk.mjs": "text/javascript; charset=utf-8",
        "image.png": "image/png",
        "LICENSE.data": "application/octet-stream",
    }
    for name in types:
        folder.joinpath(name).write_bytes(b"x")
    for name, media_type in types.items():
        response = await get(
            f"comm-bridge/widgets/files/server/nbextensions/{MODULE}/unknown/{name}"
        )
        assert (response.code, response.headers["Content-Type"]) == (200, media_type), name
        # a file someone opens by its URL runs nothing at the server's origin
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


# --- security -----------------------------------------------------------------------------

NO_AUTH = {"Authorization": ""}


@pytest.fixture
def leaky_env(kernel_env: Path, tmp_path: Path) -> Path:
    """A module in the kernel's environment, and files it must not give away beside it."""
    folder = amd(kernel_env, MODULE)
    labextension(kernel_env, MODULE, "1.0.0")
    amd(kernel_env, "other-widgets", b"define([], {other: 1});")
    kernel_env.joinpath("secret.txt").write_text(SECRET)
    tmp_path.joinpath("outside.txt").write_text(SECRET)
    folder.joinpath("leak.js").symlink_to(tmp_path / "outside.txt")
    folder.joinpath("up.js").symlink_to(kernel_env / "secret.txt")
    folder.joinpath("sibling.js").symlink_to(kernel_env / "nbextensions/other-widgets/index.js")
    outside = tmp_path / "outside-module"
    outside.mkdir()
    outside.joinpath("index.js").write_text(SECRET)
    kernel_env.joinpath("nbextensions", "linked-widgets").symlink_to(outside)
    return kernel_env


FILES = f"{FILES_OF_SPEC}/nbextensions"


async def test_no_login_is_403_never_a_redirect(get, leaky_env, fake_kernel):
    for path in (f"{FILES}/{MODULE}/1.0.0/index.js", modules_path(fake_kernel, MODULE, "*")):
        response = await get(path, headers=NO_AUTH)
        assert response.code == 403, path
        assert "Location" not in response.headers
        wrong = await get(path, headers={"Authorization": "token not-the-token"})
        assert wrong.code == 403


@pytest.fixture
def login_cookie(
    jp_serverapp, jp_base_url, jp_http_port, jp_asyncio_loop, http_server_client
) -> str:
    """The login cookie a browser has (a page's <script> requests carry only that)."""

    async def login() -> str:
        client = AsyncHTTPClient()
        url = f"http://localhost:{jp_http_port}{jp_base_url}login"
        form = await client.fetch(url)
        xsrf = re.search(r"_xsrf=([^;]+)", form.headers["Set-Cookie"]).group(1)
        token = jp_serverapp.identity_provider.token
        response = await client.fetch(
            url,
            method="POST",
            body=urllib.parse.urlencode({"password": token, "_xsrf": xsrf}),
            follow_redirects=False,
            raise_error=False,
            headers={"Cookie": f"_xsrf={xsrf}"},
        )
        assert response.code == 302, response
        return "; ".join(c.split(";")[0] for c in response.headers.get_list("Set-Cookie"))

    return jp_asyncio_loop.run_until_complete(login())


async def test_the_login_cookie_is_enough(leaky_env, login_cookie, jp_http_port, jp_base_url):
    # the cookie's name holds the host it was set for
    url = f"http://localhost:{jp_http_port}{jp_base_url}{FILES}/{MODULE}/1.0.0/index.js"
    response = await AsyncHTTPClient().fetch(url, headers={"Cookie": login_cookie})
    assert (response.code, response.body) == (200, AMD_BODY)


async def test_other_paths_and_traversal_are_refused(get, leaky_env):
    base = f"{FILES}/{MODULE}/1.0.0"
    refused = [
        # out of the module's folder, raw and URL-encoded
        f"{base}/../other-widgets/index.js",
        f"{base}/%2e%2e/other-widgets/index.js",
        f"{base}/%2E%2E%2Fother-widgets%2Findex.js",
        f"{base}/..%2f..%2fsecret.txt",
        f"{base}/../../secret.txt",
        f"{base}/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"{base}//etc/passwd",
        f"{base}/%2Fetc%2Fpasswd",
        f"{base}/./index.js",
        f"{base}/.%2findex.js",
        f"{base}/..%5c..%5csecret.txt",
        f"{base}/index.js%00.png",
        # names that are not a module, a kernelspec or a kind
        f"{FILES}/../1.0.0/secret.txt",
        f"{FILES}/%2e%2e/1.0.0/secret.txt",
        f"{FILES}/{MODULE}%2F..%2F..%2F/1.0.0/secret.txt",
        f"comm-bridge/widgets/files/kernelspecs/..%2F..%2F/nbextensions/{MODULE}/1.0.0/index.js",
        f"comm-bridge/widgets/files/kernelspecs/{SPEC}/kernels/{SPEC}/1.0.0/kernel.json",
        f"comm-bridge/widgets/files/kernelspecs/{SPEC}/../secret.txt",
        # symlinks that lead out of nbextensions
        f"{base}/leak.js",
        f"{base}/up.js",
        f"{FILES}/linked-widgets/unknown/index.js",
    ]
    for path in refused:
        response = await get(path)
        assert response.code == 404, path
        assert SECRET.encode() not in response.body, path
        assert response.headers.get("Cache-Control") != IMMUTABLE, path
    # the traversals reach the handler as they were written, and it refuses them
    for path in refused[:12]:
        message = json.loads((await get(path)).body)["message"]
        assert message == "Not a file inside the module's folder.", (path, message)
    for path in refused[-3:]:
        message = json.loads((await get(path)).body)["message"]
        assert message.endswith("a symlink leading out of nbextensions."), (path, message)
    # a symlink to another module's file, inside nbextensions, is served
    response = await get(f"{base}/sibling.js")
    assert (response.code, response.body) == (200, b"define([], {other: 1});")


async def test_a_symlinked_module_folder_is_not_found(get, leaky_env, fake_kernel):
    code, answer = await find(get, fake_kernel, "linked-widgets", "*")
    assert code == 404
    whys = [entry["why"] for entry in answer["looked"] if entry["where"] == str(leaky_env)]
    assert whys == ["a symlink leading out of nbextensions"]


class DenyKernelspecs(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return resource != "kernelspecs"


class TestUnauthorizedUser:
    @pytest.fixture
    def jp_server_config(self):
        return Config(
            {
                "ServerApp": {
                    "jpserver_extensions": {"jupyter_comm_bridge": True},
                    "authorizer_class": DenyKernelspecs,
                }
            }
        )

    async def test_no_read_on_kernelspecs_is_403(self, get, leaky_env, kernel_id):
        response = await get(f"{FILES}/{MODULE}/1.0.0/index.js")
        assert response.code == 403
        assert SECRET.encode() not in response.body and AMD_BODY not in response.body
        # reading kernels is allowed, but the modules route needs kernelspecs too
        response = await get(modules_path(kernel_id, MODULE, "*"))
        assert response.code == 403
        assert "Location" not in response.headers


def test_fixture_env_is_a_venv(kernel_env):
    assert os.path.exists(kernel_env.parent.parent / "pyvenv.cfg")
