"""Figures 1, 2 and 5: comm echo latency, throughput, binary buffers vs JSON.

Each figure runs every path once per run, in a rotating order, and reports the
median over runs of each value and of its ratio to the ZMQ floor in that run.
"""

from __future__ import annotations

import os
import random
import time
from array import array
from typing import Any

import psutil

from tests.support.servers import Server

from .config import MIB
from .endpoints import BenchError, CommEndpoint
from .harness import BRIDGE_V1, PATHS, ZMQ, Bench, rotated
from .kernel_code import ECHO_TARGET, SINK_TARGET
from .stats import median, median_ratio, ms, percentile

WARMUP = 5


def payload(size: int, kind: str) -> tuple[Any, list[bytes] | None]:
    """``size`` bytes as a JSON string, or as one binary buffer."""
    if kind == "json":
        return {"s": "x" * size}, None
    return {"kind": "binary"}, [os.urandom(size)]


async def open_comms(bench: Bench, target: str, labels: tuple[str, ...] = PATHS) -> dict[str, str]:
    return {label: await bench.paths[label].open_comm(target) for label in labels}


async def warm_up(bench: Bench, comms: dict[str, str]) -> None:
    for label, comm_id in comms.items():
        for _ in range(WARMUP):
            await bench.paths[label].echo(comm_id, {"warmup": True})


# --- figure 1 ------------------------------------------------------------------


async def echo_latency(bench: Bench) -> dict[str, Any]:
    comms = await open_comms(bench, ECHO_TARGET)
    await warm_up(bench, comms)
    rows = []
    for size, count in bench.size.latency_payloads:
        for kind in ("json", "binary"):
            data, buffers = payload(size, kind)
            runs: dict[str, list[tuple[float, float]]] = {label: [] for label in PATHS}
            for run in range(bench.size.runs):
                for label in rotated(PATHS, run):
                    endpoint, comm_id = bench.paths[label], comms[label]
                    samples = [await endpoint.echo(comm_id, data, buffers) for _ in range(count)]
                    runs[label].append((percentile(samples, 50), percentile(samples, 99)))
            rows += latency_rows(runs, size, kind, count)
    return {"rows": rows}


def latency_rows(
    runs: dict[str, list[tuple[float, float]]], size: int, kind: str, count: int
) -> list[dict[str, Any]]:
    base50 = [p50 for p50, _ in runs[ZMQ]]
    base99 = [p99 for _, p99 in runs[ZMQ]]
    rows = []
    for label, values in runs.items():
        p50s, p99s = [v[0] for v in values], [v[1] for v in values]
        rows.append(
            {
                "path": label,
                "payload_bytes": size,
                "kind": kind,
                "round_trips_per_run": count,
                "p50_ms": ms(median(p50s)),
                "p99_ms": ms(median(p99s)),
                "ratio_p50": round(median_ratio(p50s, base50), 3),
                "ratio_p99": round(median_ratio(p99s, base99), 3),
            }
        )
    return rows


# --- figure 2 ------------------------------------------------------------------


async def one_way(endpoint: CommEndpoint, comm_id: str, count: int) -> float:
    """Messages a second the kernel takes in (it counts them, then reports)."""
    started = time.perf_counter()
    for i in range(count):
        await endpoint.send(comm_id, {"i": i})
    await endpoint.send(comm_id, {"report": True})
    reply = await endpoint.recv(comm_id)
    elapsed = time.perf_counter() - started
    got = reply.content.get("data", {}).get("count")
    if got != count:
        raise BenchError(f"{endpoint.label}: the kernel got {got} of {count} messages")
    return count / elapsed


async def pipelined_echo(
    endpoint: CommEndpoint,
    comm_id: str,
    count: int,
    window: int,
    buffers: list[bytes] | None = None,
) -> float:
    """Echoes a second with ``window`` in flight; each echo checked for order and loss."""
    started = time.perf_counter()
    sent = 0
    for _ in range(min(window, count)):
        await endpoint.send(comm_id, {"i": sent}, buffers)
        sent += 1
    for expected in range(count):
        msg = await endpoint.recv(comm_id)
        if msg.content.get("data", {}).get("i") != expected:
            raise BenchError(f"{endpoint.label}: echo {expected} lost or out of order")
        if [len(b) for b in msg.buffers] != [len(b) for b in buffers or []]:
            raise BenchError(f"{endpoint.label}: echo {expected} came back with other buffers")
        if sent < count:
            await endpoint.send(comm_id, {"i": sent}, buffers)
            sent += 1
    return count / (time.perf_counter() - started)


class CpuMeter:
    """CPU seconds of the harness (the client) and of the path's server over a phase."""

    def __init__(self, server: Server | None) -> None:
        self.server = server
        self.client = psutil.Process()
        self.start = self._now()

    def _now(self) -> tuple[float, float]:
        times = self.client.cpu_times()
        server = self.server.cpu_seconds() if self.server else 0.0
        return times.user + times.system, server

    def per(self, count: int) -> tuple[float, float]:
        """(client, server) CPU milliseconds per message since the meter started."""
        (client0, server0), (client1, server1) = self.start, self._now()
        return (client1 - client0) / count * 1000, (server1 - server0) / count * 1000


