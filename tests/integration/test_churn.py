"""A long-running server stays flat: connections, sessions and comms release what they held."""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import psutil
import pytest
from tornado.ioloop import PeriodicCallback
from traitlets.config import Config

from jupyter_comm_bridge.bridge.handler import BridgeWebsocketHandler

from support.kernelws import Bridge, Page, StandardBridge, until

WINDOW = 1.0
MiB = 1024 * 1024


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_comm_bridge": True},
                # jupyter_server holds a closed page connection until its handler's next ping
                # (30 s by default) and until the kernel_info timeout of its start (60 s)
                "tornado_settings": {"ws_ping_interval": 500},
            },
            "MappingKernelManager": {"kernel_info_timeout": 3},
            "CommBridgeApp": {"reconnect_window": WINDOW, "ping_interval": 0.5},
        }
    )


def census(jp_serverapp: Any, kernel_id: str) -> Counter[str]:
    """What the server holds for connections, sessions and comms."""
    gc.collect()
    counts: Counter[str] = Counter()
    for obj in gc.get_objects():
        # (objects of earlier tests' servers may still be around: count this kernel's only)
        if isinstance(obj, BridgeWebsocketHandler):
            counts["bridge handlers"] += (
                getattr(obj, "path_kwargs", {}).get("kernel_id") == kernel_id
            )
        elif isinstance(obj, PeriodicCallback):
            # a websocket handler's pings (jupyter_server's or ours): this kernel's only
            owner = getattr(obj.callback, "__self__", None)
            kwargs = getattr(owner, "path_kwargs", None) or {}
            ours = type(owner).__module__.startswith("jupyter_comm_bridge")
            # A closed page connection's handler (jupyter_server's) and its stopped ping stay
            # reachable for a while from contexts the event loop holds: asyncio keeps
            # cancelled timers (tornado's ping sleep) in its heap until they are due or it
            # prunes them, and the kernel's buffered streams keep their creator's. Those are
            # jupyter_server's and bounded; running callbacks count, whoever owns them.
            if kwargs.get("kernel_id", kernel_id) == kernel_id and (ours or obj.is_running()):
                # by owner, so that what is left over says where it comes from
                name = type(owner).__name__ if owner is not None else repr(obj.callback)
                counts[f"periodic callbacks of {name}"] += 1
                counts[f"running periodic callbacks of {name}"] += obj.is_running()
        elif type(obj).__name__.startswith("CommBridge"):
            counts["page connections"] += getattr(obj, "kernel_id", None) == kernel_id
    bridge = jp_serverapp.web_app.settings["jupyter_comm_bridge"]
    relay = bridge.registry.get(kernel_id)
    counts["bridge connections counted"] = bridge.registry.connections.get(kernel_id, 0)
    if relay is not None:
        counts["sessions"] = len(relay.clients)
        counts["comms"] = len(relay.table.comms)
        counts["pending comms"] = len(relay.table.pending)
        counts["targets"] = len(relay.table.targets)
        if relay.link.ordering is not None:
            counts["ordered clients"] = len(relay.link.ordering._clients)
    return +counts  # drop zero counts


async def echo_once(client: Bridge, i: int) -> None:
    comm_id = await client.open_comm("echo")
    start = len(client.messages)
    await client.comm_msg(comm_id, i)
    assert (await client.next_on_comm(comm_id, start=start))["content"]["data"] == i


async def bridge_cycle(bridge: Any, i: int) -> None:
    """Connect, echo, close; every fifth a standard client, every tenth a drop and resume."""
    client = await bridge(cls=StandardBridge if i % 5 == 4 else Bridge)
    await echo_once(client, i)
    if i % 10 == 9:
        client.drop()
        resume = {"resume": str(len(client.messages))}
        again = await bridge(session_id=client.session.session, params=resume)
        await echo_once(again, -i)
        await again.close()
    await client.close()


