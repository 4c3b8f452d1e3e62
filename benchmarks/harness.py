"""The running setup every figure works on: servers, kernels, connected clients."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from tornado.httpclient import HTTPClientError

from tests.support.servers import Server

from .config import Size
from .endpoints import BenchError, CommEndpoint, WsEndpoint, ZmqEndpoint
from .kernel_code import TARGETS
from .servers import ZmqKernel

ZMQ = "zmq"
ZMQ_SUBSHELL = "zmq-subshell"
STOCK = "stock-v1"
#: The comm protocol by hand on the extension server's api/kernels channel (the page's
#: connection, with TCP_NODELAY from page_nodelay): the server hop without the relay.
PAGE = "ext-page-v1"
BRIDGE_V1 = "bridge-v1"
BRIDGE_LEGACY = "bridge-legacy"
#: The order paths are measured in (rotated from run to run, so none is always first).
PATHS = (ZMQ, ZMQ_SUBSHELL, STOCK, PAGE, BRIDGE_LEGACY, BRIDGE_V1)
#: A kernel whose ports another process took in the meantime dies at once: start again.
KERNEL_ATTEMPTS = 3


@dataclass
class Bench:
    size: Size
    root: Path
    bridge_server: Server
    stock_server: Server
    bridge_kernel: str = ""
    stock_kernel: str = ""
    #: The floor's kernels, one per ZMQ path: an idle client on a shared kernel would
    #: still read (and slow down) every iopub message of the other.
    zmq_kernels: list[ZmqKernel] = field(default_factory=list)
    #: One client per path; ``stock-v1`` is also the stock kernel's page.
    paths: dict[str, CommEndpoint] = field(default_factory=dict)
    #: The page connection of the bridge server's kernel, open throughout: a notebook
    #: using pycomm always has one. (Closed, jupyter_server would buffer every message
    #: of the kernel for it, bridge traffic included, until a page connects again.)
    bridge_page: WsEndpoint | None = None

    async def connect_ws(
        self, server: Server, kernel_id: str, protocol: str, bridge: bool
    ) -> WsEndpoint:
        label = f"{'bridge' if bridge else 'page'}-{protocol}@{server.label}"
        return await WsEndpoint.connect(
            server.ws_url, server.token, kernel_id, protocol, bridge, label
        )

    async def bridge_client(self, kernel_id: str | None = None, protocol: str = "v1") -> WsEndpoint:
        kid = kernel_id or self.bridge_kernel
        return await self.connect_ws(self.bridge_server, kid, protocol, bridge=True)

    async def page(self, server: Server, kernel_id: str) -> WsEndpoint:
        """A page's own kernel connection (``api/kernels/{id}/channels``, v1 as JupyterLab)."""
        return await self.connect_ws(server, kernel_id, "v1", bridge=False)

    def server_of(self, label: str) -> Server | None:
        """The server a path goes through (None for the ZMQ paths)."""
        if label in (ZMQ, ZMQ_SUBSHELL):
            return None
        return self.stock_server if label == STOCK else self.bridge_server

    @property
    def neighbour_page(self) -> WsEndpoint:
        assert self.bridge_page is not None
        return self.bridge_page


async def zmq_path(bench: Bench, subshell: bool) -> ZmqEndpoint:
    """A kernel of the harness's own and a jupyter_client connection to it."""
    return await zmq_endpoint(bench.root, bench.zmq_kernels, subshell)


async def zmq_endpoint(root: Path, kernels: list[ZmqKernel], subshell: bool) -> ZmqEndpoint:
    """Start a kernel (added to ``kernels``, for shutting down) and connect to it over ZMQ."""
    for attempt in range(KERNEL_ATTEMPTS):
        kernel = ZmqKernel(root, f"{'sub' if subshell else 'main'}-{len(kernels)}-{attempt}")
        kernels.append(kernel)
        await kernel.start()
        try:
            return await ZmqEndpoint.connect(kernel.manager, subshell)
        except RuntimeError:  # "Kernel died before replying to kernel_info"
            await kernel.shutdown()
    raise BenchError(f"no ZMQ kernel started in {KERNEL_ATTEMPTS} attempts")


async def setup(bench: Bench) -> None:
    """Start the kernels, register the comm targets, connect one client per path."""
    # Four kernels start at once: each takes seconds, mostly waiting.
    bench.bridge_kernel, bench.stock_kernel, zmq, zmq_sub = await asyncio.gather(
        asyncio.to_thread(bench.bridge_server.start_kernel),
        asyncio.to_thread(bench.stock_server.start_kernel),
        zmq_path(bench, subshell=False),
        zmq_path(bench, subshell=True),
    )
    stock = await bench.page(bench.stock_server, bench.stock_kernel)
    bench.bridge_page = await bench.page(bench.bridge_server, bench.bridge_kernel)
    for client in (zmq, zmq_sub, stock, bench.bridge_page):
        await client.execute(TARGETS)  # each kernel's own channel: ZMQ or api/kernels
    bench.paths = {
        ZMQ: zmq,
        ZMQ_SUBSHELL: zmq_sub,
        STOCK: stock,
        PAGE: bench.bridge_page,
        BRIDGE_LEGACY: await bench.bridge_client(protocol="legacy"),
        BRIDGE_V1: await bench.bridge_client(protocol="v1"),
    }
    await check_stock_has_no_bridge(bench)


async def check_stock_has_no_bridge(bench: Bench) -> None:
    """The stock server must refuse the bridge URL: then it really runs without the extension."""
    try:
        client = await bench.connect_ws(bench.stock_server, bench.stock_kernel, "v1", bridge=True)
    except HTTPClientError as e:
        if e.code == 404:
            return
        raise BenchError(f"stock server: bridge URL gave HTTP {e.code}, expected 404") from e
    await client.close()
    raise BenchError("the stock server accepted a bridge connection: the extension is loaded")


async def teardown(bench: Bench) -> None:
    pages = [bench.bridge_page] if bench.bridge_page and PAGE not in bench.paths else []
    for client in [*bench.paths.values(), *pages]:
        try:
            await client.close()
        except Exception:  # closing is best effort; the servers are stopped next anyway
            pass
    for kernel in bench.zmq_kernels:
        await kernel.shutdown()


def rotated(items: tuple[str, ...] | list[str], run: int) -> list[str]:
    """``items`` starting at a different one each run."""
    shift = run % len(items)
    return [*items[shift:], *items[:shift]]
