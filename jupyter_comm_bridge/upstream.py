"""The relay's own connection to one kernel: a shell and an iopub socket.

One :class:`ZMQUpstream` serves every bridge client of a kernel. It signs what
it sends with the kernel's key, and before reporting itself connected it nudges
the kernel with ``kernel_info_request`` until an iopub message shows that the
subscription is live (a new SUB socket misses what is published before it has
joined: the "slow joiner").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import zmq
from jupyter_client.session import Session
from tornado.ioloop import IOLoop

OnMessage = Callable[[str, list[bytes]], None]

NUDGE_INTERVAL = 0.5
LINGER_MS = 1000


class UpstreamError(RuntimeError):
    """The kernel could not be reached; the text says why."""


class ZMQUpstream:
    """Shell + iopub (+ control, for nudging) streams to a local kernel."""

    def __init__(
        self, kernel_manager: Any, session: Session, on_message: OnMessage, log: logging.Logger
    ) -> None:
        self.kernel_manager = kernel_manager
        self.session = session
        self.on_message = on_message
        self.log = log
        self.streams: dict[str, Any] = {}
        self._nudge_ids: set[str] = set()
        self._iopub_live: asyncio.Future[None] | None = None

    @property
    def connected(self) -> bool:
        return self._iopub_live is not None and self._iopub_live.done() and bool(self.streams)

    async def connect(self, timeout: float) -> None:
        """Open the streams and wait until iopub is live (or ``timeout`` passes)."""
        loop = asyncio.get_running_loop()
        self._iopub_live = loop.create_future()
        identity = self.session.bsession
        for channel in ("iopub", "shell", "control"):
            stream = getattr(self.kernel_manager, f"connect_{channel}")(identity=identity)
            stream.on_recv(self._receiver(channel))
            self.streams[channel] = stream
        handle = None

        def nudge() -> None:
            nonlocal handle
            if self._iopub_live is None or self._iopub_live.done() or not self.streams:
                return
            for channel in ("shell", "control"):
                self._nudge_ids.add(self.send_new(channel, "kernel_info_request", {}))
            handle = IOLoop.current().call_later(NUDGE_INTERVAL, nudge)

        nudge()
        try:
            await asyncio.wait_for(asyncio.shield(self._iopub_live), timeout)
        except asyncio.TimeoutError:
            self.log.warning(
                "comm-bridge: no iopub message from kernel %s within %.0fs; going on",
                getattr(self.kernel_manager, "kernel_id", "?"),
                timeout,
            )
            if not self._iopub_live.done():
                self._iopub_live.set_result(None)
        finally:
            if handle is not None:
                IOLoop.current().remove_timeout(handle)
        if not self.streams:
            raise UpstreamError("the connection to the kernel was closed while connecting")

    def _receiver(self, channel: str) -> Callable[[list[bytes]], None]:
        def receive(msg_list: list[bytes]) -> None:
            if channel == "iopub" and self._iopub_live and not self._iopub_live.done():
                self._iopub_live.set_result(None)
            if channel != "iopub" and self._nudge_ids and self._is_nudge_reply(msg_list):
                return
            self.on_message(channel, msg_list)

        return receive

    def _is_nudge_reply(self, msg_list: list[bytes]) -> bool:
        _, parts = self.session.feed_identities(msg_list)
        try:
            parent = self.session.unpack(parts[2])
        except (ValueError, IndexError):
            return False
        msg_id = parent.get("msg_id") if isinstance(parent, dict) else None
        if msg_id in self._nudge_ids:
            self._nudge_ids.discard(msg_id)
            return True
        return False

    def send_raw(self, channel: str, parts: list[Any]) -> None:
        """Sign and send ``[header, parent, metadata, content, *buffers]``."""
        stream = self.streams.get(channel)
        if stream is None or stream.closed():
            raise UpstreamError("the connection to the kernel is closed")
        self.session.send_raw(stream, parts)

    def send_new(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        """Build, sign and send a message of the relay's own; returns its msg_id."""
        stream = self.streams.get(channel)
        if stream is None or stream.closed():
            raise UpstreamError("the connection to the kernel is closed")
        msg = self.session.send(stream, msg_type, content)
        return msg["header"]["msg_id"] if msg else ""

    def close(self) -> None:
        for stream in self.streams.values():
            if not stream.closed():
                stream.on_recv(None)
                # ZMQStream sends from the event loop: push out what is queued (a last
                # comm_close, say) before closing, and let libzmq finish delivering it.
                stream.flush(zmq.POLLOUT)
                stream.close(linger=LINGER_MS)
        self.streams = {}
        if self._iopub_live is not None and not self._iopub_live.done():
            self._iopub_live.set_result(None)
