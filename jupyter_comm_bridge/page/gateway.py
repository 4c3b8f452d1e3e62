"""The page's connection when kernels live behind a kernel gateway.

jupyter_server's ``GatewayWebSocketConnection`` relays the gateway's websocket
frames to the page as they are: legacy JSON text, which the wrapper inspects
like a local kernel's messages. It also decodes every frame as UTF-8, so one
message with binary buffers ends its read loop and the page loses the kernel
(ipywidgets#3798). The mixin keeps binary frames binary: they are inspected
the same way and written to the page as binary frames.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.gateway.connections import GatewayWebSocketConnection
from tornado.websocket import WebSocketClosedError

from ..internals.gateway import GatewayConnectionHooks, take_opening_socket
from ..wire.decode import decode_frame
from ..wire.message import Frame, MalformedMessage
from ..wire.protocol import LEGACY_PROTOCOL
from .verdict import DROP, BridgeApp, header_hints, verdict
from .widgets import PageWidgets


def frame_to_page(
    bridge: BridgeApp, kernel_id: str, frame: Frame, session: Session, widgets: PageWidgets
) -> Frame | None:
    """The frame the page gets instead of ``frame`` (legacy protocol), or None for none."""
    relay = bridge.registry.get(kernel_id)
    hints = header_hints(relay is not None, widgets.bridge_serves, bool(widgets.captures))
    if isinstance(frame, str):
        found = any(hint.decode() in frame for hint in hints)
    else:
        found = any(hint in frame for hint in hints)
    if not found:
        return frame
    try:
        msg = decode_frame(frame, LEGACY_PROTOCOL, session.pack, session.unpack)
    except MalformedMessage:
        return frame
    if msg.channel != "iopub":
        return frame
    change = verdict(bridge, relay, kernel_id, msg, session, widgets)
    if change is DROP:
        return None
    if change is None or not isinstance(frame, str):
        return frame  # outputs with buffers are not injected into
    as_dict = json.loads(frame)
    as_dict["content"] = change
    return json.dumps(as_dict, default=json_default, ensure_ascii=False)


class GatewayPageMixin(GatewayConnectionHooks):
    """Mixed in before :class:`PageConnectionMixin` for gateway connections."""

    websocket_handler: Any
    kernel_id: str
    session_id: str | None
    session: Session
    log: Any
    disconnected: bool
    _bridge: BridgeApp | None
    _widgets: PageWidgets

    async def connect(self) -> None:
        """After any socket an earlier connection of this page left open is closed."""
        bridge = self._bridge
        if bridge is not None:
            await bridge.late_sockets.wait((self.kernel_id, self.session_id or ""))
            if self.disconnected:
                return  # the page left meanwhile: connecting would leave one more
        await super().connect()  # type: ignore[misc]

    def disconnect(self) -> None:
        """Hands a gateway websocket still opening to ``late_sockets``, which closes it.

        The base would cancel its future instead; tornado then finishes the handshake
        anyway and drops the socket where nobody can close it."""
        bridge = self._bridge
        if bridge is not None and (opening := take_opening_socket(self)) is not None:
            bridge.late_sockets.add((self.kernel_id, self.session_id or ""), opening)
        super().disconnect()  # type: ignore[misc]

    def on_binary_frame(self, frame: bytes) -> None:
        """A binary frame from the gateway (with buffers): inspected, and kept binary."""
        self._binary_to_page(frame)

    def handle_outgoing_message(self, *args: Any) -> None:
        """One legacy text frame from the gateway."""
        bridge = self._bridge
        if bridge is not None and len(args) == 1:
            try:
                out = frame_to_page(bridge, self.kernel_id, args[0], self.session, self._widgets)
            except Exception:
                self.log.exception("comm-bridge: error inspecting a message to the page")
                out = args[0]
            if out is None:
                return
            args = (out,)
        GatewayWebSocketConnection.handle_outgoing_message(self, *args)  # type: ignore[arg-type]

    def _binary_to_page(self, frame: bytes) -> None:
        bridge = self._bridge
        out: Frame | None = frame
        if bridge is not None:
            try:
                out = frame_to_page(bridge, self.kernel_id, frame, self.session, self._widgets)
            except Exception:
                self.log.exception("comm-bridge: error inspecting a message to the page")
        if out is not None:
            try:
                self.websocket_handler.write_message(out, binary=True)
            except WebSocketClosedError:
                self.log.debug("comm-bridge: the page's websocket closed before a binary frame")
