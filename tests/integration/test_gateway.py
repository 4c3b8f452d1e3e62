"""Kernels behind a real kernel gateway (``jupyter kernelgateway``), the server run with
``--gateway-url``: the bridge relays through the gateway's websocket, buffers included."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.kernelws import PROTOCOLS, Bridge, Page
from support.servers import CutProxy, Gateway, Server
from support.snippets import ECHO_TARGET

#: jupyter_server internals (page connection, gateway page): run on the oldest server too
pytestmark = pytest.mark.server_internals

each_protocol = pytest.mark.parametrize("protocol", PROTOCOLS)

OPEN_FROM_KERNEL = """
from comm import create_comm
k = create_comm(target_name="from_kernel", data={"hello": 1}, buffers=[b"\\x00\\x01\\x02"])
"""


def server_for(gateway: Gateway, root: Path) -> Server:
    return Server("server", root, extra_args=gateway.server_args()).start()


@contextmanager
def behind_a_proxy(tmp_path: Path) -> Iterator[tuple[Server, CutProxy, Gateway]]:
    """A server, the proxy it reaches its gateway through, and the gateway."""
    (tmp_path / "gw").mkdir()
    gateway = Gateway(tmp_path / "gw").start()
    proxy = CutProxy(gateway.port).start()
    server = Server(
        "server", tmp_path, extra_args=gateway.server_args(f"http://127.0.0.1:{proxy.port}")
    ).start()
    try:
        yield server, proxy, gateway
    finally:
        server.stop()
        proxy.stop()
        gateway.stop()


#: The protocol a gateway offers: v1 (jupyter_server 2's default) or legacy only (older
#: gateways; jupyter_server 2 configured so).
GATEWAY_PROTOCOLS = {
    "v1": [],
    "legacy": ["--ZMQChannelsWebsocketConnection.kernel_ws_protocol="],
}


@pytest.fixture(scope="module", params=list(GATEWAY_PROTOCOLS), ids=lambda p: f"gateway-{p}")
def gateway_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Server]:
    args = GATEWAY_PROTOCOLS[request.param]
    gateway = Gateway(tmp_path_factory.mktemp("gateway"), args).start()
    server = server_for(gateway, tmp_path_factory.mktemp("server"))
    yield server
    server.stop()
    gateway.stop()


async def echo_kernel(server: Server, protocol: str = "v1") -> tuple[str, Page]:
    kid = server.start_kernel()
    page = await Page.connect(server.ws_fetch, "api", "kernels", kid, "channels", protocol="legacy")
    await page.execute(ECHO_TARGET)
    return kid, page


@each_protocol
async def test_page_opened_comm_with_buffers_both_ways(gateway_server, protocol):
    kid, page = await echo_kernel(gateway_server)
    client = await Bridge.connect(
        gateway_server.ws_fetch, "comm-bridge", "kernels", kid, "channels", protocol=protocol
    )
    comm_id = await client.open_comm("echo", {"x": 1})
    await client.send(
        "comm_msg", {"comm_id": comm_id, "data": {"n": 2}}, buffers=[b"\x00\xff" * 1000, b"abc"]
    )
    echo = await client.next_on_comm(comm_id)
    assert echo["content"]["data"] == {"n": 2}
    assert [bytes(b) for b in echo["buffers"]] == [b"\x00\xff" * 1000, b"abc"]
    assert await page.evaluate("received") == [
        ["open", comm_id, {"x": 1}, 0],
        ["msg", comm_id, {"n": 2}, [2000, 3]],
    ]
    # the page's own connection saw none of it (its status included)
    sent = {m["header"]["msg_id"] for m in client.sent}
    assert not [
        m
        for m in page.messages
        if m["content"].get("comm_id") == comm_id or m["parent_header"].get("msg_id") in sent
    ]


async def test_the_relay_speaks_the_protocol_the_gateway_offers(gateway_server, request):
    kid, page = await echo_kernel(gateway_server)
    client = await Bridge.connect(
        gateway_server.ws_fetch, "comm-bridge", "kernels", kid, "channels"
    )
    comm_id = await client.open_comm("echo", {"x": 1})
    await client.send("comm_msg", {"comm_id": comm_id, "data": {"n": 2}}, buffers=[b"\x01"])
    echo = await client.next_on_comm(comm_id)
    assert [bytes(b) for b in echo["buffers"]] == [b"\x01"]
    offered = request.node.callspec.params["gateway_server"]
    protocol = {"v1": "v1.kernel.websocket.jupyter.org", "legacy": "legacy"}[offered]
    line = f"kernel {kid} through the gateway, protocol {protocol}"
    assert line in gateway_server.log_path.read_text(errors="replace")


async def test_kernel_opened_comm_with_buffers_reaches_the_client_not_the_page(gateway_server):
    kid, page = await echo_kernel(gateway_server)
    client = await Bridge.connect(
        gateway_server.ws_fetch, "comm-bridge", "kernels", kid, "channels"
    )
    await client.register("from_kernel")
    await page.execute(OPEN_FROM_KERNEL)
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    assert opened["content"]["data"] == {"hello": 1}
    assert [bytes(b) for b in opened["buffers"]] == [b"\x00\x01\x02"]
    comm_id = opened["content"]["comm_id"]
    assert not [m for m in page.messages if m["content"].get("comm_id") == comm_id]
    # the page's automatic comm_close never happened, so the comm is alive in the kernel
    await page.execute("got = []\nk.on_msg(lambda m: got.append(bytes(m['buffers'][0])))")
    await client.send("comm_msg", {"comm_id": comm_id, "data": {}}, buffers=[b"back"])
    assert await page.eventually("[g.decode() for g in got]") == ["back"]


async def test_outputs_get_the_bootstrap_through_the_gateway(gateway_server):
    kid, page = await echo_kernel(gateway_server)
    outputs = await page.execute(
        "from IPython.display import HTML\nHTML('<script>pycomm</script>')"
    )
    (result,) = [m for m in outputs if m["header"]["msg_type"] == "execute_result"]
    assert kid in result["content"]["data"]["text/html"]  # the bootstrap, bound to its kernel


async def test_a_kernel_restart_through_the_gateway(gateway_server):
    kid, page = await echo_kernel(gateway_server)
    client = await Bridge.connect(
        gateway_server.ws_fetch, "comm-bridge", "kernels", kid, "channels"
    )
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, 1)
    await client.next_on_comm(comm_id)
    gateway_server.api("POST", f"api/kernels/{kid}/restart")
    closed = await client.next_on_comm(comm_id, "comm_close")
    assert closed["metadata"]["reason"] == "the kernel restarted"
    page = await Page.connect(
        gateway_server.ws_fetch, "api", "kernels", kid, "channels", protocol="legacy"
    )
    await page.execute(ECHO_TARGET)
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, 2)
    assert (await client.next_on_comm(comm_id))["content"]["data"] == 2


#: GatewayClient's retry settings for the server: two attempts, 0.2 s then 0.4 s (+ jitter).
FEW_RETRIES = [
    "--GatewayClient.gateway_retry_max=2",
    "--GatewayClient.gateway_retry_interval=0.2",
    "--GatewayClient.gateway_retry_interval_max=0.4",
]


async def test_when_the_gateway_is_gone_clients_are_told(tmp_path):
    """After GatewayClient's retries (its settings, as the page's own connection has them)."""
    (tmp_path / "gw").mkdir()
    gateway = Gateway(tmp_path / "gw").start()
    server = Server("server", tmp_path, extra_args=[*gateway.server_args(), *FEW_RETRIES])
    server.start()
    try:
        kid, _ = await echo_kernel(server)
        client = await Bridge.connect(server.ws_fetch, "comm-bridge", "kernels", kid, "channels")
        await client.open_comm("echo")
        gateway.stop()
        started = asyncio.get_running_loop().time()
        code, reason = await asyncio.wait_for(asyncio.shield(client.closed), 60)
        assert code == 4004 and "lost the kernel gateway" in reason
        # 0.2 + 0.4 s and at most 1 s of jitter each; refused at once (the gateway's port is
        # closed): the relay's own delays (0.25 s doubling six times) took 16 s
        assert asyncio.get_running_loop().time() - started < 6
    finally:
        server.stop()
        gateway.stop()


async def test_a_dropped_gateway_connection_is_made_again(tmp_path):
    """The network between server and gateway drops: the relay reconnects, and what a client
    sends meanwhile goes out after, in order."""
    with behind_a_proxy(tmp_path) as (server, proxy, _):
        kid, page = await echo_kernel(server)
        client = await Bridge.connect(server.ws_fetch, "comm-bridge", "kernels", kid, "channels")
        comm_id = await client.open_comm("echo")
        await client.comm_msg(comm_id, 0)
        await client.next_on_comm(comm_id)
        proxy.cut()
        status = await client.wait_for(lambda m: m["header"]["msg_type"] == "bridge_status")
        assert status["content"]["kernel_connection"] == "reconnecting"
        for i in (1, 2, 3):
            await client.comm_msg(comm_id, i)  # held until the gateway is back
        back = await client.wait_for(lambda m: m["content"].get("kernel_connection") == "connected")
        assert back["channel"] == "bridge"
        await client.wait_for(lambda m: m["content"].get("data") == 3)
        echoes = [m for m in client.of_comm(comm_id) if m["header"]["msg_type"] == "comm_msg"]
        assert [m["content"]["data"] for m in echoes] == [0, 1, 2, 3]
        assert not [m for m in client.messages if m["header"]["msg_type"] == "bridge_error"]


async def test_a_page_that_leaves_while_the_gateway_answers_leaves_no_socket(tmp_path):
    """JupyterLab's first try at a kernel's channels always leaves during the gateway
    handshake, and comes back at once with the same session. The socket that handshake
    opens is closed, and the page's next connection has the kernel to itself: its requests
    get their replies (at the gateway, both sockets would share the session as identity)."""
    with behind_a_proxy(tmp_path) as (server, proxy, gateway):
        kid, session_id = server.start_kernel(), uuid.uuid4().hex
        path = ("api", "kernels", kid, "channels")
        proxy.hold()
        first = await server.ws_fetch(*path, params={"session_id": session_id})
        await proxy.channels_request(1)
        first.close()
        assert await asyncio.wait_for(first.read_message(), 20) is None
        page = await Page.connect(server.ws_fetch, *path, protocol="legacy", session_id=session_id)
        proxy.release()
        sent = await page.send("kernel_info_request", {})
        reply = await page.wait_for(
            lambda m: (
                m["header"]["msg_type"] == "kernel_info_reply"
                and m["parent_header"].get("msg_id") == sent["header"]["msg_id"]
            )
        )
        assert reply["content"]["status"] == "ok"
        assert gateway.api("GET", f"api/kernels/{kid}")["connections"] == 1
