"""window.pycomm on JupyterHub-style deployments, in the real browser: a user base URL
(``/user/alice/``), and a page authenticated by the login cookie alone (empty page-config token).

What makes the page's token empty is what JupyterHub's single-user server does: it puts
``hub_prefix``, ``hub_host`` and ``user`` into ``ServerApp.tornado_settings``
(``jupyterhub/singleuser/mixins.py``, ``init_webapp``), and JupyterLab / Notebook 7 then write
``"token": ""`` into ``#jupyter-config-data`` (``jupyterlab/labapp.py`` and ``notebook/app.py``,
``initialize_handlers``: "avoid setting API token in page config"). Authentication stays the
server's own token-or-cookie IdentityProvider: the browser logs in once through the login form,
which sets the login cookie, and every later request carries only that cookie.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest

from support.harness import BrowserServer
from support.notebook_page import NotebookPage
from support.servers import Gateway
from support.ui import JupyterUI

pytestmark = pytest.mark.browser

BASE_URL = "/user/alice/"
#: ``ServerApp.tornado_settings`` as jupyterhub-singleuser sets them (minus its HubOAuth).
HUB_SETTINGS = {"hub_prefix": "/hub/", "hub_host": "", "user": "alice"}

ECHO_TARGET = """from comm import get_comm_manager
received = []
def echo(comm, open_msg):
    @comm.on_msg
    def _recv(msg):
        received.append(msg["content"]["data"])
        comm.send({"echo": msg["content"]["data"]})
get_comm_manager().register_target("echo", echo)"""

PING_HTML = '''from IPython.display import HTML
HTML("""
<button id="b">ping</button> <span id="out"></span>
<script>
{
  const comm = pycomm.new_comm("echo", {foo: 6});
  comm.on_msg(msg => {
    document.getElementById("out").textContent = JSON.stringify(msg.content.data);
  });
  document.getElementById("b").onclick = () => comm.send({foo: 7});
}
</script>
""")'''


class Network:
    """The URLs of the requests and websockets of a page, from before it navigates."""

    def __init__(self, ui: JupyterUI) -> None:
        self.requests: list[str] = []
        self.websockets: list[str] = []
        ui.page.on("request", lambda r: self.requests.append(r.url))
        ui.page.on("websocket", lambda ws: self.websockets.append(ws.url))

    def bridge_sockets(self) -> list[urllib.parse.SplitResult]:
        return [urllib.parse.urlsplit(u) for u in self.websockets if "/comm-bridge/" in u]


def ping(nb: NotebookPage) -> None:
    """Run the echo notebook, click ping, and check the page and the kernel."""
    nb.run_all()
    nb.wait_for_output(1, "#b", "ping")
    nb.click_in_output(1, "#b")
    nb.wait_for_output(1, "#out", '{"echo":{"foo":7}}')
    check = nb.add_cell("import json; print(json.dumps(received))")
    nb.run_cell(check)
    nb.wait_for_output(check, text=json.dumps([{"foo": 7}]))
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))
    pycomm_errors = [c for c in nb.console_messages("error") if "pycomm" in c.text]
    assert not pycomm_errors, "\n".join(map(str, pycomm_errors))


def page_config(ui: JupyterUI) -> dict[str, Any]:
    return dict(
        ui.js("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    )


def check_bridge_socket(net: Network, server: BrowserServer, kernel_id: str) -> dict[str, list]:
    """Exactly one bridge websocket, to ``{base_url}comm-bridge/kernels/<kernel_id>/channels``
    on the page's host; returns its query."""
    sockets = net.bridge_sockets()
    assert len(sockets) == 1, net.websockets
    ws = sockets[0]
    assert (ws.scheme, ws.netloc) == ("ws", f"127.0.0.1:{server.port}"), ws
    assert ws.path == f"{server.base_url}comm-bridge/kernels/{kernel_id}/channels", ws
    return urllib.parse.parse_qs(ws.query)


