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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.gateway.connections import GatewayWebSocketConnection
from tornado.websocket import WebSocketClosedError

from . import wire
from .page import DISPLAY_HINTS, DROP, HEADER_HINTS, verdict
from .wire import MalformedMessage

if TYPE_CHECKING:
    from .app import CommBridgeApp

#: The page's header hints for whole legacy frames, by "the kernel has no relay".
_TEXT_HINTS = {
    True: tuple(hint.decode() for hint in DISPLAY_HINTS),
    False: tuple(hint.decode() for hint in HEADER_HINTS),
}
_BINARY_HINTS = {True: DISPLAY_HINTS, False: HEADER_HINTS}


def is_gateway_connection(base: type) -> bool:
    return issubclass(base, GatewayWebSocketConnection)


def frame_to_page(
    bridge: CommBridgeApp, kernel_id: str, frame: wire.Frame, session: Session
) -> wire.Frame | None:
    """The frame the page gets instead of ``frame`` (legacy protocol), or None for none."""
    relay = bridge.registry.get(kernel_id)
    hints = (_TEXT_HINTS if isinstance(frame, str) else _BINARY_HINTS)[relay is None]
    if not any(hint in frame for hint in hints):  # type: ignore[operator]
        return frame
    try:
        msg = wire.from_client(frame, wire.LEGACY_PROTOCOL, session.pack, session.unpack)
    except MalformedMessage:
        return frame
    change = verdict(bridge, relay, kernel_id, msg, session) if msg.channel == "iopub" else None
    if change is DROP:
        return None
    if change is None or not isinstance(frame, str):
        return frame  # outputs with buffers are not injected into
    as_dict = json.loads(frame)
    as_dict["content"] = change
    return json.dumps(as_dict, default=json_default, ensure_ascii=False)


def keep_binary_frames(ws: Any, on_binary: Callable[[bytes], None]) -> None:
    """Make ``ws.read_message`` hand binary frames to ``on_binary`` and return only text."""
    read = ws.read_message

    async def read_message(callback: Any = None) -> Any:
        while True:
            frame = await read()
            if not isinstance(frame, bytes):
                return frame
            on_binary(frame)

    ws.read_message = read_message


class GatewayPageMixin:
    """Mixed in before :class:`PageConnectionMixin` for gateway connections."""

    websocket_handler: Any
    kernel_id: str
    session: Session
    log: Any
    _bridge: CommBridgeApp | None

    def _connection_done(self, fut: Any) -> None:
        super()._connection_done(fut)  # type: ignore[misc]
        ws = getattr(self, "ws", None)
        if ws is not None:
            keep_binary_frames(ws, self._binary_to_page)

    def handle_outgoing_message(self, *args: Any) -> None:
        """One legacy text frame from the gateway."""
        bridge = self._bridge
        if bridge is not None and len(args) == 1:
            try:
                out = frame_to_page(bridge, self.kernel_id, args[0], self.session)
            except Exception:
                self.log.exception("comm-bridge: error inspecting a message to the page")
                out = args[0]
            if out is None:
                return
            args = (out,)
        GatewayWebSocketConnection.handle_outgoing_message(self, *args)  # type: ignore[arg-type]

    def _binary_to_page(self, frame: bytes) -> None:
        bridge = self._bridge
        out: wire.Frame | None = frame
        if bridge is not None:
            try:
                out = frame_to_page(bridge, self.kernel_id, frame, self.session)
            except Exception:
                self.log.exception("comm-bridge: error inspecting a message to the page")
        if out is not None:
            try:
                self.websocket_handler.write_message(out, binary=True)
            except WebSocketClosedError:
                self.log.debug("comm-bridge: the page's websocket closed before a binary frame")
