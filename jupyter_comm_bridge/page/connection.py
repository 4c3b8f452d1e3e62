"""The wrapper of the page's own kernel connection (``api/kernels/{id}/channels``).

JupyterLab 4 and Notebook 7 answer a kernel-opened comm of a target they don't
know with ``comm_close``, which kills comms meant for bridge clients. The
wrapper, a subclass of whatever ``kernel_websocket_connection_class`` the
server is configured with, keeps bridge traffic away from the page and the
page's automatic closes away from the kernel. Everything else passes through
untouched; a message is only looked at past its header when the header says it
is a comm or display message.
"""

from __future__ import annotations

import functools
from typing import Any

import zmq
from jupyter_client.session import Session

from .. import EXTENSION_NAME
from ..internals.iopub import iopub_by_reference
from ..internals.kernels import uncounted
from ..wire.decode import decode_frame
from ..wire.kernel_frames import DELIMITER, split_zmq, zmq_parts
from ..wire.message import Frame, MalformedMessage, WireMessage
from ..wire.protocol import LEGACY_PROTOCOL
from .verdict import DROP, BridgeApp, header_hints, verdict
from .widgets import PageWidgets, is_browser_page


class PageConnectionMixin:
    """Mixed in before the server's kernel websocket connection class."""

    websocket_handler: Any
    multi_kernel_manager: Any
    kernel_id: str
    subprotocol: str | None
    session: Session
    log: Any

    @property
    def _bridge(self) -> BridgeApp | None:
        bridge: BridgeApp | None = self.websocket_handler.settings.get(EXTENSION_NAME)
        return bridge

    @property
    def _widgets(self) -> PageWidgets:
        """Whose manager serves this connection's widgets; what its Output widgets capture."""
        widgets: PageWidgets | None = getattr(self, "_comm_bridge_widgets", None)
        if widgets is None:
            bridge = self._bridge
            serves = bridge is not None and bridge.widgets_enabled
            serves = serves and is_browser_page(self.websocket_handler.request)
            widgets = self._comm_bridge_widgets = PageWidgets(serves)
        return widgets

    def connect(self) -> Any:
        bridge = self._bridge
        if bridge is not None and bridge.page_nodelay:
            # The page's connection pays the same Nagle/delayed-ACK cost as the bridge would.
            self.websocket_handler.set_nodelay(True)
        connected = super().connect()  # type: ignore[misc]
        if bridge is not None:
            iopub_by_reference(self, connected)
        return connected

    def disconnect(self) -> Any:
        """jupyter_server starts keeping the page's messages for its return when the kernel's
        connection count drops to 0; bridge websockets, counted there too, must not stop it."""
        bridge = self._bridge
        bridged = bridge.registry.connections.get(self.kernel_id, 0) if bridge else 0
        with uncounted(self.multi_kernel_manager, self.kernel_id, bridged):
            return super().disconnect()  # type: ignore[misc]

    def handle_outgoing_message(self, *args: Any) -> None:
        """``(stream, msg_list)`` from a local kernel (gateways: see gateway.py)."""
        if len(args) > 1 and args[1] and isinstance(args[1][0], zmq.Frame):
            args = (args[0], zmq_parts(args[1]), *args[2:])  # iopub_by_reference
        bridge = self._bridge
        if bridge is not None:
            try:
                args = self._to_page(bridge, args)
            except Exception:
                self.log.exception("comm-bridge: error inspecting a message to the page")
            if not args:
                return
        super().handle_outgoing_message(*args)  # type: ignore[misc]

    def _to_page(self, bridge: BridgeApp, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """The arguments to pass on, or () when the page must not get the message."""
        stream, msg_list = args[0], args[1]
        channel = stream if isinstance(stream, str) else getattr(stream, "channel", "")
        out = to_page(bridge, self.kernel_id, channel, msg_list, self.session, self._widgets)
        return () if out is None else (stream, out, *args[2:])

    def handle_incoming_message(self, incoming_msg: Frame) -> None:
        bridge = self._bridge
        if bridge is not None:
            try:
                if self._from_page(bridge, incoming_msg):
                    return
            except Exception:
                self.log.exception("comm-bridge: error inspecting a message from the page")
        super().handle_incoming_message(incoming_msg)  # type: ignore[misc]

    def _from_page(self, bridge: BridgeApp, frame: Frame) -> bool:
        """A message from the page: True when the bridge keeps it from the kernel."""
        widgets = self._widgets
        if widgets.shows_own_manager(frame, self.subprotocol, self.session):
            self.log.info(
                "comm-bridge: a page of kernel %s has a widget manager of its own: it gets"
                " the widgets' comms",
                self.kernel_id,
            )
        if not _may_be_comm_close(frame):
            return False
        forward = functools.partial(super().handle_incoming_message, frame)  # type: ignore[misc]
        return held_from_kernel(
            bridge, self.kernel_id, frame, self.subprotocol, forward, widgets.own_manager
        )


def to_page(
    bridge: BridgeApp,
    kernel_id: str,
    channel: str,
    msg_list: list[bytes],
    session: Session,
    widgets: PageWidgets,
) -> list[bytes] | None:
    """The message the page gets instead of ``msg_list``, or None for none."""
    if channel != "iopub":
        return msg_list
    idx, parts = split_zmq(msg_list)
    raw_header = parts[0]
    relay = bridge.registry.get(kernel_id)
    hints = header_hints(relay is not None, widgets.bridge_serves, bool(widgets.captures))
    if not any(hint in raw_header for hint in hints):
        return msg_list
    header = session.unpack(raw_header)
    if not isinstance(header, dict):
        return msg_list
    msg = WireMessage(channel, parts, header)
    change = verdict(bridge, relay, kernel_id, msg, session, widgets)
    if change is None:
        return msg_list
    if change is DROP:
        return None
    return _with_content(msg_list[:idx], parts, session.pack(change), session)


def _with_content(
    identities: list[bytes], parts: list[bytes], content: bytes, session: Session
) -> list[bytes]:
    """The same ZMQ message with new content, signed again (the page's session checks it)."""
    parts = [*parts[:3], content, *parts[4:]]
    return [*identities, DELIMITER, session.sign(parts[:4]), *parts]


def _may_be_comm_close(frame: Frame) -> bool:
    return ("comm_close" if isinstance(frame, str) else b"comm_close") in frame  # type: ignore[operator]


def held_from_kernel(
    bridge: BridgeApp,
    kernel_id: str,
    frame: Frame,
    subprotocol: str | None,
    forward: Any,
    own_manager: bool = False,
) -> bool:
    """A ``comm_close`` from the page: True when the bridge keeps it from the kernel
    (``own_manager``: the page has a widget manager of its own)."""
    relay = bridge.registry.get(kernel_id)
    if relay is None:
        return False
    try:
        protocol = subprotocol or LEGACY_PROTOCOL
        msg = decode_frame(frame, protocol, relay.session.pack, relay.unpack)
    except MalformedMessage:
        return False
    if msg.msg_type != "comm_close":
        return False
    comm_id = msg.comm_id(relay.unpack)
    return comm_id is not None and relay.page.page_closes(comm_id, forward, own_manager)
