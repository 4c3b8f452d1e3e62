"""What the browser figure measures on: servers, pages, the paths a comm takes, the ZMQ floor.

- ``ext``: ``jupyter lab`` with the extension; its notebook page gives two paths,
  ``pycomm`` (the bridge websocket) and ``lab-channel`` (the page's own kernel connection);
- ``stock``: ``jupyter lab`` without the extension: ``stock-server`` (the page's connection);
- ``gateway``: ``jupyter lab`` under ``/user/alice/`` whose kernels run in a real
  ``jupyter kernelgateway``: ``pycomm-gateway`` and ``lab-channel-gateway``; the Python
  client's ``python-bridge-gateway``, and ``gateway-channel`` on the gateway itself;
- with ``--client-at REV``, a second page on ``ext`` whose pycomm modules are those of git
  revision REV (``pycomm@REV``): a change to the client measured before and after in one run.

Every server and the gateway run with ``--ZMQChannelsWebsocketConnection.limit_rate=False``
(the gateway relays kernels with jupyter_server's own channel class, limits included).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext

from tests.support.harness import BrowserServer, start_browser_server
from tests.support.servers import Gateway
from tests.support.ui import INIT_SCRIPT, JupyterUI

from .browser_cdp import CdpPage, Chromium, LoopThread
from .browser_js import INSTALL
from .endpoints import BenchError, WsEndpoint, ZmqEndpoint
from .harness import zmq_endpoint
from .kernel_code import ECHO_TARGET, STREAM, STREAM_TARGET, TARGETS
from .servers import COMMON_ARGS, ZmqKernel, check_extension

#: Bound (seconds) of one step of the setup: a cell, a comm opening.
STEP_TIMEOUT = 60.0
NOTEBOOK = "browser-bench.ipynb"
#: The notebook of the page whose client is that of another revision (``--client-at``).
NOTEBOOK_AT = "browser-bench-client-at.ipynb"
CHECKOUT = Path(__file__).resolve().parents[1]
#: The client's modules as the server serves them (``{base_url}comm-bridge/client/{version}/``).
CLIENT_MODULES = "**/comm-bridge/client/*/*.js"
GATEWAY_BASE_URL = "/user/alice/"
NO_EXTENSION = '--ServerApp.jpserver_extensions={"jupyter_comm_bridge": False}'
#: The setup cells: the kernel's comm targets, then an output that mentions pycomm (on a
#: server with the extension it brings the bootstrap, which defines window.pycomm).
CELLS = [
    TARGETS + STREAM,
    "from IPython.display import HTML\nHTML(\"<div class='bench-ready'>pycomm</div>\")",
]

PYCOMM, LAB = "pycomm", "lab"
#: The Python client through the bridge (``PythonBridge``), timed in the harness.
PY_BRIDGE = "python-bridge"
#: The same on the server whose kernels run in the kernel gateway.
PY_BRIDGE_GATEWAY = "python-bridge-gateway"
#: That client on the gateway's own channel, that kernel: the gateway's hop alone.
GATEWAY_CHANNEL = "gateway-channel"
ECHO, BIG, STREAM_FIG = "echo", "big", "stream"
ALL = frozenset({ECHO, BIG, STREAM_FIG})


@dataclass
class Route:
    """One path: a transport in one page, and the figures measured on it."""

    label: str
    transport: str
    ui: JupyterUI
    kernel_id: str
    figures: frozenset[str]
    #: Only 100 B echoes (the stock gateway connection is legacy-only: no binary frames).
    small_only: bool = False
    #: Comm target -> channel id in the page (``window.__bench.channels``).
    channels: dict[str, str] = field(default_factory=dict)
    subshell: str | None = None
    #: The notebook the page has open (its panel is found by it).
    notebook: str = NOTEBOOK
    #: The page's URL and DevTools connection, for measuring (see ``browser_cdp.py``).
    url: str = ""
    cdp: CdpPage | None = None
    browser_pid: int = 0

    @property
    def server(self) -> BrowserServer:
        return self.ui.server

    def call(self, function: str, arg: dict[str, Any], timeout: float) -> Any:
        """``window.__bench[function](arg)``, bounded (``timeout`` seconds): through the bare
        DevTools client once Playwright is gone, through Playwright while setting up."""
        if self.cdp is not None:
            return self.cdp.evaluate(f"window.__bench.{function}({json.dumps(arg)})", timeout)
        return self.ui.js_async(
            f"return await window.__bench.{function}(arg);", arg, timeout, what=f"{function}"
        )

    def to_front(self) -> None:
        """Make the route's page the visible one: Chromium lowers the priority of a hidden
        page's renderer, which slowed a path by a tenth and more whenever another page had
        been opened after its own."""
        if self.cdp is not None:
            self.cdp.call("Page.bringToFront", {}, STEP_TIMEOUT)

    def open(self, target: str) -> None:
        arg: dict[str, Any] = {
            "transport": self.transport,
            "kernel_id": self.kernel_id,
            "target": target,
        }
        arg |= {"path": self.notebook, "timeout": STEP_TIMEOUT * 1000}
        opened = self.call("open", arg, STEP_TIMEOUT + 10)
        self.channels[target] = opened["id"]
        self.subshell = self.subshell or opened["subshell"]


def start_servers(
    root: Path, stack: list[Callable[[], None]]
) -> tuple[dict[str, BrowserServer], Gateway]:
    """The three servers and the gateway, started at once (each takes seconds); each one's
    ``stop`` goes on ``stack`` as soon as it started."""
    (root / "gw").mkdir(parents=True)
    gateway = Gateway(root / "gw", list(COMMON_ARGS))
    stock_args = [NO_EXTENSION, *COMMON_ARGS]
    with ThreadPoolExecutor(3) as pool:
        started = pool.submit(gateway.start)
        ext = pool.submit(start_browser_server, "lab", root / "ext", "/", COMMON_ARGS)
        stock = pool.submit(start_browser_server, "lab", root / "stock", "/", stock_args)
        stack.append(gateway.stop)  # stops nothing that did not start
        servers = {"ext": ext.result(), "stock": stock.result()}
        stack += [server.stop for server in servers.values()]
        started.result()
    gw_args = [*COMMON_ARGS, *gateway.server_args()]
    servers["gateway"] = start_browser_server("lab", root / "gateway", GATEWAY_BASE_URL, gw_args)
    stack.append(servers["gateway"].stop)
    for label, server in servers.items():
        check_extension(server, label != "stock")
    return servers, gateway


def client_at(revision: str) -> dict[str, str]:
    """The client's modules (``js/*.js``) at git ``revision``, by file name: the page that
    imports ``pycomm.js`` from them gets that revision's client whole (the widget bundle,
    which the figure does not use, stays the server's)."""
    listed = git("ls-tree", "--name-only", f"{revision}:js/")
    names = [name for name in listed.splitlines() if name.endswith(".js")]
    if "pycomm.js" not in names:
        raise BenchError(f"--client-at {revision}: no js/pycomm.js there")
    return {name: git("show", f"{revision}:js/{name}") for name in names}


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(CHECKOUT), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def serve_modules(ui: JupyterUI, modules: dict[str, str]) -> None:
    """Serve ``modules`` (by file name) instead of the server's client files to this page,
    while it is set up (Playwright's routing, gone with Playwright before measuring)."""

    def handle(route: Any) -> None:
        name = route.request.url.rsplit("/", 1)[-1].split("?")[0]
        if name in modules:
            route.fulfill(body=modules[name], content_type="text/javascript; charset=utf-8")
        else:
            route.continue_()

    ui.page.route(CLIENT_MODULES, handle)


