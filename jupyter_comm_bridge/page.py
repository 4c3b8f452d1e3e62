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
from typing import Any, Protocol

import zmq
from jupyter_client.session import Session

from . import EXTENSION_NAME, internals, wire
from .classic import runs_classic
from .injection import DISPLAY_TYPES, VIEW_MIMETYPE, Injector, with_html_source
from .protocol import COMM_TYPES, LEGACY_PROTOCOL
from .registry import RelayRegistry
from .relay import KernelRelay
from .widgets import OUTPUT_TYPES, WIDGET_TARGET, Captures
from .wire import MalformedMessage, Unpack, WireMessage

#: Cheap tests on the raw header bytes, before any parsing: on a kernel with no relay only
#: outputs (and, with widgets, widget comm_opens) concern the bridge; comms and status need a
#: relay; other outputs an Output widget's capture.
DISPLAY_HINTS = (b'display_data"', b'"execute_result"')
WIDGET_HINTS = (b'"comm_open"',)
RELAY_HINTS = (b'"comm_', b'"status"')
CAPTURE_HINTS = (b'"stream"', b'"error"', b'"clear_output"')


def header_hints(relay: bool, widgets: bool, capturing: bool) -> tuple[bytes, ...]:
    """What a header must contain for the bridge to look further at its message."""
    hints = DISPLAY_HINTS + (RELAY_HINTS if relay else WIDGET_HINTS if widgets else ())
    return hints + CAPTURE_HINTS if capturing else hints


#: A verdict of :func:`_verdict`: the page must not get the message.
DROP = object()


class BridgeApp(Protocol):
    """The extension, as the page's connection finds it in the server's settings."""

    registry: RelayRegistry
    injector: Injector
    page_nodelay: bool
    widgets_enabled: bool
    late_sockets: internals.LateSockets


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
    def _captures(self) -> Captures:
        """What this connection's Output widgets capture (widgets.Captures)."""
        captures: Captures | None = getattr(self, "_comm_bridge_captures", None)
        if captures is None:
            captures = self._comm_bridge_captures = Captures()
        return captures

    def connect(self) -> Any:
        bridge = self._bridge
        if bridge is not None and bridge.page_nodelay:
            # The page's connection pays the same Nagle/delayed-ACK cost as the bridge would.
            self.websocket_handler.set_nodelay(True)
        connected = super().connect()  # type: ignore[misc]
        if bridge is not None:
            internals.iopub_by_reference(self, connected)
        return connected

    def disconnect(self) -> Any:
        """jupyter_server starts keeping the page's messages for its return when the kernel's
        connection count drops to 0; bridge websockets, counted there too, must not stop it."""
        bridge = self._bridge
        bridged = bridge.registry.connections.get(self.kernel_id, 0) if bridge else 0
        with internals.uncounted(self.multi_kernel_manager, self.kernel_id, bridged):
            return super().disconnect()  # type: ignore[misc]

    def handle_outgoing_message(self, *args: Any) -> None:
        """``(stream, msg_list)`` from a local kernel (gateways: see gateway_page.py)."""
        if len(args) > 1 and args[1] and isinstance(args[1][0], zmq.Frame):
            args = (args[0], wire.zmq_parts(args[1]), *args[2:])  # internals.iopub_by_reference
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
        out = to_page(bridge, self.kernel_id, channel, msg_list, self.session, self._captures)
        return () if out is None else (stream, out, *args[2:])

    def handle_incoming_message(self, incoming_msg: wire.Frame) -> None:
        bridge = self._bridge
        if bridge is not None and _may_be_comm_close(incoming_msg):
            forward = functools.partial(super().handle_incoming_message, incoming_msg)  # type: ignore[misc]
            try:
                if held_from_kernel(
                    bridge, self.kernel_id, incoming_msg, self.subprotocol, forward
                ):
                    return
            except Exception:
                self.log.exception("comm-bridge: error inspecting a message from the page")
        super().handle_incoming_message(incoming_msg)  # type: ignore[misc]


def to_page(
    bridge: BridgeApp,
    kernel_id: str,
    channel: str,
    msg_list: list[bytes],
    session: Session,
    captures: Captures,
) -> list[bytes] | None:
    """The message the page gets instead of ``msg_list``, or None for none."""
    if channel != "iopub":
        return msg_list
    idx, parts = wire.split_zmq(msg_list)
    raw_header = parts[0]
    relay = bridge.registry.get(kernel_id)
    hints = header_hints(relay is not None, bridge.widgets_enabled, bool(captures))
    if not any(hint in raw_header for hint in hints):
        return msg_list
    header = session.unpack(raw_header)
    if not isinstance(header, dict):
        return msg_list
    msg = WireMessage(channel, parts, header)
    change = verdict(bridge, relay, kernel_id, msg, session, captures)
    if change is None:
        return msg_list
    if change is DROP:
        return None
    return _with_content(msg_list[:idx], parts, session.pack(change), session)


