"""The relay's iopub: the server's activity stream of the kernel where it has one
(``internals.IopubTap``), so that a bridge client costs the kernel no subscriber of its own;
a SUB socket of the relay's own where it has none. Either way, nothing the kernel publishes
is lost on its way to the clients, and the stream's own receive limit comes back after."""

from __future__ import annotations

from typing import Any

import pytest
import zmq
from traitlets.config import Config

from support.kernelws import until

pytestmark = pytest.mark.server_internals

HWM_DEFAULT = 1000


@pytest.fixture
def jp_server_config() -> Config:
    """A client ends with its websocket: the relay leaves as its client does."""
    bridge = {"reconnect_window": 0.0}
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
            "CommBridgeApp": bridge,
        }
    )


# Publishes faster than one echo at a time: 300 messages at once for the client.
BURST = """
from comm import get_comm_manager
def _burst_target(comm, open_msg):
    @comm.on_msg
    def _burst(msg):
        for i in range(msg["content"]["data"]["n"]):
            comm.send({"i": i})
get_comm_manager().register_target("burst", _burst_target)
"""


def iopub_subscribers(kernel: Any) -> list[zmq.Socket]:
    """The server's open SUB sockets on the kernel's iopub."""
    info = kernel.get_connection_info()
    url = f"tcp://{info['ip']}:{info['iopub_port']}".encode()
    return [
        s
        for s in list(kernel.context._sockets)
        if not s.closed and s.type == zmq.SUB and s.getsockopt(zmq.LAST_ENDPOINT) == url
    ]


async def burst(client: Any, n: int) -> list[int]:
    comm_id = await client.open_comm("burst")
    await client.comm_msg(comm_id, {"n": n})
    got = lambda: [m for m in client.of_comm(comm_id) if m["header"]["msg_type"] == "comm_msg"]  # noqa: E731
    await until(lambda: len(got()) >= n, timeout=30)
    return [m["content"]["data"]["i"] for m in got()]


async def test_the_relay_listens_on_the_activity_stream(page, bridge, kernel_id, jp_serverapp):
    kernel = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    p = await page()
    await p.execute(BURST)
    before = iopub_subscribers(kernel)  # the activity stream and the page's
    activity = kernel._activity_stream.socket
    assert activity in before

    client = await bridge()
    assert await burst(client, 300) == list(range(300))
    assert iopub_subscribers(kernel) == before, "the relay subscribed on its own"
    assert activity.getsockopt(zmq.RCVHWM) == 0  # as the relay's own would have

    await client.close()
    await until(lambda: activity.getsockopt(zmq.RCVHWM) == HWM_DEFAULT, timeout=15)
    assert iopub_subscribers(kernel) == before


async def test_with_no_activity_stream_the_relay_subscribes_itself(
    page, bridge, kernel_id, jp_serverapp
):
    manager = jp_serverapp.kernel_manager
    kernel = manager.get_kernel(kernel_id)
    p = await page()
    await p.execute(BURST)
    manager.stop_watching_activity(kernel_id)
    before = iopub_subscribers(kernel)  # the page's only

    client = await bridge()
    assert await burst(client, 300) == list(range(300))
    assert len(iopub_subscribers(kernel)) == len(before) + 1
    assert await p.evaluate("1 + 1") == 2  # the page's connection is unaffected

    await client.close()
    await until(lambda: len(iopub_subscribers(kernel)) == len(before), timeout=15)
