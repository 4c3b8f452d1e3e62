"""The relay's own connection to one kernel: shell and control sockets, and its iopub.

One :class:`ZMQUpstream` serves every bridge client of a kernel. Its iopub is the
server's activity stream for that kernel where there is one (:class:`..internals.iopub.IopubTap`),
else a SUB socket of its own. It signs what it sends with the kernel's key, and before
reporting itself connected it nudges the kernel with ``kernel_info_request`` until an
iopub message shows that the subscription is live (a new SUB socket misses what is
published before it has joined: the "slow joiner").
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import zmq
from jupyter_client.session import Session
from tornado.ioloop import PeriodicCallback
from zmq.eventloop.zmqstream import ZMQStream

from ..internals.iopub import IopubTap
from ..wire.kernel_frames import decode_zmq, zmq_parts
from ..wire.message import MalformedMessage, Part, WireMessage
from .managers import LocalKernelManager, OnKernelMessage, SentRequests, UpstreamError

NUDGE_INTERVAL = 0.5
#: How long closing sockets may take to deliver what they still hold (a last comm_close).
LINGER_MS = 1000


class ZMQUpstream(SentRequests):
    """Shell + iopub (+ control, for nudging) streams to a local kernel."""

    def __init__(
        self,
        kernel_manager: LocalKernelManager,
        session: Session,
        on_message: OnKernelMessage,
        log: logging.Logger,
        tap: IopubTap | None = None,
    ) -> None:
        self.kernel_manager = kernel_manager
        self.tap = tap
        self.session = session
        self.on_message = on_message
        self.log = log
        self.streams: dict[str, ZMQStream] = {}
        self._nudge_ids: set[str] = set()
        self._iopub_live: asyncio.Future[None] | None = None
        #: The content of the kernel's first kernel_info_reply ({} if none came in time).
        self.kernel_info: dict[str, Any] = {}
        self._kernel_info: asyncio.Future[None] | None = None
        super().__init__()

    @property
    def connected(self) -> bool:
        return self._iopub_live is not None and self._iopub_live.done() and bool(self.streams)

    async def connect(self, timeout: float) -> None:
        """Open the streams; wait until iopub is live and kernel_info is known (or ``timeout``)."""
        loop = asyncio.get_running_loop()
        self._iopub_live = loop.create_future()
        self._kernel_info = loop.create_future()
        identity = self.session.bsession
        if not self._listen_to_tap():
            self.streams["iopub"] = self._connect_iopub()
        for channel in ("shell", "control"):
            self.streams[channel] = getattr(self.kernel_manager, f"connect_{channel}")(
                identity=identity
            )
        for channel, stream in self.streams.items():
            # copy=False: big buffers stay in their ZMQ frames on their way to the clients
            stream.on_recv(self._receiver(channel), copy=False)
        nudger = PeriodicCallback(self._nudge, NUDGE_INTERVAL * 1000)
        self._nudge()
        nudger.start()
        try:
            _, late = await asyncio.wait((self._iopub_live, self._kernel_info), timeout=timeout)
        finally:
            nudger.stop()
        if late:
            self.log.warning(
                "comm-bridge: kernel %s: no %s within %.0fs; going on",
                self.kernel_manager.kernel_id,
                "iopub message" if self._iopub_live in late else "kernel_info_reply",
                timeout,
            )
            for future in late:
                future.set_result(None)
        if not self.streams:
            raise UpstreamError("the connection to the kernel was closed while connecting")

    def _nudge(self) -> None:
        """Ask for kernel_info on shell and control: the replies' iopub status show it is live."""
        if self._iopub_live is None or self._iopub_live.done() or not self.streams:
            return
        for channel in ("shell", "control"):
            self._nudge_ids.add(self.send_new(channel, "kernel_info_request", {}))

    def _iopub_url(self, info: dict[str, Any]) -> str:
        ip, transport, port = info["ip"], info["transport"], info["iopub_port"]
        return f"tcp://{ip}:{port}" if transport == "tcp" else f"{transport}://{ip}-{port}"

    def _listen_to_tap(self) -> bool:
        """Whether the relay's iopub is the server's activity stream (not with CURVE keys,
        which jupyter_client's own sockets do not use)."""
        info = self.kernel_manager.get_connection_info()
        if self.tap is None or "curve_publickey" in info:
            return False
        return self.tap.listen(self._from_iopub, self._iopub_url(info))

    def _connect_iopub(self) -> ZMQStream:
        """The iopub subscription, with no receive high-water mark.

        A PUB socket silently drops what a subscriber is too slow to take once the
        pipe between them is full. With no limit on our side (set before connecting,
        where it shapes the pipe) libzmq keeps reading, so only the kernel's own send
        limit (1000 messages by default) remains, as for every Jupyter frontend;
        max_queued_bytes bounds what waits for each client. jupyter_client's
        connect_iopub cannot take the option, hence this socket of our own.
        """
        info = self.kernel_manager.get_connection_info()
        sock = self.kernel_manager.context.socket(zmq.SUB, socket_class=zmq.Socket)
        sock.linger = LINGER_MS
        sock.setsockopt(zmq.RCVHWM, 0)
        if "curve_publickey" in info:
            sock.curve_secretkey = info["curve_secretkey"].encode()
            sock.curve_publickey = sock.curve_serverkey = info["curve_publickey"].encode()
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(self._iopub_url(info))
        return ZMQStream(sock)

    def _receiver(self, channel: str) -> Any:
        def receive(frames: list[zmq.Frame]) -> None:
            self._handle(channel, zmq_parts(frames))

        return receive

    def _from_iopub(self, parts: list[Part]) -> None:
        self._handle("iopub", parts)

    def _handle(self, channel: str, parts: list[Part]) -> None:
        if channel == "iopub" and self._iopub_live and not self._iopub_live.done():
            self._iopub_live.set_result(None)
        try:
            msg = decode_zmq(channel, parts, self.session.unpack)
        except (MalformedMessage, ValueError) as e:
            self.log.warning(
                "comm-bridge: kernel %s sent a bad message: %s", self.kernel_manager.kernel_id, e
            )
            return
        if channel != "iopub" and self._nudge_ids and self._is_nudge_reply(msg):
            return
        self.on_message(msg)

    def _is_nudge_reply(self, msg: WireMessage) -> bool:
        msg_id = msg.parent_header(self.session.unpack).get("msg_id")
        if msg_id not in self._nudge_ids:
            return False
        self._nudge_ids.discard(msg_id)
        if self._kernel_info is not None and not self._kernel_info.done():
            self.kernel_info = msg.content(self.session.unpack)
            self._kernel_info.set_result(None)
        return True

    def send_raw(self, channel: str, parts: list[Any]) -> None:
        """Sign and send ``[header, parent, metadata, content, *buffers]``."""
        stream = self.streams.get(channel)
        if stream is None or stream.closed():
            raise UpstreamError("the connection to the kernel is closed")
        # copy=False: libzmq sends big buffers from our bytes (pyzmq copies small ones anyway)
        self.session.send_raw(stream, parts, copy=False)  # type: ignore[arg-type]  # (a ZMQStream will do)

    def send_new(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        """Build, sign and send a message of the relay's own; returns its msg_id."""
        stream = self.streams.get(channel)
        if stream is None or stream.closed():
            raise UpstreamError("the connection to the kernel is closed")
        msg = self.session.send(stream, msg_type, content)
        msg_id = msg["header"]["msg_id"] if msg else ""
        self.note_sent(msg_id)
        return msg_id

    def close(self) -> None:
        if self.tap is not None:
            self.tap.stop(self._from_iopub)
        for stream in self.streams.values():
            if not stream.closed():
                stream.on_recv(None)
                # ZMQStream sends from the event loop: push out what is queued (a last
                # comm_close, say) before closing, and let libzmq finish delivering it.
                stream.flush(zmq.POLLOUT)
                stream.close(linger=LINGER_MS)
        self.streams = {}
        for future in (self._iopub_live, self._kernel_info):
            if future is not None and not future.done():
                future.set_result(None)
