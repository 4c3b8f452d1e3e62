"""Figure 4: many bridge clients on one kernel, each on its own comm.

Every client echoes on its comm at once. Per client: its median round trip and
the bytes it received; for the server: CPU seconds (psutil, the delta over the
run) and RSS. Each client must get exactly its own echoes and nothing of the
others' (a foreign or missing message is an error, not a figure). The floor is
the same number of concurrent comms on one ZMQ client.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .endpoints import BenchError, CommEndpoint, WsEndpoint
from .harness import ZMQ, Bench
from .kernel_code import ECHO_TARGET
from .stats import median, ms

SETTLE = 0.5
DATA = {"s": "x" * 100}


async def echo_loop(endpoint: CommEndpoint, comm_id: str, count: int) -> list[float]:
    return [await endpoint.echo(comm_id, DATA) for _ in range(count)]


async def connect_clients(bench: Bench, count: int) -> list[WsEndpoint]:
    return list(await asyncio.gather(*(bench.bridge_client() for _ in range(count))))


async def close_clients(clients: list[WsEndpoint], comms: list[str]) -> None:
    for client, comm_id in zip(clients, comms, strict=False):
        await client.close_comm(comm_id)  # frees the kernel's comm now, not when its client expires
    for client in clients:
        await client.close()


def check_isolation(clients: list[WsEndpoint], comms: list[str]) -> None:
    for client, comm_id in zip(clients, comms, strict=True):
        if client.foreign:
            raise BenchError(f"a bridge client got {client.foreign} messages of other clients")
        if not client.queues[comm_id].empty():
            raise BenchError("a bridge client got an echo twice")


async def bridge_run(bench: Bench, count: int) -> dict[str, Any]:
    clients = await connect_clients(bench, count)
    comms = [await client.open_comm(ECHO_TARGET) for client in clients]
    try:
        await asyncio.gather(*(c.echo(comm, DATA) for c, comm in zip(clients, comms, strict=True)))
        received = [c.bytes_received for c in clients]
        server = bench.bridge_server
        cpu = server.cpu_seconds()
        started = time.perf_counter()
        echoes = bench.size.scale_echoes
        samples = await asyncio.gather(
            *(echo_loop(c, comm, echoes) for c, comm in zip(clients, comms, strict=True))
        )
        wall = time.perf_counter() - started
        cpu = server.cpu_seconds() - cpu
        check_isolation(clients, comms)
        p50s = [median(s) for s in samples]
        per_client = [c.bytes_received - r for c, r in zip(clients, received, strict=True)]
        return {
            "p50": median(p50s),
            "worst_p50": max(p50s),
            "cpu_s": cpu,
            "cpu_per_echo_ms": cpu / (count * echoes) * 1000,
            "wall_s": wall,
            "rss": server.rss(),
            "bytes_per_client": median(per_client),
            "foreign": sum(c.foreign for c in clients),
        }
    finally:
        await close_clients(clients, comms)


async def zmq_run(bench: Bench, count: int) -> float:
    """The floor: ``count`` comms echoing at once on one jupyter_client connection."""
    endpoint = bench.paths[ZMQ]
    comms = [await endpoint.open_comm(ECHO_TARGET) for _ in range(count)]
    try:
        await asyncio.gather(*(endpoint.echo(comm, DATA) for comm in comms))
        samples = await asyncio.gather(
            *(echo_loop(endpoint, comm, bench.size.scale_echoes) for comm in comms)
        )
        return median([median(s) for s in samples])
    finally:
        for comm_id in comms:
            await endpoint.close_comm(comm_id)
            del endpoint.queues[comm_id]


async def idle_rss(bench: Bench, count: int) -> dict[str, Any]:
    """Server RSS per connected, idle client (bridge_hello received, nothing sent)."""
    server = bench.bridge_server
    await asyncio.sleep(SETTLE)
    before = server.rss()
    clients = await connect_clients(bench, count)
    await asyncio.sleep(SETTLE)  # let the server finish its per-connection work
    after = server.rss()
    for client in clients:
        await client.close()
    return {
        "idle_clients": count,
        "rss_per_idle_client_kib": round((after - before) / count / 1024, 1),
    }


async def scale(bench: Bench) -> dict[str, Any]:
    size = bench.size
    rows = []
    for count in size.scale_clients:
        runs = []
        floors = []
        for _ in range(size.scale_runs):
            floors.append(await zmq_run(bench, count))
            runs.append(await bridge_run(bench, count))
        rows.append(scale_row(count, runs, floors))
    idle = await idle_rss(bench, max(size.scale_clients))
    foreign = sum(row["foreign_messages"] for row in rows)
    return {"rows": rows, "idle": idle, "isolation": {"passed": foreign == 0, "foreign": foreign}}


def scale_row(count: int, runs: list[dict[str, Any]], floors: list[float]) -> dict[str, Any]:
    def med(key: str) -> float:
        return median([run[key] for run in runs])

    return {
        "clients": count,
        "p50_ms": ms(med("p50")),
        "worst_client_p50_ms": ms(med("worst_p50")),
        "zmq_p50_ms": ms(median(floors)),
        "ratio_p50": round(median([r["p50"] / f for r, f in zip(runs, floors, strict=True)]), 3),
        "server_cpu_s": round(med("cpu_s"), 3),
        "server_cpu_per_echo_ms": round(med("cpu_per_echo_ms"), 4),
        "server_rss_mib": round(med("rss") / 2**20, 1),
        "bytes_per_client": int(med("bytes_per_client")),
        "foreign_messages": int(sum(run["foreign"] for run in runs)),
    }
