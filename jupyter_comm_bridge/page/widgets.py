"""Whose widget manager serves one page connection: the bridge's, or the page's own.

Decided per connection, not per server. The bridge serves a connection's widgets (keeps
``jupyter.widget`` comm_opens from it, mounts widget views in its outputs) only when the
server has no widget frontend (or ``widgets = "on"``), the connection is a browser page (its
handshake has an ``Origin``: jupyter_server too takes a websocket without one for a script),
and the page has not shown a widget manager of its own. A manager shows itself by what every
ipywidgets manager sends when it connects: a ``comm_info_request`` for ``jupyter.widget``, or a
``comm_open`` on ``jupyter.widget.control`` (or ``jupyter.widget``). From then on the
connection sees the stock protocol (Voila's page, VS Code, JupyterLab with jupyterlab_widgets,
any custom frontend), and its manager fetches the widgets the kernel has, as on any server.
"""

from __future__ import annotations

from typing import Any

from jupyter_client.session import Session

from ..widgets.captures import Captures
from ..widgets.mode import CONTROL_TARGET, WIDGET_TARGET
from ..wire.decode import decode_frame
from ..wire.message import Frame, MalformedMessage
from ..wire.protocol import LEGACY_PROTOCOL

#: What a page's own widget manager sends on connecting, and the targets it names.
MANAGER_REQUESTS = frozenset({"comm_info_request", "comm_open"})
MANAGER_TARGETS = frozenset({WIDGET_TARGET, CONTROL_TARGET})


class PageWidgets:
    """One page connection's widgets: who serves them, and what its Output widgets capture."""

    def __init__(self, bridge_serves: bool) -> None:
        #: Whether the bridge's widget manager serves this page (see the module's docstring).
        self.bridge_serves = bridge_serves
        self.captures = Captures()

    @property
    def own_manager(self) -> bool:
        return not self.bridge_serves

    def shows_own_manager(self, frame: Frame, subprotocol: str | None, session: Session) -> bool:
        """A message from the page: True (once) when it shows a widget manager of its own."""
        if not self.bridge_serves or not _may_name_widgets(frame):
            return False
        try:
            msg = decode_frame(frame, subprotocol or LEGACY_PROTOCOL, session.pack, session.unpack)
        except MalformedMessage:
            return False
        if msg.msg_type not in MANAGER_REQUESTS:
            return False
        if msg.content(session.unpack).get("target_name") not in MANAGER_TARGETS:
            return False
        self.bridge_serves = False
        self.captures = Captures()  # its own Output widgets capture from now on
        return True


def is_browser_page(request: Any) -> bool:
    """Whether a websocket handshake came from a browser page (which sends ``Origin``)."""
    return bool(request.headers.get("Origin"))


def _may_name_widgets(frame: Frame) -> bool:
    return ("jupyter.widget" if isinstance(frame, str) else b"jupyter.widget") in frame  # type: ignore[operator]
