"""One kernel's relay: its clients, its comm table, its connection to the kernel.

The relay owns the state of one kernel's bridge traffic and its life cycle (connect,
restart, close); the work is done by three parts it wires together: the clients'
frames (:mod:`.from_clients`), the kernel's messages (:mod:`.to_clients`) and the
page's own connection (:mod:`.page_feed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from jupyter_client.session import Session

from ..bridge.client import BridgeSocket, Client, ClientSettings
from ..bridge.clients import ClientTable
from ..internals.iopub import IopubTap
from ..kernel.link import KernelLink, LinkSettings
from ..kernel.managers import KernelManager, LocalKernelManager, UpstreamError
from ..widgets.mode import WIDGET_TARGET
from ..wire.bounded import Recent
from ..wire.message import Frame, WireMessage, build_message
from ..wire.protocol import BRIDGE_CHANNEL, CLOSE_KERNEL_GONE, CLOSE_TOO_SLOW, STATUS, StatusContent
from .comms import ClientId, CommTable
from .from_clients import ClientFrames, FrameSettings
from .page_feed import PageFeed
from .state import RelayState
from .to_clients import KernelRouting, RoutingSettings

#: Requests remembered for routing their replies.
REQUESTS_LIMIT = 4096


class RelaySettings(ClientSettings, LinkSettings, FrameSettings, RoutingSettings, Protocol):
    pending_limit: int
    #: Whether the bridge serves widgets (widgets/mode.py): the bridge then owns their comms.
    widgets_enabled: bool


class KernelRelay:
    """Relays comm traffic between one kernel and its bridge clients."""

    def __init__(
        self,
        kernel_id: str,
        kernel_manager: KernelManager,
        settings: RelaySettings,
        allowed_types: Callable[[], list[str]],
        log: logging.Logger,
        on_dead: Callable[..., None],
    ) -> None:
        self.kernel_id = kernel_id
        self.kernel_manager = kernel_manager
        self.settings = settings
        self.log = log
        self.session = Session(key=kernel_manager.session.key)
        self.unpack = self.session.unpack
        owned = frozenset({WIDGET_TARGET}) if settings.widgets_enabled else frozenset()
        self.table = CommTable(settings.pending_limit, owned)
        self.clients = ClientTable(self.session, settings, self._client_ended)
        #: Fed by the server's activity stream of the kernel (see registry.py).
        self.tap = IopubTap(log)
        self.link = KernelLink(
            kernel_manager,
            self.session,
            self._from_kernel,
            settings,
            log,
            on_dead,
            self._status,
            self.tap,
        )
        requests: Recent[str, ClientId] = Recent(REQUESTS_LIMIT)
        state = RelayState(self.table, self.clients, self.link, requests, self.deliver, log)
        self.frames = ClientFrames(state, settings, allowed_types, self.send_close)
        self.routing = KernelRouting(state, settings)
        self.page = PageFeed(state, self.routing)
        self._on_dead = on_dead
        # local kernels have a restarter; a gateway's kernels report through events only
        if isinstance(kernel_manager, LocalKernelManager):
            kernel_manager.add_restart_callback(self.kernel_restarted, "restart")
            kernel_manager.add_restart_callback(on_dead, "dead")

    def _from_kernel(self, msg: WireMessage) -> None:
        self.routing.handle(msg)

    # --- the connection to the kernel -----------------------------------------

    async def connect(self) -> None:
        """Connect to the kernel, if no client has yet; wait until iopub is live."""
        await self.link.connect()

    def kernel_restarted(self) -> None:
        """The kernel process was replaced: its comms are gone, its targets stay registered."""
        self.log.info("comm-bridge: kernel %s restarted; closing its comms", self.kernel_id)
        for comm_id, record in list(self.table.comms.items()):
            for session_id in record.clients:
                self.send_close(session_id, comm_id, "the kernel restarted")
        self.table.forget_comms()
        self.routing.forget_pending()
        self.link.reconnect()

    def _status(self, state: str, reason: str) -> None:
        """Tell every client how the server's own connection to the kernel is doing."""
        content: StatusContent = {"kernel_connection": state, "reason": reason}
        for client in self.clients:
            status = build_message(self.session, BRIDGE_CHANNEL, STATUS, dict(content))
            self.deliver(client.session_id, status)

    def close(self, reason: str, code: int = CLOSE_KERNEL_GONE) -> None:
        """The kernel (or the server) is going: close every client with ``reason``."""
        self.clients.close_all(code, reason)
        self.link.disconnect()
        self.routing.close()
        if isinstance(self.kernel_manager, LocalKernelManager):
            self.kernel_manager.remove_restart_callback(self.kernel_restarted, "restart")
            self.kernel_manager.remove_restart_callback(self._on_dead, "dead")

    # --- clients --------------------------------------------------------------

    async def attach(self, socket: BridgeSocket, resume: int | None) -> None:
        """A websocket connects (once the kernel is reachable): a new client, or its old one."""
        await self.connect()
        self.clients.attach(socket, resume)

    def detach(self, socket: BridgeSocket) -> None:
        """A websocket closed: a resumable client waits ``reconnect_window`` seconds."""
        self.clients.detach(socket)

    def handle_frame(self, socket: BridgeSocket, frame: Frame) -> None:
        """A frame from a client's websocket."""
        self.frames.handle(socket, frame)

    def _client_ended(self, client: Client, reason: str) -> None:
        """Close in the kernel the comms nobody else uses; retire the link after the last."""
        closes = {
            self._close_in_kernel(comm_id, f"session {client.session_id} ended: {reason}")
            for comm_id in self.table.forget_client(client.session_id)
        }
        self.link.forget(client.session_id)
        self.log.info("comm-bridge: session %s ended: %s", client.session_id, reason)
        if not self.clients:
            self.link.retire(closes)

    # --- to clients and the kernel -----------------------------------------------

    def deliver(self, session_id: ClientId, msg: WireMessage) -> None:
        """Send a message to a client; give the client up when it is over a limit."""
        client = self.clients.get(session_id)
        if client is not None and (reason := client.deliver(msg)) is not None:
            self.clients.end(client, reason, CLOSE_TOO_SLOW)

    def send_close(self, session_id: ClientId, comm_id: str, reason: str) -> None:
        """Tell a client its comm closed, and why (``metadata.reason``)."""
        content = {"comm_id": comm_id, "data": {}}
        metadata = {"reason": reason}
        close = build_message(self.session, "iopub", "comm_close", content, None, metadata)
        self.deliver(session_id, close)

    def _close_in_kernel(self, comm_id: str, reason: str) -> str:
        """Close a comm in the kernel; returns the comm_close's msg_id ("" if not sent)."""
        try:
            msg_id = self.link.send_new("shell", "comm_close", {"comm_id": comm_id, "data": {}})
        except UpstreamError:
            return ""
        self.log.info(
            "comm-bridge: closed comm %s in kernel %s: %s", comm_id, self.kernel_id, reason
        )
        return msg_id
