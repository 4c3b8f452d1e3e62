"""Chromium for the browser figure, and a bare DevTools client to time comms in it.

Playwright enables the DevTools ``Network`` domain on every page it is attached to, and
Chromium then copies each websocket frame, base64-encoded, into a ``webSocketFrameReceived``
event that the Playwright driver and the Python client both decode. With 1 MiB frames that
copying is the bottleneck: every path measured about 30 MB/s attached, against 110-190 MB/s
detached (tried on this machine). So the figure launches Chromium itself with a DevTools port,
sets the pages up through Playwright (``connect_over_cdp``), disconnects Playwright (the pages
stay open), and times the comms through :class:`CdpPage`, which only sends
``Runtime.evaluate``: no domain enabled, no events.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import json
import queue
import re
import subprocess
import threading
import urllib.request
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import psutil
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.support.harness import CHROMIUM, CHROMIUM_ARGS

from .endpoints import BenchError

T = TypeVar("T")
STARTUP_TIMEOUT = 60.0
DEVTOOLS = re.compile(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/")


class LoopThread:
    """An asyncio loop in a thread of its own (Playwright's sync API holds the main one's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise BenchError(f"no result in {timeout} s") from None

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Chromium:
    """Headless Chromium (the tests' flags) with a DevTools port, not driven by Playwright."""

    def __init__(self, user_data: Path) -> None:
        args = [CHROMIUM, *CHROMIUM_ARGS, "--remote-debugging-port=0", "--window-size=1400,900"]
        args += [f"--user-data-dir={user_data}", "about:blank"]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        self.log: collections.deque[str] = collections.deque(maxlen=50)
        self._port: queue.Queue[int] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            self.port = self._port.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.stop()
            raise BenchError("Chromium gave no DevTools port:\n" + "\n".join(self.log)) from None

    def _drain(self) -> None:
        """Read its stderr to the end (a full pipe would block it); the port is on it."""
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip())
            match = DEVTOOLS.search(line)
            if match:
                self._port.put(int(match.group(1)))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_target(self, url: str) -> str:
        """The DevTools websocket URL of the page showing ``url``."""
        with urllib.request.urlopen(f"{self.endpoint}/json/list", timeout=10) as response:
            targets = json.loads(response.read())
        found = [t for t in targets if t.get("type") == "page" and t.get("url") == url]
        if len(found) != 1:
            raise BenchError(f"{len(found)} pages show {url}: {[t.get('url') for t in targets]}")
        return str(found[0]["webSocketDebuggerUrl"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class CdpPage:
    """One page's DevTools websocket: ``Runtime.evaluate`` of promises, and the commands a
    profile needs; no domain that sends events is enabled."""

    def __init__(self, conn: WebSocketClientConnection, loop: LoopThread) -> None:
        self.conn, self.loop = conn, loop
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.ensure_future(self._read())  # on the loop: built there

    @classmethod
    def connect(cls, url: str, loop: LoopThread) -> CdpPage:
        async def connect() -> CdpPage:
            conn = await websocket_connect(url, max_message_size=1 << 30)
            return cls(conn, loop)

        return loop.call(connect(), STARTUP_TIMEOUT)

    async def _read(self) -> None:
        while (frame := await self.conn.read_message()) is not None:
            msg = json.loads(frame)
            future = self.waiting.pop(msg.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(msg)
        for future in self.waiting.values():
            future.set_exception(BenchError("the page's DevTools connection closed"))

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        await self.conn.write_message(
            json.dumps({"id": self.next_id, "method": method, "params": params})
        )
        return await future

    def call(self, method: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
        """A DevTools command's ``result`` (``Profiler.*`` for ``profile_page.py``)."""
        msg = self.loop.call(self._call(method, params), timeout)
        if "error" in msg:
            raise BenchError(f"{method}: {msg['error']}")
        result: dict[str, Any] = msg.get("result", {})
        return result

    async def _evaluate(self, expression: str) -> Any:
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        msg = await self._call("Runtime.evaluate", params)
        result = msg.get("result", {})
        if "error" in msg or "exceptionDetails" in result:
            details = result.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or msg.get("error")
            raise BenchError(f"in the page: {text or details}")
        return result.get("result", {}).get("value")

    def evaluate(self, expression: str, timeout: float) -> Any:
        """The value ``expression`` (a promise is awaited) gives, within ``timeout`` seconds."""
        return self.loop.call(self._evaluate(expression), timeout)

    def close(self) -> None:
        self.loop.loop.call_soon_threadsafe(self.conn.close)  # tornado is not thread-safe


def processes(pid: int) -> list[psutil.Process]:
    """A process and all its children (Chromium's renderers, network service, ...)."""
    try:
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds so far (0 for a process that is gone)."""
    try:
        times = process.cpu_times()
    except psutil.Error:  # a renderer that ended meanwhile
        return 0.0
    return float(times.user + times.system)
