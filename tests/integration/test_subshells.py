"""Comms that answer while a cell runs: the relay's kernel subshells (JEP 91)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from traitlets.config import Config

from support.kernelws import Bridge, Page, until
from support.snippets import ECHO_TARGET

SLEEP = 5.0
ECHOES = 20


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
            "CommBridgeApp": {"reconnect_window": 0.5, "comm_subshells": "per-target"},
        }
    )


async def start_kernel(jp_fetch: Any, name: str) -> str:
    r = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    return json.loads(r.body)["id"]


async def control(page: Page, msg_type: str, content: dict[str, Any] | None = None) -> Any:
    """Send a control request from the page; the content of its reply."""
    sent = await page.send(f"{msg_type}_request", content, channel="control")
    reply = await page.wait_for(
        lambda m: (
            m["parent_header"].get("msg_id") == sent["header"]["msg_id"]
            and m["header"]["msg_type"] == f"{msg_type}_reply"
        )
    )
    return reply["content"]


def relay_of(jp_serverapp: Any, kernel_id: str) -> Any:
    return jp_serverapp.web_app.settings["jupyter_comm_bridge"].registry.get(kernel_id)


async def echo_times(client: Bridge, comm_id: str, count: int) -> list[float]:
    """Round trips of ``count`` echoes on one comm, in seconds."""
    times = []
    for i in range(count):
        start, index = time.perf_counter(), len(client.messages)
        await client.comm_msg(comm_id, {"i": i})
        await client.wait_for(
            lambda m: m["content"].get("data") == {"i": i}, start=index, timeout=SLEEP + 10
        )
        times.append(time.perf_counter() - start)
    return times


async def while_a_cell_sleeps(page: Page, client: Bridge, comm_id: str) -> tuple[list[float], bool]:
    """Echo while the page runs ``time.sleep``; returns the round trips and whether the
    cell was still running when the last echo came back."""
    start = len(page.messages)
    cell = asyncio.ensure_future(
        page.execute(f"import time; time.sleep({SLEEP})", timeout=SLEEP + 20)
    )
    await page.wait_for(
        lambda m: m["header"]["msg_type"] == "execute_input", start=start, timeout=10
    )
    times = await echo_times(client, comm_id, ECHOES)
    still_running = not cell.done()
    await cell
    return times, still_running


async def test_comms_answer_while_a_cell_runs(bridge, echo_kernel, jp_serverapp, kernel_id):
    page = await echo_kernel()
    client = await bridge()
    comm_id = await client.open_comm("echo")
    await echo_times(client, comm_id, 1)
    times, still_running = await while_a_cell_sleeps(page, client, comm_id)
    assert still_running, "the echoes waited for the cell"
    assert max(times) < 1.0, times
    relay = relay_of(jp_serverapp, kernel_id)
    assert set(relay.link.subshells.ids) == {"echo"}  # one subshell per target
    # the page's status indicator saw nothing of the bridge's traffic
    sent = {m["header"]["msg_id"] for m in client.sent}
    statuses = [m for m in page.messages if m["header"]["msg_type"] == "status"]
    assert statuses and not [m for m in statuses if m["parent_header"].get("msg_id") in sent]


async def test_without_subshells_comms_wait_for_the_cell(
    jp_fetch, jp_ws_fetch, no_subshells_kernel
):
    kid = await start_kernel(jp_fetch, no_subshells_kernel)
    page = await Page.connect(jp_ws_fetch, "api", "kernels", kid, "channels")
    await page.execute(ECHO_TARGET)
    client = await Bridge.connect(jp_ws_fetch, "comm-bridge", "kernels", kid, "channels")
    comm_id = await client.open_comm("echo")
    await echo_times(client, comm_id, 1)
    times, still_running = await while_a_cell_sleeps(page, client, comm_id)
    assert not still_running
    assert times[0] > SLEEP / 2 and max(times[1:]) < 1.0, times  # the first waited, then on


async def test_comms_survive_a_kernel_restart_on_new_subshells(
    bridge, echo_kernel, jp_fetch, jp_serverapp, kernel_id
):
    page = await echo_kernel()
    client = await bridge()
    comm_id = await client.open_comm("echo")
    await echo_times(client, comm_id, 1)
    relay = relay_of(jp_serverapp, kernel_id)
    before = dict(relay.link.subshells.ids)
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    closed = await client.next_on_comm(comm_id, "comm_close")
    assert closed["metadata"]["reason"] == "the kernel restarted"
    await page.close()
    page = await echo_kernel()  # a fresh page connection on the new process
    comm_id = await client.open_comm("echo")
    times, still_running = await while_a_cell_sleeps(page, client, comm_id)
    assert still_running and max(times) < 1.0, times
    assert relay.link.subshells.ids and set(relay.link.subshells.ids.values()).isdisjoint(
        before.values()
    )


async def test_the_relay_deletes_its_subshells_when_it_goes(
    bridge, echo_kernel, jp_serverapp, kernel_id
):
    page = await echo_kernel()
    client = await bridge()
    await echo_times(client, await client.open_comm("echo"), 1)
    assert len((await control(page, "list_subshell"))["subshell_id"]) == 1
    await client.close()
    await until(lambda: relay_of(jp_serverapp, kernel_id).link.upstream is None, timeout=10)
    assert (await control(page, "list_subshell"))["subshell_id"] == []


async def test_an_unknown_subshell_is_made_again(bridge, echo_kernel, jp_serverapp, kernel_id):
    page = await echo_kernel()
    client = await bridge()
    comm_id = await client.open_comm("echo")
    await echo_times(client, comm_id, 1)
    relay = relay_of(jp_serverapp, kernel_id)
    (stale,) = relay.link.subshells.ids.values()
    assert (await control(page, "delete_subshell", {"subshell_id": stale}))["status"] == "ok"
    # ipykernel routes the old comm to its last subshell ("sticky"), now gone: a new comm
    # is resent on a new subshell and works
    comm_id = await client.open_comm("echo")
    assert len(await echo_times(client, comm_id, 3)) == 3
    assert relay.link.subshells.ids["echo"] != stale
