"""The bridge websocket: ``{base_url}comm-bridge/kernels/{kernel_id}/channels``.

A thin handler: authentication and authorization exactly as the kernels API
does them, then every frame goes to the kernel's relay.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.ioloop import IOLoop, PeriodicCallback
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..internals import scatter
from ..wire.message import Encoded, Frame
from ..wire.protocol import (
    BUFFER_FRAMES_PARAM,
    CLOSE_GOING_AWAY,
    CLOSE_UNREACHABLE,
    LEGACY_PROTOCOL,
    RESUMABLE_PARAM,
    RESUME_PARAM,
    V1_PROTOCOL,
)
from .client import BridgeSocket

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
URL_PATTERN = rf"comm-bridge/kernels/(?P<kernel_id>{UUID_PATTERN})/channels"


class HandlerSettings(Protocol):
    ping_interval: float
    ping_timeout: float
    max_message_size: int


class Relay(Protocol):
    """A kernel's relay, as its clients' websockets use it (``relay.relay.KernelRelay``)."""

    async def connect(self) -> None: ...

    async def attach(self, socket: BridgeSocket, resume: int | None) -> None: ...

    def handle_frame(self, socket: BridgeSocket, frame: Frame) -> None: ...

    def detach(self, socket: BridgeSocket) -> None: ...


class Relays(Protocol):
    """The relays by kernel id (``relay.registry.RelayRegistry``)."""

    @property
    def settings(self) -> HandlerSettings: ...

    def relay(self, kernel_id: str) -> Relay: ...

    def count_connection(self, kernel_id: str, opened: bool) -> None: ...


class BridgeWebsocketHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """One bridge client: a websocket that carries only comm traffic."""

    auth_resource = "kernels"
    relay: Relay | None = None

    def initialize(self, registry: Relays) -> None:
        self.registry = registry
        self.session_id = ""
        self.resume: int | None = None
        #: Whether the client asked for the resume layer (``resumable=1``; docs/protocol.md).
        self.resumable = False
        #: Whether it asked for big buffers in frames of their own (``buffer_frames=1``).
        self.buffer_frames = False
        #: Bytes handed to tornado and not yet written to the socket: what the client
        #: has not read (TCP's own buffers aside).
        self.unflushed_bytes = 0
        self._pinger: PeriodicCallback | None = None
        self._kernel_id = ""

    def set_default_headers(self) -> None:
        """Websockets take none of JupyterHandler's default headers."""

    def get_compression_options(self) -> dict[str, Any] | None:
        return self.settings.get("websocket_compression_options", None)

    # Liveness and size limits come from the extension's traits, not the server-wide settings.
    @property
    def ping_interval(self) -> float:
        """0: neither WebSocketMixin's nor tornado's own pings; the handler runs its own."""
        return 0

    def _start_pinging(self) -> None:
        now = IOLoop.current().time()
        self.last_ping = self.last_pong = now
        interval = self.registry.settings.ping_interval
        if interval > 0:
            self._pinger = PeriodicCallback(self._ping, interval * 1000)
            self._pinger.start()

    def _stop_pinging(self) -> None:
        if self._pinger is not None:
            self._pinger.stop()
            self._pinger = None

    def _ping(self) -> None:
        """Ping; a client silent past ``ping_timeout`` is given up at once.

        Its client is detached (to wait for a reconnect) without waiting the
        seconds a close handshake with a dead peer takes. Only when we pinged it lately:
        after a stall of our own (a blocked event loop, a suspended machine) every pong
        is late, and it is our lateness, not the client's (jupyter_server's rule too).
        """
        if self.ws_connection is None or self.ws_connection.is_closing():
            self._stop_pinging()
            return
        now = IOLoop.current().time()
        silent = now - self.last_pong
        pinged_lately = now - self.last_ping < 2 * self.registry.settings.ping_interval
        if pinged_lately and silent > self.registry.settings.ping_timeout:
            self.log.warning("comm-bridge: no pong from %s for %.1fs", self.session_id, silent)
            self._gone()
            self.close(CLOSE_GOING_AWAY, "no pong")
            return
        self.ping(b"")
        self.last_ping = now

    @property
    def max_message_size(self) -> int:
        # Frames up to twice the limit are read and refused with an error, keeping the
        # connection; bigger ones make tornado close it (1009, "message too big").
        return 2 * self.registry.settings.max_message_size

    @ws_authenticated
    async def get(self, kernel_id: str) -> None:
        user = self.current_user
        authorized = await ensure_async(
            self.authorizer.is_authorized(self, user, "execute", "kernels")
        )
        if not authorized:
            raise web.HTTPError(403)
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")
        # Each connection is its own client: never the id of the page's own connection.
        self.session_id = self.get_argument("session_id", "") or uuid.uuid4().hex
        resume = self.get_argument(RESUME_PARAM, "")
        if resume and not resume.isdigit():
            raise web.HTTPError(400, "resume must be a count of messages")
        self.resume = int(resume) if resume else None
        self.resumable = self.resume is not None or self.get_argument(RESUMABLE_PARAM, "") == "1"
        self.buffer_frames = self.get_argument(BUFFER_FRAMES_PARAM, "") == "1"
        # Accept the websocket only once the kernel's iopub is live, so that an open
        # socket means a working one (and a kernel that is gone is an HTTP error).
        try:
            await self.registry.relay(kernel_id).connect()
        except Exception as e:
            raise web.HTTPError(503, f"Kernel {kernel_id} is not reachable: {e}") from e
        await super().get(kernel_id=kernel_id)

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return V1_PROTOCOL if V1_PROTOCOL in subprotocols else None

    async def open(self, kernel_id: str) -> None:
        super().open()
        # Small frames must not wait for delayed ACKs (Nagle): see README, Latency.
        self.set_nodelay(True)
        self._start_pinging()
        try:
            self.relay = self.registry.relay(kernel_id)
            await self.relay.attach(self, self.resume)
        except Exception as e:
            self.log.warning("comm-bridge: cannot relay kernel %s: %s", kernel_id, e)
            self.relay = None
            self.close(CLOSE_UNREACHABLE, f"cannot reach kernel {kernel_id}: {e}"[:120])
            return
        if self.relay is not None:  # (a replaced or ended client may have closed us already)
            self._kernel_id = kernel_id
            self.registry.count_connection(kernel_id, opened=True)

    def on_message(self, message: Frame) -> None:
        if self.relay is not None:
            self.relay.handle_frame(self, message)

    def on_close(self) -> None:
        self._gone()

    def _gone(self) -> None:
        """The websocket is done (closed, or given up): release what it holds, once."""
        self._stop_pinging()
        if self.relay is not None:
            relay, self.relay = self.relay, None
            relay.detach(self)
        if self._kernel_id:
            self.registry.count_connection(self._kernel_id, opened=False)
            self._kernel_id = ""

    # --- the relay's view of this websocket (client.BridgeSocket) ----------------

    @property
    def protocol(self) -> str:
        return self.selected_subprotocol or LEGACY_PROTOCOL

    def write_frame(self, frame: Encoded, binary: bool) -> None:
        try:
            if isinstance(frame, tuple):
                written = scatter.write_pieces(self, frame)
            else:
                written = self.write_message(frame, binary=binary)
        except WebSocketClosedError:
            self.log.debug("comm-bridge: dropped a message for closed client %s", self.session_id)
            return
        if not written.done():
            size = sum(map(len, frame)) if isinstance(frame, tuple) else len(frame)
            self.unflushed_bytes += size
            written.add_done_callback(lambda _: self._flushed(size))

    def _flushed(self, size: int) -> None:
        self.unflushed_bytes -= size

    def close_bridge(self, code: int, reason: str) -> None:
        """The relay ends this connection (its client ended, or was replaced)."""
        self.relay = None  # the relay has let go of us already
        self._gone()
        self.close(code, reason[:120])
