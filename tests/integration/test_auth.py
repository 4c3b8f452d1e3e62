"""Authentication and authorization exactly as the kernels API does them."""

from __future__ import annotations

import re
import urllib.parse
import uuid

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets.config import Config

from support.kernelws import Bridge

NO_AUTH = {"Authorization": ""}


async def refused(ws_fetch, *path, **kw) -> int:
    with pytest.raises(HTTPClientError) as info:
        await ws_fetch(*path, **kw)
    return info.value.code


def bridge_path(kernel_id: str) -> tuple[str, ...]:
    return ("comm-bridge", "kernels", kernel_id, "channels")


async def test_no_token_and_wrong_token_are_403_not_a_redirect(jp_ws_fetch, kernel_id):
    assert await refused(jp_ws_fetch, *bridge_path(kernel_id), headers=NO_AUTH) == 403
    wrong = {"Authorization": "token not-the-token"}
    assert await refused(jp_ws_fetch, *bridge_path(kernel_id), headers=wrong) == 403
    assert (
        await refused(
            jp_ws_fetch, *bridge_path(kernel_id), headers=NO_AUTH, params={"token": "nope"}
        )
        == 403
    )


async def test_token_in_the_url_works(jp_ws_fetch, jp_serverapp, kernel_id):
    token = jp_serverapp.identity_provider.token
    client = await Bridge.connect(
        jp_ws_fetch, *bridge_path(kernel_id), headers=NO_AUTH, params={"token": token}
    )
    assert (await client.register("t"))["content"]["status"] == "ok"


@pytest.fixture
def login_cookie(
    jp_serverapp, jp_base_url, jp_http_port, jp_asyncio_loop, http_server_client
) -> str:
    """Log in through the login form, as a browser does; returns the Cookie header."""

    async def login() -> str:
        client = AsyncHTTPClient()
        url = f"http://localhost:{jp_http_port}{jp_base_url}login"
        form = await client.fetch(url)
        xsrf = re.search(r"_xsrf=([^;]+)", form.headers["Set-Cookie"]).group(1)
        body = urllib.parse.urlencode(
            {"password": jp_serverapp.identity_provider.token, "_xsrf": xsrf}
        )
        response = await client.fetch(
            url,
            method="POST",
            body=body,
            follow_redirects=False,
            raise_error=False,
            headers={"Cookie": f"_xsrf={xsrf}"},
        )
        assert response.code == 302, response
        return "; ".join(c.split(";")[0] for c in response.headers.get_list("Set-Cookie"))

    return jp_asyncio_loop.run_until_complete(login())


async def test_login_cookie_works(jp_ws_fetch, login_cookie, kernel_id):
    assert "username-" in login_cookie
    headers = {"Authorization": "", "Cookie": login_cookie}
    client = await Bridge.connect(jp_ws_fetch, *bridge_path(kernel_id), headers=headers)
    assert (await client.register("t"))["content"]["status"] == "ok"


async def test_unknown_kernel_is_404(jp_ws_fetch):
    assert await refused(jp_ws_fetch, *bridge_path(str(uuid.uuid4()))) == 404


async def test_kernel_ids_that_are_not_uuids_are_404(jp_ws_fetch, kernel_id):
    for bad in ("not-a-kernel", kernel_id + "x", "..", kernel_id.replace("-", "")):
        assert await refused(jp_ws_fetch, *bridge_path(bad)) == 404, bad


async def test_cross_origin_websocket_is_refused(jp_ws_fetch, login_cookie, kernel_id):
    # a browser page elsewhere carries the login cookie, not the token
    evil = {"Origin": "http://evil.example.com", "Authorization": "", "Cookie": login_cookie}
    assert await refused(jp_ws_fetch, *bridge_path(kernel_id), headers=evil) == 403
    # the server's own kernels API refuses it the same way
    assert await refused(jp_ws_fetch, "api", "kernels", kernel_id, "channels", headers=evil) == 403


async def test_same_origin_websocket_is_accepted(
    jp_ws_fetch, jp_http_port, login_cookie, kernel_id
):
    same = {
        "Origin": f"http://localhost:{jp_http_port}",
        "Authorization": "",
        "Cookie": login_cookie,
    }
    client = await Bridge.connect(jp_ws_fetch, *bridge_path(kernel_id), headers=same)
    assert (await client.register("t"))["content"]["status"] == "ok"


class DenyKernelExecution(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return not (resource == "kernels" and action == "execute")


class TestDenyingAuthorizer:
    @pytest.fixture
    def jp_server_config(self):
        return Config(
            {
                "ServerApp": {
                    "jpserver_extensions": {"jupyter_comm_bridge": True},
                    "authorizer_class": DenyKernelExecution,
                }
            }
        )

    async def test_denied_execute_on_kernels_is_403(self, jp_ws_fetch, kernel_id):
        assert await refused(jp_ws_fetch, *bridge_path(kernel_id)) == 403
        assert await refused(jp_ws_fetch, "api", "kernels", kernel_id, "channels") == 403
