"""The raw part alone: Chromium's websocket against a bare tornado echo server.

No Jupyter, no kernel, no message format: a page sends 4 MiB binary frames to a
tornado ``WebSocketHandler`` that writes each one back (two in flight), then asks it
for a stream of 1 MiB frames (the same credit scheme as figure 8). What this reaches
bounds every comm path in the page: ``python -m benchmarks.raw_ws [--seconds 5]``.
``--python``: the benchmark's kind of client instead of a page (a tornado websocket client),
what bounds the Python-client figures: 4 MiB echoes, then 100 B echoes one at a time against
the echo server in a process of its own (as the Jupyter server is), beside the ZMQ floor's
100 B comm echo measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from tornado.web import Application, RequestHandler
from tornado.websocket import WebSocketHandler, websocket_connect

from tests.support.servers import free_port

from .browser_cdp import CdpPage, Chromium, LoopThread, cpu_seconds, processes
from .harness import zmq_endpoint
from .kernel_code import ECHO_TARGET, TARGETS
from .servers import ZmqKernel

CHECKOUT = Path(__file__).resolve().parent.parent
#: 100 B echoes before the clock starts (connections warm).
WARMUP = 50

MiB = 1 << 20

PAGE = "<!doctype html><title>raw websocket</title><body>raw</body>"
#: Resolves once the page has loaded.
LOADED = """new Promise((loaded) => document.readyState === "complete"
  ? loaded() : addEventListener("load", () => loaded()))"""

#: In the page (``window.__raw``): ``echo`` runs 4 MiB echoes (two in flight) for
#: ``seconds``; ``stream`` then takes a 1 MiB stream for as long.
INSTALL = """(async (url) => {
  const ws = new WebSocket(url); ws.binaryType = "arraybuffer";
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  const frames = []; let wake = null;
  ws.onmessage = (e) => { frames.push(e.data); if (wake) { wake(); wake = null; } };
  const next = async () => { while (!frames.length) await new Promise((r) => (wake = r));
                             return frames.shift(); };
  const big = new Uint8Array(4 << 20).map((_, i) => i & 255);
  window.__raw = {
    echo: async (seconds) => {
      let echoed = 0; const start = performance.now();
      ws.send(big); ws.send(big);
      while (performance.now() - start < seconds * 1000) {
        const back = await next();
        if (back.byteLength !== big.byteLength) throw new Error("size");
        echoed++; ws.send(big);
      }
      const echoSeconds = (performance.now() - start) / 1000;
      await next(); await next();
      const rate = echoed * (4 << 20) / echoSeconds / 1e6;
      return { echoes: echoed + 2, buffer_4mib_echo_mb_per_s: rate };
    },
    stream: async (seconds) => {
      ws.send("stream"); let got = 0; const start = performance.now();
      while (performance.now() - start < seconds * 1000) {
        await next(); got++; if (got % 4 === 0) ws.send("more");
      }
      const streamSeconds = (performance.now() - start) / 1000;
      ws.close();
      return { stream_fps: got / streamSeconds, stream_mb_per_s: got * MiB / streamSeconds / 1e6 };
    },
  };
  return true;
})""".replace("MiB", str(MiB))


class Echo(WebSocketHandler):
    def open(self, *args: Any, **kwargs: Any) -> None:
        self.settings["thread"].append(threading.get_native_id())
        self.set_nodelay(True)
        self.blob = bytes(MiB)

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self._write(message)
        else:  # "stream" grants 16 frames, "more" 4 more
            for _ in range(16 if message == "stream" else 4):
                self._write(self.blob)

    def _write(self, frame: bytes) -> None:
        if self.ws_connection is None:
            return  # the page closed after the stream: what it granted is not wanted
        # a write racing the page's close fails; that is the end of the stream, not an error
        self.write_message(frame, binary=True).add_done_callback(lambda f: f.exception())


class Index(RequestHandler):
    def get(self) -> None:
        self.write(PAGE)


def serve(port: int, ready: threading.Event, thread: list[int]) -> None:
    """The echo server, on this thread; ``thread`` gets the native id it runs on."""

    async def main() -> None:
        app = Application(
            [("/", Index), ("/ws", Echo)], websocket_max_message_size=8 * MiB, thread=thread
        )
        app.listen(port, "127.0.0.1")
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def thread_cpu(native_id: int) -> float:
    """CPU seconds of one thread of this process (the echo server's)."""
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return 0.0


def measure(seconds: float) -> dict[str, float]:
    """Echo MB/s and CPU ms per echo (Chromium, the server), then stream frames/s."""
    port, ready, thread = free_port(), threading.Event(), []
    threading.Thread(target=serve, args=(port, ready, thread), daemon=True).start()
    ready.wait(10)
    loop = LoopThread()
    # Chromium's helpers may still write to its profile as it stops: what matters is the run.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        chromium = Chromium(Path(tmp))
        try:
            page = CdpPage.connect(chromium.page_target("about:blank"), loop)
            # Page.navigate answers once the new document is committed, so what is evaluated
            # next runs in it (a navigation started from the page could land mid-evaluate).
            page.call("Page.navigate", {"url": f"http://127.0.0.1:{port}/"}, 30)
            page.evaluate(LOADED, 30)
            page.evaluate(f"{INSTALL}({json.dumps(f'ws://127.0.0.1:{port}/ws')})", 30)
            browser = processes(chromium.proc.pid)
            before = sum(map(cpu_seconds, browser)), thread_cpu(thread[0])
            result: dict[str, float] = page.evaluate(f"window.__raw.echo({seconds})", seconds + 30)
            after = sum(map(cpu_seconds, browser)), thread_cpu(thread[0])
            echoes = result.pop("echoes")
            result["cpu_ms_per_4mib_echo_browser"] = (after[0] - before[0]) / echoes * 1000
            result["cpu_ms_per_4mib_echo_server"] = (after[1] - before[1]) / echoes * 1000
            result |= page.evaluate(f"window.__raw.stream({seconds})", seconds + 30)
            page.close()
            return result
        finally:
            chromium.stop()
            loop.stop()


async def python_echo(seconds: float) -> dict[str, float]:
    """4 MiB echoes (two in flight) from a tornado websocket client in this process: MiB/s,
    and CPU ms per echo of the client and of the server's thread."""
    port, ready, thread = free_port(), threading.Event(), []
    threading.Thread(target=serve, args=(port, ready, thread), daemon=True).start()
    ready.wait(10)
    ws = await websocket_connect(f"ws://127.0.0.1:{port}/ws", max_message_size=8 * MiB)
    big = os.urandom(4 * MiB)
    me, echoed = psutil.Process(), 0
    before = sum(me.cpu_times()[:2]), thread_cpu(thread[0]), time.perf_counter()
    for _ in range(2):
        await ws.write_message(big, binary=True)
    while time.perf_counter() - before[2] < seconds:
        back = await asyncio.wait_for(ws.read_message(), 30)
        if not isinstance(back, bytes) or len(back) != len(big):
            raise RuntimeError("the echo differs")
        echoed += 1
        await ws.write_message(big, binary=True)
    elapsed = time.perf_counter() - before[2]
    server = thread_cpu(thread[0]) - before[1]
    client = sum(me.cpu_times()[:2]) - before[0] - server
    ws.close()
    return {
        "buffer_4mib_echo_mib_per_s": echoed * 4 / elapsed,
        "cpu_ms_per_4mib_echo_client": client / echoed * 1000,
        "cpu_ms_per_4mib_echo_server": server / echoed * 1000,
    }


async def python_small_echo(seconds: float) -> dict[str, float]:
    """p50 and p99 in ms of 100 B echoes, one at a time: the bare echo server in a process of
    its own (``--serve``), and the ZMQ floor (jupyter_client to a kernel's comm), each for
    ``seconds``. Their ratio is what a websocket hop alone costs against the floor."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.raw_ws", "--serve", str(port)], cwd=CHECKOUT
    )
    kernels: list[ZmqKernel] = []
    try:
        ws = await connect_when_listening(f"ws://127.0.0.1:{port}/ws")
        ws.protocol.stream.set_nodelay(True)  # type: ignore[union-attr]
        small = os.urandom(100)

        async def raw_echo() -> float:
            started = time.perf_counter()
            await ws.write_message(small, binary=True)
            back = await asyncio.wait_for(ws.read_message(), 30)
            elapsed = time.perf_counter() - started
            if back != small:
                raise RuntimeError("the echo differs")
            return elapsed

        raw = await timed_echoes(raw_echo, seconds)
        ws.close()
        with tempfile.TemporaryDirectory(prefix="comm-bridge-raw-") as tmp:
            floor = await zmq_endpoint(Path(tmp), kernels, subshell=False)
            await floor.execute(TARGETS)
            comm_id = await floor.open_comm(ECHO_TARGET)
            zmq = await timed_echoes(lambda: floor.echo(comm_id, {"s": "x" * 100}), seconds)
            await floor.close()
            for kernel in kernels:
                await kernel.shutdown()
    finally:
        server.terminate()
        server.wait(10)
    return {
        "echo_100b_p50_ms_raw": raw[0],
        "echo_100b_p99_ms_raw": raw[1],
        "echo_100b_p50_ms_zmq": zmq[0],
        "echo_100b_p99_ms_zmq": zmq[1],
        "raw_over_zmq_p50": raw[0] / zmq[0],
    }


async def connect_when_listening(url: str) -> Any:
    """The echo server's websocket, once its process listens (within 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return await websocket_connect(url)
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)  # a process starting up: no event to wait on


async def timed_echoes(echo: Any, seconds: float) -> tuple[float, float]:
    """p50 and p99 (ms) of ``echo()`` round trips (seconds each) repeated for ``seconds``."""
    for _ in range(WARMUP):
        await echo()
    samples: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        samples.append(await echo())
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


async def python_figures(seconds: float) -> dict[str, float]:
    return await python_echo(seconds) | await python_small_echo(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--python", action="store_true", help="a Python client, not a page")
    parser.add_argument("--serve", type=int, metavar="PORT", help="only the echo server")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, threading.Event(), [])
        return
    got = asyncio.run(python_figures(args.seconds)) if args.python else measure(args.seconds)
    print(json.dumps(got))


if __name__ == "__main__":
    main()
