"""Comm speed in Chromium (``--browser``): real JupyterLab pages, real kernels (figure 8).

Paths (see ``browser_setup.py``): ``pycomm`` and ``lab-channel`` in one page of a server with
the extension, ``stock-server`` on a server without it, ``pycomm-gateway`` and
``lab-channel-gateway`` on a server under ``/user/alice/`` whose kernels run in a kernel
gateway. Measured in the same runs, in the harness: ``zmq``, jupyter_client straight to a
kernel (the floor); ``python-bridge``, the benchmark's Python client through the bridge (the
figure issue 16 compares pycomm with), ``python-bridge-gateway``, the same through the
kernel gateway, and ``gateway-channel``, that client on the gateway's own websocket (the
gateway's hop alone); ``raw-websocket``, a page's bare websocket against a
bare tornado echo server (``raw_ws.py``, in a Chromium of its own: the raw part alone).
Figures per page path, all timed in the page (``browser_js.py``):

- sequential echoes, 100 B and 10 KB as a JSON string, 10 KB as one buffer: p50, p99;
- 4 MiB buffer echoes, two in flight: MB/s one way (bytes echoed a second);
- a kernel -> page stream of 1 MiB frames for a fixed time, credit-based (the page grants
  frames as it receives them): frames/s, MB/s, the kernel's sent count against the page's
  received count, the server's RSS before, at its peak during, and after the stream.

Each path runs once per run, in an order rotated from run to run; reported: medians over runs,
and the 100 B p50 over the ZMQ floor's of the same run (median of those ratios); for the
gateway paths also over the same client's local one (``ratio_p50_100_local``).
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tests.support.servers import PeakRSS

from . import raw_ws
from .browser_cdp import Chromium, LoopThread, cpu_seconds, processes
from .browser_setup import (
    BIG,
    ECHO,
    GATEWAY_CHANNEL,
    PY_BRIDGE,
    PY_BRIDGE_GATEWAY,
    STREAM_FIG,
    GatewayChannel,
    PythonBridge,
    Route,
    ZmqFloor,
    attach,
    routes,
    start_servers,
)
from .config import MB, MIB, Size
from .endpoints import BenchError
from .fig_comm import payload, pipelined_echo
from .harness import rotated
from .kernel_code import ECHO_TARGET, STREAM_TARGET
from .stats import median, percentile

WARMUP = 5
ECHO_TIMEOUT = 30.0
BIG_TIMEOUT = 120.0
#: Bound of the stream's report once the stream stopped.
STEP_TIMEOUT_MS = 60_000
STREAM_FRAME = 1 * MIB
#: Frames granted at the start of a stream, and granted again per this many received.
STREAM_WINDOW, STREAM_BATCH = 16, 4
KINDS = {100: ("json",), 10_000: ("json", "binary")}
ZMQ = "zmq"
#: Chromium's websocket and a bare tornado echo server, no Jupyter (``raw_ws.py``).
RAW = "raw-websocket"
#: (through the kernel gateway, the same client locally): issue 16's gateway target, the 100 B
#: p50 over the local one of the same run; for ``gateway-channel``, the gateway's hop alone
#: over the local bridge.
GATEWAY_PAIRS = (
    ("pycomm-gateway", "pycomm"),
    (PY_BRIDGE_GATEWAY, PY_BRIDGE),
    (GATEWAY_CHANNEL, PY_BRIDGE),
)


def echo_key(size: int, kind: str) -> str:
    return f"{size}_{kind}" if size != 100 else "100"


def echo_figures(route: Route, size: Size, out: dict[str, Any]) -> None:
    for payload_bytes, count in size.browser_echoes:
        if route.small_only and payload_bytes != 100:
            continue
        for kind in KINDS.get(payload_bytes, ("json",)):
            arg = {"id": route.channels[ECHO_TARGET], "kind": kind, "size": payload_bytes}
            arg |= {"count": count, "warmup": WARMUP, "timeout": ECHO_TIMEOUT * 1000}
            budget = (count + WARMUP) * ECHO_TIMEOUT
            samples: list[float] = route.call("echo", arg, budget)
            key = echo_key(payload_bytes, kind)
            out[f"p50_{key}_ms"] = percentile(samples, 50)
            out[f"p99_{key}_ms"] = percentile(samples, 99)


def big_echo(route: Route, size: Size, out: dict[str, Any]) -> None:
    count, window = size.browser_big_echoes
    arg = {"id": route.channels[ECHO_TARGET], "size": 4 * MIB, "count": count, "window": window}
    arg["timeout"] = BIG_TIMEOUT * 1000
    cpu = CpuSplit(route)
    got = route.call("bigEcho", arg, 2 * BIG_TIMEOUT)
    out |= cpu.ms_per(count + 1, "cpu_ms_per_4mib_echo")  # the untimed first echo too
    out["buffer_4mib_echo_mb_per_s"] = got["bytes"] / MB / (got["ms"] / 1000)


def kernel_processes(kernel_id: str) -> list[psutil.Process]:
    """The kernel's process, found by its connection file (``kernel-<id>.json``)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(f"kernel-{kernel_id}.json" in arg for arg in process.info["cmdline"] or []):
            found.append(process)
    return found


