"""What becomes of a kernel message on its way to the page, whichever connection carries it
(the ZMQ one: :mod:`.connection`; a kernel gateway's: :mod:`.gateway`): passed on, kept from
the page (a bridge comm, a captured output, the status of the bridge's own request), or given
the bootstrap (:mod:`.injection`)."""

from __future__ import annotations

from typing import Any, Protocol

from jupyter_client.session import Session

from ..internals.gateway import LateSockets
from ..relay.registry import RelayRegistry
from ..relay.relay import KernelRelay
from ..widgets.captures import OUTPUT_TYPES
from ..widgets.mode import WIDGET_TARGET
from ..widgets.views import VIEW_MIMETYPE
from ..wire.message import Unpack, WireMessage
from ..wire.protocol import COMM_TYPES
from .classic import runs_classic
from .injection import DISPLAY_TYPES, Injector, with_html_source
from .widgets import PageWidgets

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


#: A verdict of :func:`verdict`: the page must not get the message.
DROP = object()


class BridgeApp(Protocol):
    """The extension, as the page's connection finds it in the server's settings."""

    registry: RelayRegistry
    injector: Injector
    page_nodelay: bool
    widgets_enabled: bool
    late_sockets: LateSockets


def verdict(
    bridge: BridgeApp,
    relay: KernelRelay | None,
    kernel_id: str,
    msg: WireMessage,
    session: Session,
    page: PageWidgets,
) -> Any:
    """What becomes of a message to the page (``relay``: the kernel's, if it has one;
    ``page``: whose manager serves the connection's widgets, what its Output widgets capture).

    None: it passes on; DROP: the page must not get it; a dict: its new content.
    """
    msg_type, unpack = msg.msg_type, session.unpack
    if relay is None and bridge.widgets_enabled and msg_type == "comm_open":
        if msg.target_name(unpack) == WIDGET_TARGET:
            relay = bridge.registry.relay(kernel_id)  # the bridge keeps widgets' comms
    captures = page.captures
    if relay is not None and msg_type in COMM_TYPES:
        if page.bridge_serves:
            captures.note(msg, unpack)
        return DROP if relay.page.hides(msg, page.own_manager) else None
    if relay is not None and msg_type == "status":
        # busy/idle around the bridge's own requests would make the page's indicator flicker
        return DROP if relay.page.sent_by_bridge(msg.parent_header(unpack).get("msg_id")) else None
    if relay is not None and captures and msg_type in OUTPUT_TYPES:
        if msg.parent_header(unpack).get("msg_id", "") in captures.by_parent:
            relay.page.captured(msg)
            return DROP
    if msg_type in DISPLAY_TYPES:
        return _display(bridge, relay, kernel_id, msg, unpack, page.bridge_serves)
    return None


def _display(
    bridge: BridgeApp,
    relay: KernelRelay | None,
    kernel_id: str,
    msg: WireMessage,
    unpack: Unpack,
    widgets: bool,
) -> dict[str, Any] | None:
    """The new content of a display message (``widgets``: the bridge serves the page's
    widgets), or None."""
    if _may_inject(msg.parts[3], widgets):
        original = msg.content(unpack)
        content = bridge.injector.inject(kernel_id, original, widgets)
        if content is not None:
            relay = bridge.registry.relay(kernel_id)  # the bridge is in use: keep comms claimable
            if runs_classic(original):
                relay.page.classic_runs.note(msg.parent_header(unpack).get("msg_id", ""))
            return content
    if relay is not None and relay.page.classic_runs:
        if msg.parent_header(unpack).get("msg_id") in relay.page.classic_runs:
            return with_html_source(msg.content(unpack))
    return None


def _may_inject(raw_content: bytes, widgets: bool) -> bool:
    return (
        b"pycomm" in raw_content
        or _may_be_classic(raw_content)
        or (widgets and VIEW_MIMETYPE.encode() in raw_content)
    )


def _may_be_classic(raw_content: bytes) -> bool:
    """Cheaply: could the output use the classic Notebook's names (classic.py)? Not every
    output that says IPython (``<IPython.core.display.HTML object>``)."""
    return (b"Jupyter" in raw_content or b"IPython" in raw_content) and (
        b"notebook" in raw_content or b"keyboard_manager" in raw_content
    )
