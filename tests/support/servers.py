"""Real Jupyter servers started from the command line, as a user starts them: the one
launcher of the tests and the benchmarks (``benchmarks/`` imports it as
``tests.support.servers``).

They use the installed package and the config that ``pip install`` wrote, with a private
HOME and runtime dir so nothing else on the machine leaks in; they run from their own
directory, so that a checkout cannot shadow the installed package.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

STARTUP_TIMEOUT = 90.0
EXTENSION = "jupyter_comm_bridge"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``jupyter <app>`` (server, lab, notebook, nbclassic) on a free loopback port."""

    app: str
    root: Path
    base_url: str = "/"
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    #: None: as installed (enabled by the config pip wrote); False: turned off.
    extension: bool | None = None
    #: Names its HOME and log, for several servers in one root.
    label: str = ""
    #: Environment variables set for the server (e.g. JUPYTER_PATH).
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.base_url}"

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.label or self.app}-{self.port}.log"

    @property
    def home(self) -> Path:
        return self.root / (f"home-{self.label}" if self.label else "home")

    @property
    def notebook_dir(self) -> Path:
        """The server's root dir (``--ServerApp.root_dir``)."""
        return self.root / "notebooks"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        self.home.mkdir(parents=True, exist_ok=True)
        env.update(HOME=str(self.home), JUPYTER_RUNTIME_DIR=str(self.home / "runtime"))
        env.update(self.extra_env)
        return env

    @property
    def args(self) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "jupyter",
            self.app,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.base_url={self.base_url}",
            f"--ServerApp.root_dir={self.notebook_dir}",
            "--ServerApp.port_retries=0",
        ]
        if self.extension is False:
            # a Python literal: turns off what the config pip wrote turns on
            args.append(f'--ServerApp.jpserver_extensions={{"{EXTENSION}": False}}')
        if os.geteuid() == 0:
            args.append("--allow-root")
        return [*args, *self.extra_args]

    def start(self) -> Server:
        self.spawn()
        self.wait_ready()
        return self

    def spawn(self) -> None:
        """Start the process; :meth:`wait_ready` waits for it to answer."""
        self.notebook_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=self.root
        )
        atexit.register(self.stop)  # even when a test is killed on timeout

    def wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited:\n{self.log_tail()}")
            try:
                self.answer()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)  # polling a process that has no readiness event
        raise RuntimeError(f"jupyter {self.app} did not start:\n{self.log_tail()}")

    def answer(self) -> None:
        """A request that succeeds once the server is ready (raises URLError until then)."""
        self.api("GET", "api/status")

    def stop(self) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL if it hangs."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        children = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for child in children:  # kernels a killed server could not shut down
            _kill(child)

    def extension_loaded(self) -> bool:
        """Whether the server serves the bridge's client (the extension is loaded)."""
        return self.http_status("comm-bridge/client/0/pycomm.js") == 200

    def http_status(self, path: str) -> int:
        req = urllib.request.Request(self.url + path)
        req.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return rest_call(self.url + path, self.token, method, body)

    def start_kernel(self, name: str = "python3") -> str:
        return str(self.api("POST", "api/kernels", {"name": name})["id"])

    def ws_fetch(
        self,
        *path: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        """Like pytest-jupyter's ``jp_ws_fetch``, for this server."""
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        url = f"{self.ws_url}{'/'.join(path)}?{query}"
        all_headers = {"Authorization": f"token {self.token}", **(headers or {})}
        return websocket_connect(HTTPRequest(url, headers=all_headers), **kw)

    @property
    def process(self) -> psutil.Process:
        assert self.proc is not None
        return psutil.Process(self.proc.pid)

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def rest_call(url: str, token: str, method: str = "GET", body: Any = None) -> Any:
    """One call of a Jupyter REST API, with a token: the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"token {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
    return json.loads(text) if text else None


class PeakRSS:
    """The highest RSS of a process while the block runs (sampled every ``interval`` s)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.start = self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        self._thread.join(5)

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill(process: psutil.Process) -> None:
    try:
        process.kill()
    except psutil.Error:
        pass


class Gateway:
    """``jupyter kernelgateway`` on loopback, with an auth token."""

    def __init__(self, root: Path, extra_args: list[str] | None = None) -> None:
        self.root = root
        #: More options of ``jupyter kernelgateway`` (e.g. the benchmarks' rate limit off).
        self.extra_args = list(extra_args or [])
        self.port = free_port()
        self.token = uuid.uuid4().hex
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        args = [
            sys.executable,
            "-m",
            "jupyter",
            "kernelgateway",
            "--KernelGatewayApp.ip=127.0.0.1",
            f"--KernelGatewayApp.port={self.port}",
            f"--KernelGatewayApp.auth_token={self.token}",
            "--KernelGatewayApp.port_retries=0",
            "--JupyterWebsocketPersonality.list_kernels=True",
            *self.extra_args,
        ]
        log = (self.root / "gateway.log").open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        env["HOME"] = str(self.root)
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        atexit.register(self.stop)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.root / "gateway.log").read_text()
            request = urllib.request.Request(f"{self.url}/api", headers=self.auth)
            try:
                urllib.request.urlopen(request, timeout=5).close()
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)  # polling a process that has no readiness event
        raise RuntimeError((self.root / "gateway.log").read_text())

    def server_args(self, url: str | None = None) -> list[str]:
        """What a notebook server needs to use this gateway (at ``url``) for its kernels."""
        return [
            f"--gateway-url={url or self.url}",
            f"--GatewayClient.auth_token={self.token}",
            "--GatewayClient.request_timeout=30",
        ]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return rest_call(f"{self.url}/{path}", self.token, method, body)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


class CutProxy:
    """A TCP proxy on loopback, in a thread of its own, whose connections can be cut at once:
    a network drop between two servers (the test's own loop may be blocked meanwhile). It can
    also hold back the answers to websocket requests (``hold``): a slow gateway handshake."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._writers: list[asyncio.StreamWriter] = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._gate: asyncio.Event | None = None
        #: Websocket requests (``.../channels``) that came through, and who waits for a count.
        self.channels_requests = 0
        self._counted: list[tuple[int, concurrent.futures.Future[None]]] = []

    def start(self) -> CutProxy:
        self._thread.start()
        server = self._run(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        return self

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        request = await reader.read(1 << 16)
        up_writer.write(request)
        gate = None
        if b"/channels" in request.split(b"\r\n", 1)[0]:
            gate = self._gate
            self.channels_requests += 1
            for count, future in self._counted:
                if self.channels_requests >= count and not future.done():
                    future.set_result(None)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer, gate))

    def hold(self) -> None:
        """Hold the answers to websocket requests made from now on, until ``release``."""

        async def close_gate() -> None:
            self._gate = asyncio.Event()

        self._run(close_gate())

    def release(self) -> None:
        async def open_gate() -> None:
            if self._gate is not None:
                self._gate.set()
            self._gate = None

        self._run(open_gate())

    async def channels_request(self, count: int, timeout: float = 20.0) -> None:
        """Until ``count`` websocket requests have come through (from the test's loop)."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()

        async def watch() -> None:
            if self.channels_requests >= count:
                future.set_result(None)
            else:
                self._counted.append((count, future))

        self._run(watch())
        await asyncio.wait_for(asyncio.wrap_future(future), timeout)

    def cut(self) -> None:
        """Abort every connection open now (new ones still go through)."""

        def abort() -> None:
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()

        self.loop.call_soon_threadsafe(abort)

    def stop(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gate: asyncio.Event | None = None
) -> None:
    try:
        if gate is not None:
            await gate.wait()
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()