class CpuSplit:
    """CPU seconds of the server, the kernel and Chromium (all its processes) over a phase:
    where the time of a path goes."""

    def __init__(self, route: Route) -> None:
        self.groups = {
            "server": [route.server.process],
            "kernel": kernel_processes(route.kernel_id),
            "browser": processes(route.browser_pid),
        }
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        return {name: sum(map(cpu_seconds, group)) for name, group in self.groups.items()}

    def ms_per(self, count: int, key: str) -> dict[str, float]:
        now = self._now()
        return {f"{key}_{name}": (now[name] - self.start[name]) / count * 1000 for name in now}


def stream(route: Route, size: Size, out: dict[str, Any]) -> None:
    seconds = size.browser_stream_seconds
    arg = {"id": route.channels[STREAM_TARGET], "size": STREAM_FRAME, "seconds": seconds}
    arg |= {"window": STREAM_WINDOW, "batch": STREAM_BATCH, "timeout": STEP_TIMEOUT_MS}
    with PeakRSS(route.server.process.pid, interval=0.05) as rss:
        got = route.call("stream", arg, seconds + 2 * STEP_TIMEOUT_MS / 1000)
    end = route.server.rss()
    values = {"start": rss.start, "peak": max(rss.peak, end), "end": end}
    out |= {f"server_rss_{k}_mib": round(v / MIB, 1) for k, v in values.items()}
    if got["wrong"] or not got["first_bytes_ok"]:
        raise BenchError(f"{route.label}: {got['wrong']} stream frames wrong or out of order")
    out["stream_fps"] = got["frames"] / (got["ms"] / 1000)
    out["stream_mb_per_s"] = got["bytes"] / MB / (got["ms"] / 1000)
    out["stream_sent"], out["stream_received"] = got["sent"], got["received"]


def measure_route(route: Route, size: Size) -> dict[str, Any]:
    route.to_front()
    out: dict[str, Any] = {}
    if ECHO in route.figures:
        echo_figures(route, size, out)
    if BIG in route.figures:
        big_echo(route, size, out)
    if STREAM_FIG in route.figures:
        stream(route, size, out)
    return out


def measure_python(floor: ZmqFloor | PythonBridge | GatewayChannel, size: Size) -> dict[str, Any]:
    """The same echoes and 4 MiB echoes from Python (jupyter_client straight to the kernel,
    the Python client through the bridge or on the gateway's channel), timed in the harness."""

    async def run() -> dict[str, Any]:
        endpoint, comm = floor.endpoint, floor.comm
        assert endpoint is not None
        out: dict[str, Any] = {}
        for payload_bytes, count in size.browser_echoes:
            for kind in KINDS.get(payload_bytes, ("json",)):
                data, buffers = payload(payload_bytes, kind)
                for _ in range(WARMUP):
                    await endpoint.echo(comm, data, buffers)
                samples = [await endpoint.echo(comm, data, buffers) for _ in range(count)]
                key = echo_key(payload_bytes, kind)
                out[f"p50_{key}_ms"] = percentile(samples, 50) * 1000
                out[f"p99_{key}_ms"] = percentile(samples, 99) * 1000
        count, window = size.browser_big_echoes
        rate = await pipelined_echo(endpoint, comm, count, window, [os.urandom(4 * MIB)])
        out["buffer_4mib_echo_mb_per_s"] = rate * 4 * MIB / MB
        return out

    result: dict[str, Any] = floor.loop.call(run(), 10 * BIG_TIMEOUT)
    return result