def open_page(
    context: BrowserContext,
    server: BrowserServer,
    label: str,
    notebook: str = NOTEBOOK,
    modules: dict[str, str] | None = None,
) -> tuple[JupyterUI, str]:
    """The notebook open, its setup cells run, ``window.__bench`` in; returns its kernel id.
    ``modules``: client modules the page gets instead of the server's (``client_at``)."""
    ui = JupyterUI(context, server, name=f"browser-bench-{label}")
    if modules:
        serve_modules(ui, modules)
    sockets: list[str] = []
    ui.page.on("websocket", lambda ws: sockets.append(ws.url))
    server.write_notebook(notebook, CELLS)
    nb = ui.goto_notebook(notebook)
    nb.run_all(timeout=STEP_TIMEOUT)
    nb.wait_for_output(1, ".bench-ready", "pycomm", timeout=STEP_TIMEOUT)
    ui.js(INSTALL)
    kernel_id = nb.kernel_id()
    if label != "stock":
        ui.js_async("await window.pycomm.kernel(arg).ready; return true;", kernel_id, STEP_TIMEOUT)
    bridge = [url for url in sockets if "/comm-bridge/kernels/" in url]
    if bool(bridge) != (label != "stock"):
        raise BenchError(f"{label}: bridge websockets {bridge} (all: {sockets})")
    return ui, kernel_id


