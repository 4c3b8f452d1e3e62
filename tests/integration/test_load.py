"""Load: many bridge clients over several kernels; every message once, in order, per comm.

Runs at a reduced size in the suite; ``pytest --load-full tests/integration/test_load.py -s``
runs the full size (50 clients over 3 kernels, 20 comms each, 200 messages each way per comm)
and prints the figures. Each comm is a ping-pong: a kernel publishes on a ZMQ PUB
socket, which drops what no subscriber takes past its send limit (1000 messages), so
a kernel flooded faster than it can publish loses messages for every frontend alike.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import pytest

from support.kernelws import Bridge, Page
from support.servers import Server

FULL = {"clients": 50, "kernels": 3, "comms": 20, "messages": 200}
REDUCED = {"clients": 6, "kernels": 3, "comms": 4, "messages": 20}

# Per comm, the kernel keeps the sequence it got and echoes each message.
LOAD_ECHO = """
from comm import get_comm_manager
sequences = {}
def _load_target(comm, open_msg):
    seq = sequences.setdefault(comm.comm_id, [])
    @comm.on_msg
    def _echo(msg):
        seq.append(msg["content"]["data"]["i"])
        comm.send(msg["content"]["data"])
get_comm_manager().register_target("load", _load_target)
"""
SUMMARY = "[len(sequences), sorted({{tuple(s) == tuple(range({n})) for s in sequences.values()}})]"


class LoadClient(Bridge):
    """Messages of each comm go to a queue of their own: many concurrent waiters."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.queues: dict[str, asyncio.Queue[Any]] = {}
        self.strays: list[Any] = []

    def on_message(self, msg: Any) -> None:
        super().on_message(msg)
        queue = self.queues.get(msg["content"].get("comm_id"))
        (queue.put_nowait(msg) if queue else self.strays.append(msg))


async def ping_pong(client: LoadClient, messages: int) -> None:
    comm_id = await client.open_comm("load")
    queue = client.queues[comm_id] = asyncio.Queue()
    for i in range(messages):
        await client.comm_msg(comm_id, {"i": i})
        echo = await asyncio.wait_for(queue.get(), 120)
        assert echo["content"]["data"] == {"i": i}, (comm_id, i, echo["content"])


async def run_client(server: Server, kernel_id: str, comms: int, messages: int) -> float:
    client = await LoadClient.connect(
        server.ws_fetch, "comm-bridge", "kernels", kernel_id, "channels"
    )
    started = time.perf_counter()
    await asyncio.gather(*(ping_pong(client, messages) for _ in range(comms)))
    elapsed = time.perf_counter() - started
    assert all(q.empty() for q in client.queues.values()), "a message arrived twice"
    assert not client.strays, f"traffic this client should not see: {client.strays[:3]}"
    await client.close()
    return elapsed


async def status_latencies(server: Server, stop: asyncio.Event) -> list[float]:
    """Time ordinary REST requests while the load runs (in a thread: a real HTTP client)."""
    samples = []
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.to_thread(server.api, "GET", "api/status")
        samples.append(time.perf_counter() - started)
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except asyncio.TimeoutError:
            pass
    return samples


@pytest.mark.timeout(3600)
async def test_many_clients_many_comms_every_message_once_in_order(request, tmp_path):
    size = FULL if request.config.getoption("--load-full") else REDUCED
    # One Python process plays every browser here: under full load its event loop can
    # answer pings late, which is not what this test is about (liveness has its own tests).
    server = Server("server", tmp_path, extra_args=["--CommBridgeApp.ping_timeout=120"]).start()
    try:
        kernels = [server.start_kernel() for _ in range(size["kernels"])]
        for kernel_id in kernels:
            page = await Page.connect(server.ws_fetch, "api", "kernels", kernel_id, "channels")
            await page.execute(LOAD_ECHO)
            await page.close()
        stop = asyncio.Event()
        probe = asyncio.ensure_future(status_latencies(server, stop))
        started = time.perf_counter()
        elapsed = await asyncio.gather(
            *(
                run_client(server, kernels[i % len(kernels)], size["comms"], size["messages"])
                for i in range(size["clients"])
            )
        )
        wall = time.perf_counter() - started
        stop.set()
        latencies = await probe
        for index, kernel_id in enumerate(kernels):
            clients_here = len(range(index, size["clients"], len(kernels)))
            # a fresh connection: the load may have kept the first ones from answering pings
            page = await Page.connect(server.ws_fetch, "api", "kernels", kernel_id, "channels")
            summary = await page.evaluate(SUMMARY.format(n=size["messages"]))
            assert summary == [clients_here * size["comms"], [True]], summary
    finally:
        server.stop()
    total = size["clients"] * size["comms"] * size["messages"] * 2
    figures = {
        **size,
        "messages_both_ways": total,
        "wall_s": round(wall, 2),
        "messages_per_s": round(total / wall),
        "client_p50_s": round(statistics.median(elapsed), 2),
        "status_p50_ms": round(1000 * statistics.median(latencies), 1),
        "status_max_ms": round(1000 * max(latencies), 1),
    }
    print("\nload:", json.dumps(figures))
    assert max(latencies) < 2.0, f"the server stalled ordinary requests: {figures}"
