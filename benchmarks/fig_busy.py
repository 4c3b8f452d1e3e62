"""Figure 6: comm echoes while a cell keeps the kernel busy.

A page runs ``time.sleep(S)``; as soon as the kernel has started it, each path
echoes on its comm until the cell is over. A kernel that handles shell messages
one at a time answers the first echo only when the cell ends; one with subshells
could do better, so the figure also reports what kernel_info_reply advertises.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .endpoints import BenchError, CommEndpoint, Request
from .harness import BRIDGE_V1, STOCK, ZMQ, ZMQ_SUBSHELL, Bench, rotated
from .kernel_code import ECHO_TARGET, busy_cell
from .stats import median, median_ratio, ms

LABELS = (ZMQ, ZMQ_SUBSHELL, STOCK, BRIDGE_V1)
START_TIMEOUT = 30.0


def page_of(bench: Bench, label: str, bridge_page: CommEndpoint) -> CommEndpoint:
    """Who runs the cell: the bridge's neighbouring page, or the path's own connection."""
    return bridge_page if label == BRIDGE_V1 else bench.paths[label]


async def started(request: Request) -> None:
    """Wait until the kernel announces the cell (execute_input): it is sleeping now."""
    deadline = time.perf_counter() + START_TIMEOUT
    while "execute_input" not in request.counts:
        if time.perf_counter() > deadline or request.done.is_set():
            raise BenchError("the busy cell did not start")
        await asyncio.sleep(0.005)  # Request has no per-message event; poll briefly


async def busy_run(
    bench: Bench, label: str, comm_id: str, bridge_page: CommEndpoint
) -> dict[str, float]:
    endpoint = bench.paths[label]
    request = await page_of(bench, label, bridge_page).start_request(
        "execute_request",
        {"code": busy_cell(bench.size.busy_seconds), "silent": False, "store_history": False},
    )
    await started(request)
    rtts: list[float] = []
    ends: list[float] = []
    while not request.done.is_set():
        rtts.append(await endpoint.echo(comm_id, {"busy": True}))
        ends.append(time.perf_counter())
    await asyncio.wait_for(request.done.wait(), START_TIMEOUT)
    during = sum(1 for end in ends if end < request.replied_at)
    return {"first": rtts[0], "during": during}


async def kernel_features(page: CommEndpoint) -> list[str]:
    request = await page.request("kernel_info_request", {}, timeout=30)
    assert request.reply is not None
    return list(request.reply.content.get("supported_features", []))


async def busy_cell_echo(bench: Bench) -> dict[str, Any]:
    comms = {label: await bench.paths[label].open_comm(ECHO_TARGET) for label in LABELS}
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in LABELS}
    page = bench.neighbour_page
    for run in range(bench.size.busy_runs):
        for label in rotated(list(LABELS), run):
            runs[label].append(await busy_run(bench, label, comms[label], page))
    features = await kernel_features(page)
    base = [r["first"] for r in runs[ZMQ]]
    rows = []
    for label in LABELS:
        firsts = [r["first"] for r in runs[label]]
        rows.append(
            {
                "path": label,
                "busy_seconds": bench.size.busy_seconds,
                "first_echo_ms": ms(median(firsts)),
                "echoes_during_cell": median([r["during"] for r in runs[label]]),
                "ratio_first_echo": round(median_ratio(firsts, base), 3),
            }
        )
    return {
        "rows": rows,
        "supported_features": features,
        "kernel_subshells": "kernel subshells" in features,
    }
