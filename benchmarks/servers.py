"""The processes under test: two real Jupyter servers and a kernel driven over ZMQ.

Both servers run the installed package with the same options, except that one
loads the extension and the other does not; each has a private HOME so that no
user config on the machine changes either of them. The launcher is the tests' own
(``tests/support/servers.py``).
"""

from __future__ import annotations

import atexit
from pathlib import Path

import psutil
from jupyter_client.manager import AsyncKernelManager

from tests.support.servers import Server, _kill

#: Options both servers share. jupyter_server's iopub rate limits (1000 msgs/s,
#: 1 MB/s) drop output and comm_msg on the stock channel; left on, the stock
#: figures would measure the limiter, so they are off on both servers.
COMMON_ARGS = ("--ZMQChannelsWebsocketConnection.limit_rate=False",)


def jupyter_server(label: str, root: Path, extension: bool) -> Server:
    """``jupyter server`` with or without the extension (not started yet)."""
    return Server(
        "server",
        root,
        extension=None if extension else False,
        label=label,
        extra_args=list(COMMON_ARGS),
    )


def check_extension(server: Server, expected: bool) -> None:
    """Fail unless the extension really is loaded (or really is not)."""
    loaded = server.extension_loaded()
    if loaded != expected:
        raise RuntimeError(f"server {server.label}: extension loaded={loaded}, expected {expected}")


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
