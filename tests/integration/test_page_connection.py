"""The page's own connection, wrapped: bridge comms survive a JupyterLab-like page."""

from __future__ import annotations

import json
import socket

import pytest
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from traitlets.config import Config

from support.kernelws import PROTOCOLS, until

#: jupyter_server internals (page connection, gateway page): run on the oldest server too
pytestmark = pytest.mark.server_internals

each_protocol = pytest.mark.parametrize("protocol", PROTOCOLS)

OPEN_AND_SEND = """
from comm import create_comm
c_{name} = create_comm(target_name={target!r}, data={{"n": 1}})
@c_{name}.on_msg
def _got_{name}(msg):
    received.append(["reply", c_{name}.comm_id, msg["content"]["data"]])
    c_{name}.send({{"got": msg["content"]["data"]}})
c_{name}.send({{"n": 2}})
"""


@pytest.fixture
def jp_server_config():
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
            "CommBridgeApp": {"claim_window": 2.0, "reconnect_window": 0.5},
        }
    )


def bridge_app(jp_serverapp):
    return jp_serverapp.web_app.settings["jupyter_comm_bridge"]


async def claim_and_talk(client, page, target, name):
    """The client gets the kernel's open and message, and its reply reaches the kernel."""
    opened = await client.wait_for(
        lambda m: m["header"]["msg_type"] == "comm_open" and m["content"]["target_name"] == target
    )
    comm_id = opened["content"]["comm_id"]
    assert opened["content"]["data"] == {"n": 1}
    assert (await client.next_on_comm(comm_id))["content"]["data"] == {"n": 2}
    await client.comm_msg(comm_id, "hello kernel")
    await client.wait_for(lambda m: m["content"].get("data") == {"got": "hello kernel"})
    assert await page.evaluate(f"[received[-1], c_{name}._closed]") == [
        ["reply", comm_id, "hello kernel"],
        False,
    ]
    return comm_id


@each_protocol
async def test_registered_target_is_kept_from_the_page(protocol, bridge, echo_kernel):
    page = await echo_kernel(protocol)
    client = await bridge()
    await client.register("mine")
    await page.execute(OPEN_AND_SEND.format(target="mine", name="a"))
    comm_id = await claim_and_talk(client, page, "mine", "a")
    # the page never saw the comm, so it had nothing to close; nor its messages
    assert page.of_comm(comm_id) == []


@each_protocol
async def test_race_kernel_opens_before_the_target_is_registered(protocol, bridge, echo_kernel):
    page = await echo_kernel(protocol)
    client = await bridge()
    # one cell opens the comm and sends on it; the page closes it at once
    await page.execute(OPEN_AND_SEND.format(target="late", name="b"))
    await page.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    await client.register("late")
    await claim_and_talk(client, page, "late", "b")


async def test_race_with_no_client_connected_yet(bridge, echo_kernel):
    page = await echo_kernel()
    first = await bridge()
    await first.close()  # the relay is known for this kernel, its connection gone
    await page.execute(OPEN_AND_SEND.format(target="later", name="c"))
    client = await bridge()
    await client.register("later")
    await claim_and_talk(client, page, "later", "c")


