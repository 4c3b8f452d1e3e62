"""Clients written only against the standard kernel websocket protocol.

They know nothing of ``bridge_hello``, ``bridge_ack`` or resuming: the bridge serves
them for as long as they read, with frames shaped like the stock channel's.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

import pytest

from support.kernelws import Bridge, Page, StandardBridge
from support.rawws import RawClient
from support.servers import PeakRSS, Server
from support.snippets import ECHO_TARGET

MiB = 1024 * 1024

KERNEL_OPENS = """
from comm import create_comm
for _t in ("keys", "bridge-keys"):
    _c = create_comm(target_name=_t, data={"n": 1}, buffers=[b"open"])
    _c.send({"n": 2})
    _c.send({"n": 3}, buffers=[b"\\x00\\x01"])
    _c.close(buffers=[b"bye"])
    _c = create_comm(target_name=_t, data={})
    _c.close()
"""


def shape(frame: str | bytes) -> tuple[tuple[str, bool], set[str]]:
    """((msg_type, has buffers), top-level keys) of a legacy-protocol frame."""
    if isinstance(frame, str):
        obj = json.loads(frame)
    else:
        (count,) = struct.unpack("!I", frame[:4])
        offsets = struct.unpack(f"!{count}I", frame[4 : 4 + 4 * count])
        end = offsets[1] if count > 1 else len(frame)
        obj = json.loads(frame[offsets[0] : end])
    return (obj["header"]["msg_type"], isinstance(frame, bytes)), set(obj)


async def test_legacy_frames_have_the_stock_channels_top_level_keys(page, bridge, kernel_id):
    stock = await page("legacy")
    stock.known_targets.add("keys")  # a page that has the target: it keeps the comm
    await stock.execute(ECHO_TARGET)
    client = await bridge("legacy")
    await client.register("bridge-keys")
    stock.frames, client.frames = [], []
    await stock.execute(KERNEL_OPENS)
    for ws in (stock, client):
        await ws.request("comm_info_request", {})
    await client.wait_for(
        lambda m: m["header"]["msg_type"] == "comm_close" and not m["buffers"], timeout=10
    )
    shapes: dict[str, dict[tuple[str, bool], set[str]]] = {"stock": {}, "bridge": {}}
    for name, ws in (("stock", stock), ("bridge", client)):
        for frame in ws.frames or []:
            kind, keys = shape(frame)
            if kind[0].startswith("comm_"):
                shapes[name][kind] = keys
    wanted = {(t, b) for t in ("comm_open", "comm_msg", "comm_close") for b in (True, False)} | {
        ("comm_info_reply", False)
    }
    assert wanted <= set(shapes["stock"]), sorted(shapes["stock"])
    assert wanted <= set(shapes["bridge"]), sorted(shapes["bridge"])
    for kind in sorted(wanted):
        assert shapes["bridge"][kind] == shapes["stock"][kind], kind
    assert {"msg_id", "msg_type"} <= shapes["bridge"][("comm_msg", False)]


@pytest.fixture
def server(tmp_path: Any) -> Any:
    """A real server (its own process, so that its memory can be measured)."""
    srv = Server("server", tmp_path, extra_args=["--CommBridgeApp.max_queued_bytes=8388608"])
    srv.start()
    yield srv
    srv.stop()


async def echo_client(server: Server, client_class: type[Bridge]) -> tuple[Page, Bridge, str]:
    """A page with the echo target registered, and a bridge client with an echo comm open."""
    kernel_id = server.start_kernel()
    page = await Page.connect(server.ws_fetch, "api", "kernels", kernel_id, "channels")
    await page.execute(ECHO_TARGET)
    client = await client_class.connect(
        server.ws_fetch, "comm-bridge", "kernels", kernel_id, "channels", max_message_size=8 * MiB
    )
    return page, client, await client.open_comm("echo")


async def test_a_client_that_never_acknowledges_echoes_200_mib_and_stays(server):
    page, client, comm_id = await echo_client(server, StandardBridge)
    with PeakRSS(server.proc.pid) as rss:  # type: ignore[union-attr]
        for i in range(50):  # 50 x 4 MiB = 200 MiB, far over max_queued_bytes (8 MiB)
            blob = bytes([i]) * (4 * MiB)
            start = len(client.messages)
            await client.comm_msg(comm_id, i, buffers=[blob])
            echo = await client.next_on_comm(comm_id, start=start)
            assert echo["content"]["data"] == i and echo["buffers"] == [blob]
    assert not client.closed.done(), client.closed.result()
    assert client.control == [], "a standard client got bridge_hello or bridge_ack frames"
    assert rss.growth < 64 * MiB, f"server RSS grew by {rss.growth / MiB:.0f} MiB"
    await client.close()
    await page.close()


async def test_100_mib_in_4_mib_buffers_keeps_server_rss_near_one_buffer(server):
    """A resumable client (as pycomm: it acknowledges every ACK_BYTES_MAX bytes) moves 100
    MiB each way; the server holds a few buffers at a time, not what went through."""
    page, client, comm_id = await echo_client(server, Bridge)
    with PeakRSS(server.proc.pid) as rss:  # type: ignore[union-attr]
        for i in range(25):  # 25 x 4 MiB = 100 MiB
            blob = bytes([i]) * (4 * MiB)
            start = len(client.messages)
            await client.comm_msg(comm_id, i, buffers=[blob])
            echo = await client.next_on_comm(comm_id, start=start)
            client.ack()  # as pycomm does: ACK_BYTES_MAX (4 MiB) is one buffer
            assert echo["content"]["data"] == i and echo["buffers"] == [blob]
    assert not client.closed.done(), client.closed.result()
    assert rss.growth < 10 * 4 * MiB, f"server RSS grew by {rss.growth / MiB:.0f} MiB"
    await client.close()
    await page.close()


async def test_a_client_that_stops_reading_is_closed_with_memory_bounded(server):
    kernel_id = server.start_kernel()
    page = await Page.connect(server.ws_fetch, "api", "kernels", kernel_id, "channels")
    await page.execute(ECHO_TARGET)
    path = f"/comm-bridge/kernels/{kernel_id}/channels?session_id=stalled"
    raw = await RawClient.connect(server.port, path, server.token)
    comm_id = "stalled-comm"
    raw.send_json(
        {
            "channel": "shell",
            "header": {"msg_id": "m1", "msg_type": "comm_open", "session": "stalled"},
            "parent_header": {},
            "metadata": {},
            "content": {"comm_id": comm_id, "target_name": "echo", "data": {}},
        }
    )
    await page.eventually(f"{comm_id!r} in comms")
    with PeakRSS(server.proc.pid) as rss:  # type: ignore[union-attr]
        # 256 MiB for a client that reads nothing, paced so that the server's ZMQ queues
        # (the page's, the activity watcher's, the relay's) stay short: what grows is what
        # the server keeps for the client.
        await page.execute(
            f"import time\nblob = bytes(1 << 20)\nfor i in range(256):\n"
            f"    comms[{comm_id!r}].send(i, buffers=[blob]); time.sleep(0.01)",
            timeout=120,
        )
        assert await page.eventually(f"['close', {comm_id!r}] in received")
    code, reason = await asyncio.wait_for(raw.read_until_close(), 60)
    assert code == 4008, (code, reason)
    assert reason.startswith("the client is not reading: "), reason
    assert rss.growth < 48 * MiB, f"server RSS grew by {rss.growth / MiB:.0f} MiB"
    raw.close()
    await page.close()