def summary(label: str, runs: list[dict[str, Any]], floor: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs; the stream's counts summed; the 100 B p50 over the floor's."""
    row: dict[str, Any] = {"path": label}
    for key in runs[0]:
        if key.startswith("stream_sent") or key.startswith("stream_received"):
            row[key] = sum(run[key] for run in runs)
        else:
            row[key] = round(median([run[key] for run in runs]), 3)
    if "stream_sent" in row:
        row["stream_counts_equal"] = all(r["stream_sent"] == r["stream_received"] for r in runs)
    if "p50_100_ms" in row:
        ratios = [r["p50_100_ms"] / f["p50_100_ms"] for r, f in zip(runs, floor, strict=True)]
        row["ratio_p50_100"] = round(median(ratios), 2)
    return row


def local_ratio(row: dict[str, Any], runs: dict[str, list[dict[str, Any]]]) -> None:
    """A gateway path's 100 B p50 over its client's local one, run by run (median)."""
    local = dict(GATEWAY_PAIRS).get(row["path"])
    if local in runs:
        pairs = zip(runs[row["path"]], runs[local], strict=True)
        row["ratio_p50_100_local"] = round(
            median([g["p50_100_ms"] / n["p50_100_ms"] for g, n in pairs]), 2
        )


def measure_all(
    found: list[Route],
    harness: dict[str, Callable[[], dict[str, Any]]],
    size: Size,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """``harness``: the paths timed in the harness (the ZMQ floor, the Python bridge client,
    the raw websocket), each measured by its function."""
    labels = [*harness, *(route.label for route in found)]
    by_label = {route.label: route for route in found}
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    for run in range(size.browser_runs):
        for label in rotated(labels, run):
            progress(f"browser run {run + 1}/{size.browser_runs}: {label}")
            if label in harness:
                runs[label].append(harness[label]())
            else:
                runs[label].append(measure_route(by_label[label], size))
    rows = [summary(label, runs[label], runs[ZMQ]) for label in labels]
    for row in rows:
        local_ratio(row, runs)
    for route in found:
        rows[labels.index(route.label)]["subshell"] = route.subshell is not None
    unequal = [row["path"] for row in rows if row.get("stream_counts_equal") is False]
    problems = [f"stream: the kernel's sent count != the page's received on {unequal}"]
    return {"rows": rows, "runs": runs, "problems": problems if unequal else []}


def browser_figure(
    size: Size, progress: Callable[[str], None] = print, client_at: str | None = None
) -> dict[str, Any]:
    """Servers, gateway, Chromium and the floor's kernel up; every path measured; all down.
    ``client_at``: a git revision whose client is measured too, in a page of its own."""
    with tempfile.TemporaryDirectory(prefix="comm-bridge-browser-") as tmp:
        root = Path(tmp)
        progress("browser: three JupyterLab servers, a kernel gateway, the ZMQ floor's kernel")
        loop = LoopThread()
        floor = ZmqFloor(root, loop)
        stack: list[Callable[[], None]] = [loop.stop, floor.stop]  # undone in reverse
        try:
            floor.start()
            servers, gateway = start_servers(root, stack)
            python = PythonBridge(servers["ext"], loop).start()
            stack.append(python.stop)
            python_gateway = PythonBridge(
                servers["gateway"], loop, PY_BRIDGE_GATEWAY, page="legacy"
            ).start()
            stack.append(python_gateway.stop)
            gateway_channel = GatewayChannel(gateway, python_gateway).start()
            stack.append(gateway_channel.stop)
            chromium = Chromium(root / "chromium")
            stack.append(chromium.stop)
            progress("browser: opening the notebooks, the comms (Playwright)")
            found = routes(chromium, servers, client_at)
            for page in attach(found, chromium, loop):
                stack.append(page.close)
            started = time.perf_counter()
            harness = {
                ZMQ: lambda: measure_python(floor, size),
                PY_BRIDGE: lambda: measure_python(python, size),
                PY_BRIDGE_GATEWAY: lambda: measure_python(python_gateway, size),
                GATEWAY_CHANNEL: lambda: measure_python(gateway_channel, size),
                RAW: lambda: raw_ws.measure(size.browser_raw_seconds),
            }
            figure = measure_all(found, harness, size, progress)
            figure["measure_seconds"] = round(time.perf_counter() - started, 1)
        finally:
            tear_down(stack)
    figure["notes"] = notes()
    return figure


def tear_down(stack: list[Callable[[], None]]) -> None:
    """Undo the setup in reverse; a failure there is printed, and neither stops the rest nor
    hides what was measured."""
    for undo in reversed(stack):
        try:
            undo()
        except Exception:
            traceback.print_exc()


def notes() -> list[str]:
    return [
        f"stream: 1 MiB frames, credit-based: {STREAM_WINDOW} frames granted at the start, "
        f"{STREAM_BATCH} more per {STREAM_BATCH} received; rates count frames received "
        "until the page sends stop; sent/received summed over runs",
        "MB = 10^6 bytes; 4 MiB echo MB/s is one way (bytes echoed a second), 2 in flight",
        "lab-channel paths: JupyterLab's kernel connection, comms on a subshell when the "
        "kernel has them (commsOverSubshells default); zmq: jupyter_client, timed in Python",
        "timed through a bare DevTools connection (Runtime.evaluate only): with Playwright "
        "attached, Chromium copies every websocket frame into Network events (browser_cdp.py)",
    ]