async def throughput_run(
    bench: Bench, label: str, sink: str, echo: str, values: dict[str, list[float]]
) -> None:
    size, endpoint = bench.size, bench.paths[label]
    values["one_way"].append(await one_way(endpoint, sink, size.one_way_messages))
    meter = CpuMeter(bench.server_of(label))
    values["echo"].append(
        await pipelined_echo(endpoint, echo, size.echo_messages, size.echo_window)
    )
    values["server_cpu_echo"].append(meter.per(size.echo_messages)[1])
    count, window = size.big_echoes
    meter = CpuMeter(bench.server_of(label))
    rate = await pipelined_echo(endpoint, echo, count, window, [os.urandom(4 * MIB)])
    values["buffer"].append(rate * 4)  # MiB a second, one way
    client_cpu, server_cpu = meter.per(count)
    values["client_cpu_buffer"].append(client_cpu)
    values["server_cpu_buffer"].append(server_cpu)


async def throughput(bench: Bench) -> dict[str, Any]:
    sinks = await open_comms(bench, SINK_TARGET)
    echoes = await open_comms(bench, ECHO_TARGET)
    await warm_up(bench, echoes)
    keys = (
        "one_way",
        "echo",
        "buffer",
        "server_cpu_echo",
        "client_cpu_buffer",
        "server_cpu_buffer",
    )
    runs = {label: {key: [] for key in keys} for label in PATHS}
    for run in range(bench.size.throughput_runs):
        for label in rotated(PATHS, run):
            await throughput_run(bench, label, sinks[label], echoes[label], runs[label])
    return {"rows": [throughput_row(label, runs) for label in PATHS]}


def throughput_row(label: str, runs: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    mine, base = runs[label], runs[ZMQ]
    return {
        "path": label,
        "one_way_msgs_per_s": round(median(mine["one_way"]), 1),
        "echo_msgs_per_s": round(median(mine["echo"]), 1),
        "buffer_4mib_echo_mib_per_s": round(median(mine["buffer"]), 2),
        "ratio_one_way": round(median_ratio(mine["one_way"], base["one_way"]), 3),
        "ratio_echo": round(median_ratio(mine["echo"], base["echo"]), 3),
        "ratio_buffer": round(median_ratio(mine["buffer"], base["buffer"]), 3),
        "server_cpu_ms_per_echo": round(median(mine["server_cpu_echo"]), 3),
        "client_cpu_ms_per_4mib_echo": round(median(mine["client_cpu_buffer"]), 2),
        "server_cpu_ms_per_4mib_echo": round(median(mine["server_cpu_buffer"]), 2),
    }


# --- figure 5 ------------------------------------------------------------------


async def float64_echo(endpoint: CommEndpoint, comm_id: str, values: array, kind: str) -> float:
    """One round trip of the array, from the array in hand to the array back."""
    as_list = values.tolist() if kind == "json" else None  # as a page's JS would hold them
    started = time.perf_counter()
    if kind == "json":
        await endpoint.send(comm_id, {"values": as_list})
    else:
        await endpoint.send(comm_id, {"dtype": "float64"}, [values.tobytes()])
    msg = await endpoint.recv(comm_id, timeout=300)
    # A float64 view of the buffer, as a Float64Array over the DataView would be.
    back = msg.content["data"]["values"] if kind == "json" else msg.buffers[0].cast("d")
    elapsed = time.perf_counter() - started
    if len(back) != len(values):
        raise BenchError(f"{endpoint.label}: {kind} array came back with {len(back)} values")
    return elapsed


async def binary_vs_json(bench: Bench) -> dict[str, Any]:
    labels = (ZMQ, BRIDGE_V1)
    comms = await open_comms(bench, ECHO_TARGET, labels)
    rng = random.Random(7)
    values = array("d", (rng.random() for _ in range(bench.size.float64_count)))
    times: dict[str, dict[str, list[float]]] = {lb: {"json": [], "binary": []} for lb in labels}
    for run in range(bench.size.float64_runs):
        for label in rotated(list(labels), run):
            for kind in ("binary", "json"):
                elapsed = await float64_echo(bench.paths[label], comms[label], values, kind)
                times[label][kind].append(elapsed)
    rows = []
    for label in labels:
        mine, base = times[label], times[ZMQ]
        rows.append(
            {
                "path": label,
                "array_bytes": len(values) * values.itemsize,
                "binary_ms": ms(median(mine["binary"])),
                "json_ms": ms(median(mine["json"])),
                "speedup": round(median_ratio(mine["json"], mine["binary"]), 2),
                "ratio_binary": round(median_ratio(mine["binary"], base["binary"]), 3),
                "ratio_json": round(median_ratio(mine["json"], base["json"]), 3),
            }
        )
    return {"rows": rows}