def routes(
    chromium: Chromium, servers: dict[str, BrowserServer], at: str | None = None
) -> list[Route]:
    """Every path, its comms open (echo, and stream where that figure runs), set up through
    Playwright, which then lets go of the browser (its pages stay open). ``at``: a git
    revision whose client a page of its own runs too (``pycomm@<at>``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(chromium.endpoint)
        context = browser.contexts[0]  # pages of the default context outlive the connection
        context.set_default_timeout(STEP_TIMEOUT * 1000)
        context.add_init_script(INIT_SCRIPT)
        found = setup_routes(context, servers, at)
        browser.close()
    return found


def setup_routes(
    context: BrowserContext, servers: dict[str, BrowserServer], at: str | None = None
) -> list[Route]:
    pages = {label: open_page(context, server, label) for label, server in servers.items()}
    found = [
        Route("pycomm", PYCOMM, *pages["ext"], ALL),
        Route("lab-channel", LAB, *pages["ext"], ALL),
        Route("stock-server", LAB, *pages["stock"], ALL),
        Route("pycomm-gateway", PYCOMM, *pages["gateway"], ALL),
        Route("lab-channel-gateway", LAB, *pages["gateway"], frozenset({ECHO}), True),
    ]
    if at is not None:
        page = open_page(context, servers["ext"], f"client-at-{at}", NOTEBOOK_AT, client_at(at))
        found.insert(1, Route(f"pycomm@{at}", PYCOMM, *page, ALL, notebook=NOTEBOOK_AT))
    for route in found:
        route.url = route.ui.page.url
        route.open(ECHO_TARGET)
        if STREAM_FIG in route.figures:
            route.open(STREAM_TARGET)
    return found


class ZmqFloor:
    """jupyter_client straight to a kernel of its own (the floor), on ``loop``."""

    def __init__(self, root: Path, loop: LoopThread) -> None:
        self.root, self.loop = root, loop
        self.kernels: list[ZmqKernel] = []
        self.endpoint: ZmqEndpoint | None = None
        self.comm = ""

    def start(self) -> ZmqFloor:
        self.endpoint = self.loop.call(zmq_endpoint(self.root, self.kernels, False), STEP_TIMEOUT)
        self.loop.call(self.endpoint.execute(TARGETS), STEP_TIMEOUT)
        self.comm = self.loop.call(self.endpoint.open_comm(ECHO_TARGET), STEP_TIMEOUT)
        return self

    def stop(self) -> None:
        async def down() -> None:
            if self.endpoint is not None:
                await self.endpoint.close()
            for kernel in self.kernels:
                await kernel.shutdown()

        try:
            self.loop.call(down(), STEP_TIMEOUT)
        finally:
            for kernel in self.kernels:
                kernel.kill()


class PythonBridge:
    """The benchmark's Python v1 client through the bridge, on a kernel of its own on the
    ``ext`` server: what the page's pycomm is compared with in the same run (``label``
    ``python-bridge``); on the ``gateway`` server, that path through the kernel gateway."""

    def __init__(
        self, server: BrowserServer, loop: LoopThread, label: str = PY_BRIDGE, page: str = "v1"
    ) -> None:
        #: ``page``: the protocol of its page connection (legacy behind a gateway: the stock
        #: gateway connection speaks no other).
        self.server, self.loop, self.label, self.page_protocol = server, loop, label, page
        self.clients: list[WsEndpoint] = []
        self.endpoint: WsEndpoint | None = None
        self.comm = ""
        self.kernel_id = ""

    def start(self) -> PythonBridge:
        kernel_id = self.kernel_id = self.server.start_kernel()
        url, token = self.server.ws_url, self.server.token

        async def up() -> None:
            protocol = self.page_protocol
            page = await WsEndpoint.connect(url, token, kernel_id, protocol, False, "page")
            self.clients.append(page)  # open throughout, as a notebook's page would be
            await page.execute(TARGETS)
            self.endpoint = await WsEndpoint.connect(url, token, kernel_id, "v1", True, self.label)
            self.clients.append(self.endpoint)
            self.comm = await self.endpoint.open_comm(ECHO_TARGET)

        self.loop.call(up(), STEP_TIMEOUT)
        return self

    def stop(self) -> None:
        async def down() -> None:
            for client in self.clients:
                await client.close()

        self.loop.call(down(), STEP_TIMEOUT)


class GatewayChannel:
    """The same Python v1 client on the kernel gateway's own channel, on the kernel of a
    ``python-bridge-gateway`` client (the gateway's kernel ids are the server's), the comm
    protocol by hand: no server, no bridge, the gateway's hop alone."""

    def __init__(self, gateway: Gateway, bridge: PythonBridge) -> None:
        self.gateway, self.bridge, self.loop = gateway, bridge, bridge.loop
        self.endpoint: WsEndpoint | None = None
        self.comm = ""

    def start(self) -> GatewayChannel:
        url = f"ws://127.0.0.1:{self.gateway.port}/"
        kernel_id, token = self.bridge.kernel_id, self.gateway.token

        async def up() -> None:
            self.endpoint = await WsEndpoint.connect(
                url, token, kernel_id, "v1", False, GATEWAY_CHANNEL
            )
            self.endpoint.quick_ack = True  # no Nagle wait: the hop itself, as the relay has it
            self.comm = await self.endpoint.open_comm(ECHO_TARGET)

        self.loop.call(up(), STEP_TIMEOUT)
        return self

    def stop(self) -> None:
        if self.endpoint is not None:
            self.loop.call(self.endpoint.close(), STEP_TIMEOUT)


def attach(found: list[Route], chromium: Chromium, loop: LoopThread) -> list[CdpPage]:
    """Give every route its page's DevTools connection (one per page)."""
    pages: dict[str, CdpPage] = {}
    for route in found:
        if route.url not in pages:
            pages[route.url] = CdpPage.connect(chromium.page_target(route.url), loop)
        route.cdp = pages[route.url]
        route.browser_pid = chromium.proc.pid
    return list(pages.values())
