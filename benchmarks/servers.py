"""The processes under test: two real Jupyter servers and a kernel driven over ZMQ.

Both servers run the installed package with the same options, except that one
loads the extension and the other does not; each has a private HOME so that no
user config on the machine changes either of them.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.manager import AsyncKernelManager

STARTUP_TIMEOUT = 90.0
EXTENSION = "jupyter_comm_bridge"
#: Options both servers share. jupyter_server's iopub rate limits (1000 msgs/s,
#: 1 MB/s) drop output and comm_msg on the stock channel; left on, the stock
#: figures would measure the limiter, so they are off on both servers.
COMMON_ARGS = ("--ZMQChannelsWebsocketConnection.limit_rate=False",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class JupyterServer:
    """``python -m jupyter_server`` on a free loopback port, with or without the extension."""

    label: str
    root: Path
    extension: bool
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.root / f"server-{self.label}.log"

    @property
    def args(self) -> list[str]:
        args = [
            # A Python literal on the command line: {"jupyter_comm_bridge": False} disables it
            # although the config that pip install wrote enables it.
            f'--ServerApp.jpserver_extensions={{"{EXTENSION}": {self.extension}}}',
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={self.root / 'notebooks'}",
            *COMMON_ARGS,
        ]
        return [*args, "--allow-root"] if os.geteuid() == 0 else args

    def spawn(self) -> None:
        """Start the process; :meth:`wait_ready` waits for it to answer."""
        home = self.root / f"home-{self.label}"
        (self.root / "notebooks").mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        # Only the installed config (sys.prefix) applies: no user dirs, no JUPYTER_* overrides.
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        env.update(HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
        log = self.log_path.open("wb")
        cmd = [sys.executable, "-m", "jupyter_server", *self.args]
        # cwd: the temporary root, so that the server imports the installed package
        # (``python -m`` puts the cwd first on sys.path: a checkout would shadow it).
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root
        )
        atexit.register(self.stop)  # also when the harness dies on an exception

    def wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.label} exited:\n{self.log_tail()}")
            try:
                self.api("GET", "api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)  # a subprocess has no readiness event to wait on
        raise RuntimeError(f"server {self.label} did not start:\n{self.log_tail()}")

    def check_extension(self) -> None:
        """Fail unless the extension really is loaded (or really is not)."""
        status = self.http_status(f"static/{EXTENSION}/pycomm.js")
        loaded = status == 200
        if loaded != self.extension:
            raise RuntimeError(
                f"server {self.label}: extension loaded={loaded} (static client: HTTP {status}), "
                f"expected {self.extension}"
            )

    def http_status(self, path: str) -> int:
        req = urllib.request.Request(self.url + path)
        req.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else None

    def start_kernel(self) -> str:
        return str(self.api("POST", "api/kernels", {"name": "python3"})["id"])

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


class ZmqKernel:
    """An ipykernel started by jupyter_client in the harness: the ZMQ floor's kernel."""

    def __init__(self, root: Path, name: str) -> None:
        runtime = root / "zmq-runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        self.manager = AsyncKernelManager(
            kernel_name="python3", connection_file=str(runtime / f"kernel-{name}.json")
        )
        self.pid: int | None = None

    async def start(self) -> None:
        await self.manager.start_kernel()
        provisioner = self.manager.provisioner
        process = getattr(provisioner, "process", None)
        self.pid = getattr(process, "pid", None)
        atexit.register(self.kill)

    async def shutdown(self) -> None:
        if self.manager.has_kernel:
            await self.manager.shutdown_kernel(now=True)

    def kill(self) -> None:
        if self.pid is not None and psutil.pid_exists(self.pid):
            _kill(psutil.Process(self.pid))