@each_protocol
async def test_unregistered_targets_behave_as_on_a_stock_server(
    protocol, bridge, echo_kernel, jp_serverapp
):
    page = await echo_kernel(protocol)
    page.known_targets.add("widget")
    client = await bridge()
    await client.register("something_else")
    await page.execute(OPEN_AND_SEND.format(target="widget", name="w"))
    opened = await page.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    assert opened["content"]["target_name"] == "widget"
    comm_id = opened["content"]["comm_id"]
    sent = await page.wait_for(lambda m: m["header"]["msg_type"] == "comm_msg")
    assert sent["content"] == {"comm_id": comm_id, "data": {"n": 2}}
    # a target nobody knows: the page's automatic close reaches the kernel after the window
    await page.execute(OPEN_AND_SEND.format(target="nobody", name="n"))
    await page.wait_for(
        lambda m: (
            m["header"]["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
            and m["parent_header"].get("msg_type") == "comm_close"
        ),
        timeout=10,
    )
    assert await page.evaluate("[c_w._closed, c_n._closed]") == [False, True]
    assert all(m["channel"] == "bridge" for m in client.messages)


@each_protocol
async def test_page_outputs_pass_unchanged(protocol, bridge, page):
    p = await page(protocol)
    await bridge()  # the bridge is in use on this kernel
    outputs = await p.execute(
        "from IPython.display import display, HTML\n"
        "print('hi')\ndisplay(HTML('<b>bold</b>'), metadata={'k': 1})\n6 * 7"
    )
    by_type = {m["header"]["msg_type"]: m for m in outputs}
    assert by_type["stream"]["content"] == {"name": "stdout", "text": "hi\n"}
    assert by_type["display_data"]["content"] == {
        "data": {"text/html": "<b>bold</b>", "text/plain": "<IPython.core.display.HTML object>"},
        "metadata": {"k": 1},
        "transient": {},
    }
    assert by_type["execute_result"]["content"]["data"] == {"text/plain": "42"}


@each_protocol
async def test_big_buffers_reach_the_page_and_a_client_from_iopub_by_reference(
    protocol, bridge, echo_kernel, kernel_id, jp_serverapp, jp_fetch
):
    """The page's iopub, and once the bridge is in use the activity watcher's, take ZMQ
    frames by reference (internals.py); what the page and the kernel's model show is as
    before."""
    p = await echo_kernel(protocol)
    client = await bridge()
    kernel = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    pages = [c for c in ZMQChannelsWebsocketConnection._open_sockets if c.kernel_id == kernel_id]
    assert pages and all(c.channels["iopub"]._recv_copy is False for c in pages)
    assert kernel._activity_stream._recv_copy is False
    big, small = bytes(range(256)) * 1024, b"small"  # 256 KiB, past wire.BY_REFERENCE
    content = {"comm_id": "page-comm", "target_name": "echo", "data": {}}
    open_msg = await p.send("comm_open", content)
    await p.reply_to(open_msg)  # (its iopub status)
    sent = await p.send(
        "comm_msg", {"comm_id": "page-comm", "data": {"x": 1}}, buffers=[big, small]
    )
    echo = await p.wait_for(
        lambda m: (
            m["header"]["msg_type"] == "comm_msg"
            and m["parent_header"].get("msg_id") == sent["header"]["msg_id"]
        )
    )
    assert echo["content"]["data"] == {"x": 1} and echo["buffers"] == [big, small]
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, {"y": 2}, buffers=[big])
    back = await client.next_on_comm(comm_id)
    assert back["buffers"] == [big]
    assert not [m for m in p.messages if m["content"].get("comm_id") == comm_id]
    await until(lambda: kernel.execution_state == "idle")
    assert json.loads((await jp_fetch("api", "kernels", kernel_id)).body)["execution_state"] == (
        "idle"
    )


def test_messages_the_bridge_does_not_need_are_passed_by_identity(jp_serverapp):
    from jupyter_comm_bridge.page.connection import to_page
    from jupyter_comm_bridge.page.widgets import PageWidgets

    header = json.dumps({"msg_type": "stream", "msg_id": "1"}).encode()
    msg_list = [b"topic", b"<IDS|MSG>", b"sig", header, b"{}", b"{}", b'{"name": "comm_"}']
    session, bridge = Session(), bridge_app(jp_serverapp)
    assert to_page(bridge, "k", "iopub", msg_list, session, PageWidgets(True)) is msg_list
    assert to_page(bridge, "k", "shell", msg_list, session, PageWidgets(True)) is msg_list


async def test_bridge_session_id_never_replaces_the_page(bridge, page):
    p = await page(session_id="same-session")
    client = await bridge(session_id="same-session")
    await client.register("t")
    assert await p.evaluate("1 + 1") == 2
    assert not p.closed.done()


def nodelay(handler) -> bool:
    sock = handler.ws_connection.stream.socket
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def test_nodelay_on_bridge_and_page_sockets(bridge, page, kernel_id, jp_serverapp):
    await page()
    client = await bridge()
    relay = bridge_app(jp_serverapp).registry.get(kernel_id)
    assert nodelay(relay.clients.clients[client.session.session].socket)
    pages = [c for c in ZMQChannelsWebsocketConnection._open_sockets if c.kernel_id == kernel_id]
    assert pages and all(nodelay(c.websocket_handler) for c in pages)


async def test_wrapper_subclasses_the_configured_connection_class(jp_serverapp):
    cls = jp_serverapp.web_app.settings["kernel_websocket_connection_class"]
    assert issubclass(cls, ZMQChannelsWebsocketConnection)
    assert cls.__name__.startswith("CommBridge")


async def test_one_relay_per_kernel_torn_down_with_its_clients(
    bridge, kernel_id, jp_serverapp, jp_fetch
):
    registry = bridge_app(jp_serverapp).registry
    a, b = await bridge(), await bridge("legacy")
    relay = registry.get(kernel_id)
    assert set(relay.clients.clients) == {a.session.session, b.session.session}
    upstream = relay.link.upstream
    assert upstream is not None and upstream.connected
    await a.close()
    await until(lambda: len(relay.clients) == 1)  # after the reconnect window
    assert relay.link.upstream is upstream
    await b.close()
    await until(lambda: not relay.clients)
    assert relay.link.upstream is None
    c = await bridge()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    code, reason = await c.closed
    assert code == 4004 and "shut down" in reason
    assert registry.get(kernel_id) is None
