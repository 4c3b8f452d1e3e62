"""The bridge websocket: ``{base_url}comm-bridge/kernels/{kernel_id}/channels``.

A thin handler: authentication and authorization exactly as the kernels API
does them, then every frame goes to the kernel's relay.
"""

from __future__ import annotations

import uuid
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .registry import RelayRegistry
from .relay import KernelRelay
from .wire import LEGACY_PROTOCOL, V1_PROTOCOL, Frame

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
URL_PATTERN = rf"comm-bridge/kernels/(?P<kernel_id>{UUID_PATTERN})/channels"


class BridgeWebsocketHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    """One bridge client: a websocket that carries only comm traffic."""

    auth_resource = "kernels"
    relay: KernelRelay | None = None

    def initialize(self, registry: RelayRegistry) -> None:
        self.registry = registry
        self.client_id = ""
        self.resume: int | None = None

    def set_default_headers(self) -> None:
        """Websockets take none of JupyterHandler's default headers."""

    def get_compression_options(self) -> dict[str, Any] | None:
        return self.settings.get("websocket_compression_options", None)

    # Liveness and size limits come from the extension's traits, not the server-wide settings.
    @property
    def ping_interval(self) -> float:  # type: ignore[override]
        """Milliseconds, for WebSocketMixin's ping loop (see send_ping)."""
        return self.registry.settings.ping_interval * 1000

    @property
    def ping_timeout(self) -> None:  # type: ignore[override]
        """Unused: send_ping checks the pongs itself."""
        return None

    def send_ping(self) -> None:
        """Ping; a client silent past ``ping_timeout`` is given up at once.

        Its session is detached (to wait for a reconnect) without waiting the
        seconds a close handshake with a dead peer takes.
        """
        now = IOLoop.current().time()
        silent = now - self.last_pong
        if self.ws_connection is None or self.ws_connection.client_terminated:
            return
        if self.relay is not None and silent > self.registry.settings.ping_timeout:
            self.log.warning("comm-bridge: no pong from %s for %.1fs", self.client_id, silent)
            relay, self.relay = self.relay, None
            relay.detach(self)
            self.close(1001, "no pong")
            return
        self.ping(b"")
        self.last_ping = now

    @property
    def max_message_size(self) -> int:  # type: ignore[override]
        # Frames up to twice the limit are read and refused with an error, keeping the
        # connection; bigger ones make tornado close it (1009, "message too big").
        return 2 * self.registry.settings.max_message_size

    @ws_authenticated
    async def get(self, kernel_id: str) -> None:  # type: ignore[override]
        user = self.current_user
        authorized = await ensure_async(
            self.authorizer.is_authorized(self, user, "execute", "kernels")
        )
        if not authorized:
            raise web.HTTPError(403)
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")
        # Each connection is its own client: never the id of the page's own connection.
        self.client_id = self.get_argument("session_id", "") or uuid.uuid4().hex
        resume = self.get_argument("resume", "")
        if resume and not resume.isdigit():
            raise web.HTTPError(400, "resume must be a count of messages")
        self.resume = int(resume) if resume else None
        # Accept the websocket only once the kernel's iopub is live, so that an open
        # socket means a working one (and a kernel that is gone is an HTTP error).
        try:
            await self.registry.relay(kernel_id).connect()
        except Exception as e:
            raise web.HTTPError(503, f"Kernel {kernel_id} is not reachable: {e}") from e
        await super().get(kernel_id=kernel_id)

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return V1_PROTOCOL if V1_PROTOCOL in subprotocols else None

    async def open(self, kernel_id: str) -> None:  # type: ignore[override]
        super().open()
        # Small frames must not wait for delayed ACKs (Nagle): see README, Latency.
        self.set_nodelay(True)
        try:
            self.relay = self.registry.relay(kernel_id)
            await self.relay.attach(self, self.resume)
        except Exception as e:
            self.log.warning("comm-bridge: cannot relay kernel %s: %s", kernel_id, e)
            self.relay = None
            self.close(1011, f"cannot reach kernel {kernel_id}: {e}"[:120])

    def on_message(self, message: Frame) -> None:
        if self.relay is not None:
            self.relay.from_client(self, message)

    def on_close(self) -> None:
        if self.relay is not None:
            self.relay.detach(self)
            self.relay = None

    # --- the relay's view of this client (relay.BridgeClient) ----------------

    @property
    def protocol(self) -> str:
        return self.selected_subprotocol or LEGACY_PROTOCOL

    def write_frame(self, frame: Frame, binary: bool) -> None:
        try:
            self.write_message(frame, binary=binary)
        except WebSocketClosedError:
            self.log.debug("comm-bridge: dropped a message for closed client %s", self.client_id)

    def close_bridge(self, code: int, reason: str) -> None:
        self.relay = None
        self.close(code, reason[:120])