def test_user_base_url(server_factory, jupyter_ui):
    server: BrowserServer = server_factory("lab", base_url=BASE_URL)
    path = server.write_notebook("ping.ipynb", [ECHO_TARGET, PING_HTML])
    ui = jupyter_ui(server)
    net = Network(ui)
    nb = ui.goto_notebook(path)
    ping(nb)
    kernel_id = nb.kernel_id()

    # The client module came from the user's prefix, and nothing of the bridge went elsewhere.
    origin = f"http://127.0.0.1:{server.port}"
    client = re.compile(
        re.escape(f"{origin}{BASE_URL}comm-bridge/client/") + r"[0-9a-f]+/pycomm\.js$"
    )
    assert [u for u in net.requests if client.match(u)], net.requests
    resources = ui.js("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in resources if client.match(u)], resources
    stray = [
        u
        for u in net.requests + net.websockets
        if ("jupyter_comm_bridge" in u or "comm-bridge" in u)
        and not urllib.parse.urlsplit(u).path.startswith(BASE_URL)
    ]
    assert not stray, stray

    query = check_bridge_socket(net, server, kernel_id)
    assert query.get("token") == [server.token], query  # the page config has the token
    assert len(query.get("session_id", [])) == 1, query


def test_cookie_only_auth(server_factory, jupyter_ui):
    server: BrowserServer = server_factory(
        "lab",
        base_url=BASE_URL,
        extra_args=[f"--ServerApp.tornado_settings={json.dumps(HUB_SETTINGS)}"],
    )
    path = server.write_notebook("ping.ipynb", [ECHO_TARGET, PING_HTML])
    ui = jupyter_ui(server)
    net = Network(ui)

    # No token anywhere in the page's URLs: the server sends the browser to its login form,
    # the token is typed in once, and the login cookie does the rest.
    ui.opened_paths.append(path)
    ui.page.goto(server.page_url(path, token=False), wait_until="domcontentloaded")
    ui.page.wait_for_url(re.compile(re.escape(f"{BASE_URL}login")))
    ui.page.fill("#password_input", server.token)
    ui.page.click("#login_submit")
    ui.page.wait_for_url(re.compile(re.escape(f"{BASE_URL}lab/workspaces/")))
    ui.wait_app()
    nb = NotebookPage(ui, path)
    nb.wait_ready()

    config = page_config(ui)
    assert config["token"] == "" and config.get("hubPrefix") == "/hub/", config
    assert config["baseUrl"] == BASE_URL, config
    cookies = {c["name"]: c for c in ui.context.cookies()}
    login = [c for c in cookies.values() if c["name"].startswith("username-")]
    assert login and BASE_URL.startswith(login[0]["path"]), cookies

    ping(nb)
    kernel_id = nb.kernel_id()
    assert kernel_id == nb.kernel_id_from_api()
    query = check_bridge_socket(net, server, kernel_id)
    assert "token" not in query, query
    assert len(query.get("session_id", [])) == 1, query
    # Nor did the page send the token anywhere after logging in.
    with_token = [u for u in net.requests + net.websockets if server.token in u]
    assert not with_token, with_token


BUFFER_ECHO_HTML = '''from IPython.display import HTML
HTML("""<span id="bytes"></span>
<script>
{
  const comm = pycomm.new_comm("echo");
  comm.on_msg(msg => {
    const view = msg.buffers[0];
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    document.getElementById("bytes").textContent = Array.from(bytes).join(",");
  });
  comm.send({bytes: true}, {}, [new Uint8Array([0, 255, 7])]);
}
</script>
""")'''
BUFFER_ECHO_TARGET = """from comm import get_comm_manager
def echo(comm, open_msg):
    comm.on_msg(lambda msg: comm.send(msg["content"]["data"], buffers=msg["buffers"]))
get_comm_manager().register_target("echo", echo)"""


def test_kernels_behind_a_kernel_gateway(server_factory, jupyter_ui, tmp_path):
    """JupyterLab started with --gateway-url: the kernel runs in a real kernel gateway."""
    gateway = Gateway(tmp_path).start()
    try:
        server: BrowserServer = server_factory("lab", extra_args=gateway.server_args())
        path = server.write_notebook("gw.ipynb", [BUFFER_ECHO_TARGET, BUFFER_ECHO_HTML])
        nb = jupyter_ui(server).goto_notebook(path)
        nb.run_all()
        nb.wait_for_output(1, "#bytes", "0,255,7")  # binary buffers both ways through the gateway
        nb.assert_no_dialogs()
        errors = nb.unexpected_page_errors()
        assert not errors, "\n".join(map(str, errors))
    finally:
        gateway.stop()
