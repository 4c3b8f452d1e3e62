"""Bridge clients in the kernel's bookkeeping: its ``connections``, the idle culler, activity."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from traitlets.config import Config

from support.kernelws import Page, until
from support.snippets import ECHO_TARGET

#: jupyter_server internals (page connection, gateway page): run on the oldest server too
pytestmark = pytest.mark.server_internals


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
            "CommBridgeApp": {"reconnect_window": 0.5},
            "MappingKernelManager": {"cull_idle_timeout": 2, "cull_interval": 1},
        }
    )


async def model(jp_fetch: Any, kernel_id: str) -> dict[str, Any]:
    return dict(json.loads((await jp_fetch("api", "kernels", kernel_id)).body))


async def test_bridge_clients_count_as_connections(jp_fetch, bridge, kernel_id):
    assert (await model(jp_fetch, kernel_id))["connections"] == 0
    first, second = await bridge(), await bridge("legacy")
    assert (await model(jp_fetch, kernel_id))["connections"] == 2
    listed = json.loads((await jp_fetch("api", "kernels")).body)
    assert [k["connections"] for k in listed if k["id"] == kernel_id] == [2]
    await first.close()
    await until(lambda: first.closed.done())
    await until_connections(jp_fetch, kernel_id, 1)
    await second.close()
    await until_connections(jp_fetch, kernel_id, 0)


async def until_connections(jp_fetch: Any, kernel_id: str, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while (await model(jp_fetch, kernel_id))["connections"] != count:
        assert asyncio.get_running_loop().time() < deadline, f"connections never {count}"
        await asyncio.sleep(0.05)  # polling the REST API: it has no event to wait on


async def test_the_culler_spares_a_kernel_with_a_bridge_client(jp_fetch, bridge, kernel_id):
    client = await bridge()
    # idle (no traffic at all) for twice the cull timeout, culled every second: still there
    await asyncio.sleep(4.5)
    assert (await model(jp_fetch, kernel_id))["connections"] == 1
    await client.close()
    deadline = asyncio.get_running_loop().time() + 15
    while kernel_id in {k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)}:
        assert asyncio.get_running_loop().time() < deadline, "the idle kernel was never culled"
        await asyncio.sleep(0.2)  # polling the REST API for the culler's work


async def test_comm_traffic_counts_as_kernel_activity(jp_fetch, bridge, echo_kernel, kernel_id):
    page = await echo_kernel()
    await page.close()
    client = await bridge()
    comm_id = await client.open_comm("echo")
    for i in range(3):
        before = (await model(jp_fetch, kernel_id))["last_activity"]
        await asyncio.sleep(0.5)  # let the clock move on: activity is stamped by time
        start = len(client.messages)
        await client.comm_msg(comm_id, i)
        await client.next_on_comm(comm_id, start=start)
        assert (await model(jp_fetch, kernel_id))["last_activity"] > before


async def test_a_bridge_client_does_not_stop_the_pages_message_buffering(
    jp_ws_fetch, bridge, kernel_id
):
    """jupyter_server keeps a page's messages while it reconnects once the kernel's last
    connection is gone; a bridge client still connected must not count for that."""
    client = await bridge()
    page = await Page.connect(jp_ws_fetch, "api", "kernels", kernel_id, "channels")
    await page.execute(ECHO_TARGET)
    await page.execute("import threading; threading.Timer(1.0, print, ['late output']).start()")
    session_id = page.session.session
    await page.close()
    await asyncio.sleep(1.5)  # the output comes while the page is away
    again = await Page.connect(
        jp_ws_fetch, "api", "kernels", kernel_id, "channels", session_id=session_id
    )
    late = await again.wait_for(
        lambda m: m["header"]["msg_type"] == "stream" and "late output" in m["content"]["text"]
    )
    assert late["channel"] == "iopub"
    assert not client.closed.done()
