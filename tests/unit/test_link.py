"""The relay's link to its kernel: retiring after the last client, and a client that comes
back meanwhile (a churn of connections does this all the time)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from jupyter_client.session import Session
from tornado.ioloop import IOLoop

from jupyter_comm_bridge.kernel.link import KernelLink
from jupyter_comm_bridge.wire.message import build_message


class FakeKernelManager:
    kernel_id = "k"


class FakeUpstream:
    kernel_info: dict[str, Any] = {}

    def __init__(self) -> None:
        self.closed = False

    async def connect(self, timeout: float) -> None: ...

    def close(self) -> None:
        self.closed = True


class Settings:
    connect_timeout = 5.0
    comm_subshells = "off"


SESSION = Session()


async def retiring_link() -> tuple[KernelLink, FakeUpstream]:
    """A connected link whose last client just ended, waiting for the kernel to finish the
    comm_close it sent (msg_id "close-1")."""
    upstream = FakeUpstream()
    link = KernelLink(
        FakeKernelManager(),  # type: ignore[arg-type]
        SESSION,
        lambda msg: None,
        Settings(),  # type: ignore[arg-type]
        logging.getLogger("comm-bridge-test"),
        lambda reason: None,
        lambda status, reason: None,
    )
    link.make_upstream = lambda: upstream  # type: ignore[assignment,return-value]
    await link.connect()
    link.retire({"close-1"})
    return link, upstream


def kernel_goes_idle(link: KernelLink) -> None:
    """What the upstream hands the link: the idle status of the awaited comm_close."""
    idle = build_message(
        SESSION, "iopub", "status", {"execution_state": "idle"}, {"msg_id": "close-1"}
    )
    link._receive(idle)


async def callbacks_so_far_ran() -> None:
    """The event loop ran every callback added before this (they run in order)."""
    done = asyncio.get_running_loop().create_future()
    IOLoop.current().add_callback(done.set_result, None)
    await asyncio.wait_for(done, 5)


async def test_a_retiring_link_closes_once_the_kernel_finished():
    link, upstream = await retiring_link()
    kernel_goes_idle(link)
    await callbacks_so_far_ran()
    assert upstream.closed and link.upstream is None


async def test_a_client_that_connects_before_the_retirement_runs_keeps_the_link():
    link, upstream = await retiring_link()
    kernel_goes_idle(link)  # the disconnect is scheduled, not run
    await link.connect()  # a new client's websocket, in between
    await callbacks_so_far_ran()
    assert not upstream.closed and link.upstream is upstream