def verdict(
    bridge: BridgeApp,
    relay: KernelRelay | None,
    kernel_id: str,
    msg: WireMessage,
    session: Session,
    captures: Captures,
) -> Any:
    """What becomes of a message to the page (``relay``: the kernel's, if it has one;
    ``captures``: what the connection's Output widgets capture).

    None: it passes on; DROP: the page must not get it; a dict: its new content.
    """
    msg_type, unpack = msg.msg_type, session.unpack
    if relay is None and bridge.widgets_enabled and msg_type == "comm_open":
        if msg.target_name(unpack) == WIDGET_TARGET:
            relay = bridge.registry.relay(kernel_id)  # the bridge keeps widgets' comms
    if relay is not None and msg_type in COMM_TYPES:
        if bridge.widgets_enabled:
            captures.note(msg, unpack)
        return DROP if relay.page.to_page(msg) else None
    if relay is not None and msg_type == "status":
        # busy/idle around the bridge's own requests would make the page's indicator flicker
        return DROP if relay.page.sent_by_bridge(msg.parent_header(unpack).get("msg_id")) else None
    if relay is not None and captures and msg_type in OUTPUT_TYPES:
        if msg.parent_header(unpack).get("msg_id", "") in captures.by_parent:
            relay.page.captured(msg)
            return DROP
    if msg_type in DISPLAY_TYPES:
        return _display(bridge, relay, kernel_id, msg, unpack)
    return None


def _display(
    bridge: BridgeApp, relay: KernelRelay | None, kernel_id: str, msg: WireMessage, unpack: Unpack
) -> dict[str, Any] | None:
    """The new content of a display message, or None."""
    if _may_inject(bridge, msg.parts[3]):
        original = msg.content(unpack)
        content = bridge.injector.inject(kernel_id, original, bridge.widgets_enabled)
        if content is not None:
            relay = bridge.registry.relay(kernel_id)  # the bridge is in use: keep comms claimable
            if runs_classic(original):
                relay.page.classic_runs.note(msg.parent_header(unpack).get("msg_id", ""))
            return content
    if relay is not None and relay.page.classic_runs:
        if msg.parent_header(unpack).get("msg_id") in relay.page.classic_runs:
            return with_html_source(msg.content(unpack))
    return None


def _may_inject(bridge: BridgeApp, raw_content: bytes) -> bool:
    return (
        b"pycomm" in raw_content
        or _may_be_classic(raw_content)
        or (bridge.widgets_enabled and VIEW_MIMETYPE.encode() in raw_content)
    )


def _may_be_classic(raw_content: bytes) -> bool:
    """Cheaply: could the output use the classic Notebook's names (classic.py)? Not every
    output that says IPython (``<IPython.core.display.HTML object>``)."""
    return (b"Jupyter" in raw_content or b"IPython" in raw_content) and (
        b"notebook" in raw_content or b"keyboard_manager" in raw_content
    )


def _with_content(
    identities: list[bytes], parts: list[bytes], content: bytes, session: Session
) -> list[bytes]:
    """The same ZMQ message with new content, signed again (the page's session checks it)."""
    parts = [*parts[:3], content, *parts[4:]]
    return [*identities, wire.DELIMITER, session.sign(parts[:4]), *parts]


def _may_be_comm_close(frame: wire.Frame) -> bool:
    return ("comm_close" if isinstance(frame, str) else b"comm_close") in frame  # type: ignore[operator]


def held_from_kernel(
    bridge: BridgeApp,
    kernel_id: str,
    frame: wire.Frame,
    subprotocol: str | None,
    forward: Any,
) -> bool:
    """A ``comm_close`` from the page: True when the bridge keeps it from the kernel."""
    relay = bridge.registry.get(kernel_id)
    if relay is None:
        return False
    try:
        protocol = subprotocol or LEGACY_PROTOCOL
        msg = wire.decode_frame(frame, protocol, relay.session.pack, relay.unpack)
    except MalformedMessage:
        return False
    if msg.msg_type != "comm_close":
        return False
    comm_id = msg.comm_id(relay.unpack)
    return comm_id is not None and relay.page.page_closes(comm_id, forward)