async def churn(
    cycle: Callable[[int], Awaitable[None]], count: int, settle: Callable[[], Awaitable[None]]
) -> None:
    """Run ``count`` cycles, then ``settle``; then this process holds no more Python objects
    than before, and its RSS grew by little (logging off meanwhile, so that pytest's captured
    log records don't count). RSS creeps by a few MiB per thousand page connections on a
    stock server too (native memory of ZMQ sockets opened and closed): a leak of one
    connection's worth each time is far more."""
    logging.disable(logging.INFO)
    try:
        gc.collect()
        rss, objects = psutil.Process().memory_info().rss, len(gc.get_objects())
        for i in range(count):
            await cycle(i)
        await settle()
        gc.collect()
        rss, objects = psutil.Process().memory_info().rss - rss, len(gc.get_objects()) - objects
    finally:
        logging.disable(logging.NOTSET)
    assert objects < count, f"{objects} more Python objects after {count} cycles"
    assert rss < 16 * MiB, f"RSS grew by {rss / MiB:.1f} MiB over {count} cycles"


async def settled(jp_serverapp: Any, kernel_id: str, baseline: Counter[str]) -> None:
    """Past the reconnect window the sessions end; then nothing is above baseline."""

    def left() -> Counter[str]:
        return census(jp_serverapp, kernel_id) - baseline

    try:
        await until(lambda: not left(), timeout=WINDOW + 15)
    except AssertionError:
        assert not left(), (
            f"still held after the churn, beyond the baseline {dict(baseline)}: {holders()}"
        )


def holders() -> str:
    """What holds the PeriodicCallbacks' owners: the first referrers that are not plain
    containers (debugging help for a failure)."""
    found: list[str] = []
    for obj in gc.get_objects():
        if isinstance(obj, PeriodicCallback):
            owner = getattr(obj.callback, "__self__", None)
            found.append(f"{type(owner).__name__} <- {', '.join(_roots(owner))}")
    return "; ".join(found)


def _roots(obj: Any, depth: int = 0, seen: set[int] | None = None) -> list[str]:
    seen = set() if seen is None else seen
    roots: list[str] = []
    for ref in gc.get_referrers(obj):
        kind = type(ref).__name__
        if id(ref) in seen or kind in ("frame", "list", "method", "PeriodicCallback") or depth > 8:
            continue
        seen.add(id(ref))
        if kind in ("dict", "tuple", "cell", "Context", "SelectorKey") or kind.startswith("hamt"):
            roots += _roots(ref, depth + 1, seen)
        else:
            roots.append(f"{kind} {str(ref)[:100]}")
    return roots


async def test_bridge_connections_leave_nothing_behind(
    bridge, echo_kernel, jp_serverapp, kernel_id
):
    page = await echo_kernel()
    # warm up (first-use caches, the relay, and the memory high-water mark of a churn)
    for i in range(200):
        await bridge_cycle(bridge, i)
    await until(lambda: not census(jp_serverapp, kernel_id)["sessions"], timeout=WINDOW + 15)
    baseline = census(jp_serverapp, kernel_id)
    await churn(
        lambda i: bridge_cycle(bridge, i), 1000, lambda: settled(jp_serverapp, kernel_id, baseline)
    )
    await page.close()


async def test_page_connections_leave_nothing_behind(page, echo_kernel, jp_serverapp, kernel_id):
    first = await echo_kernel()
    await first.close()

    async def cycle(i: int) -> None:
        p: Page = await page()
        comm_id = f"page-comm-{i}"
        await p.send("comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {}})
        await p.send("comm_msg", {"comm_id": comm_id, "data": i})
        await p.wait_for(lambda m: m["content"].get("data") == i and m["channel"] == "iopub")
        await p.close()

    for i in range(200):  # warm up, as above
        await cycle(i)
    await until(lambda: not census(jp_serverapp, kernel_id)["page connections"], timeout=15)
    baseline = census(jp_serverapp, kernel_id)
    await churn(cycle, 1000, lambda: settled(jp_serverapp, kernel_id, baseline))
