"""One kernel's relay: its client sessions, its comm table, its connection to the kernel.

Client frames come in through :meth:`KernelRelay.from_client`, kernel messages
through the upstream and (for the moments before the relay's own iopub is live)
through the page's connection. Each incoming message is handled inside one
exception boundary: whatever goes wrong is logged with its comm_id, answered to
the client that sent it, and the connection carries on.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from jupyter_client.session import Session
from tornado.ioloop import IOLoop

from . import gate, wire
from .comms import ClientId, CommTable, PendingComm
from .gate import COMM_TYPES, Refused
from .link import KernelLink, LinkSettings
from .session import ACK, BRIDGE_CHANNEL, BridgeSocket, ClientSession, SessionSettings
from .sessions import (
    CLOSE_KERNEL_GONE,
    CLOSE_TOO_SLOW,
    SessionTable,
)
from .upstream import UpstreamError
from .wire import MalformedMessage, WireMessage

#: Recent kernel msg_ids kept to drop the second copy when both the page's
#: connection and the relay's own iopub deliver a message.
SEEN_LIMIT = 4096
#: How long after the relay's iopub is live the page's copies are still merged in.
PAGE_FEED_GRACE = 2.0
#: Requests remembered for routing their replies.
REQUESTS_LIMIT = 4096


class RelaySettings(SessionSettings, LinkSettings, Protocol):
    claim_window: float
    pending_limit: int
    max_message_size: int


class KernelRelay:
    """Relays comm traffic between one kernel and its bridge clients."""

    def __init__(
        self,
        kernel_id: str,
        kernel_manager: Any,
        settings: RelaySettings,
        allowed_types: Callable[[], list[str]],
        log: logging.Logger,
        on_dead: Callable[..., None],
    ) -> None:
        self.kernel_id = kernel_id
        self.kernel_manager = kernel_manager
        self.settings = settings
        self.allowed_types = allowed_types
        self.log = log
        session = getattr(kernel_manager, "session", None)
        self.session = Session(key=session.key if session is not None else b"")
        self.unpack = self.session.unpack
        self.table = CommTable(settings.pending_limit)
        self.clients = SessionTable(self.session, settings, log, self._session_ended)
        self.link = KernelLink(
            kernel_manager, self.session, self._from_kernel, settings, log, on_dead, self._status
        )
        self._requests: OrderedDict[str, ClientId] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._expiry_handle: object | None = None
        self._on_dead = on_dead
        # local kernels have a restarter; a gateway's kernels report through events only
        if hasattr(kernel_manager, "add_restart_callback"):
            kernel_manager.add_restart_callback(self.kernel_restarted, "restart")
            kernel_manager.add_restart_callback(on_dead, "dead")

    # --- the connection to the kernel -----------------------------------------

    async def connect(self) -> None:
        """Connect to the kernel, if no client has yet; wait until iopub is live."""
        await self.link.connect()

    def kernel_restarted(self) -> None:
        """The kernel process was replaced: its comms are gone, its targets stay registered."""
        self.log.info("comm-bridge: kernel %s restarted; closing its comms", self.kernel_id)
        for comm_id, record in list(self.table.comms.items()):
            for client_id in record.clients:
                self._send_close(client_id, comm_id, "the kernel restarted")
        self.table.comms.clear()
        for pending in self.table.expire(float("inf")):
            pending.held.clear()
        self.link.reconnect()

    def _status(self, state: str, reason: str) -> None:
        """Tell every client how the server's own connection to the kernel is doing."""
        content = {"kernel_connection": state, "reason": reason}
        for session in self.clients:
            self._deliver(session.client_id, self._build(BRIDGE_CHANNEL, "bridge_status", content))

    def close(self, reason: str, code: int = CLOSE_KERNEL_GONE) -> None:
        """The kernel (or the server) is going: close every client with ``reason``."""
        self.clients.close_all(code, reason)
        self.link.disconnect()
        for pending in self.table.expire(float("inf")):
            pending.held.clear()
        if self._expiry_handle is not None:
            IOLoop.current().remove_timeout(self._expiry_handle)
            self._expiry_handle = None
        if hasattr(self.kernel_manager, "remove_restart_callback"):
            self.kernel_manager.remove_restart_callback(self.kernel_restarted, "restart")
            self.kernel_manager.remove_restart_callback(self._on_dead, "dead")

    # --- client sessions ------------------------------------------------------

    async def attach(self, socket: BridgeSocket, resume: int | None) -> None:
        """A client connects (once the kernel is reachable): a new session, or its old one."""
        await self.connect()
        self.clients.attach(socket, resume)

    def detach(self, socket: BridgeSocket) -> None:
        """A client's websocket closed: its session waits ``reconnect_window`` seconds."""
        self.clients.detach(socket)

    def _session_ended(self, session: ClientSession, reason: str) -> None:
        """Close in the kernel the comms nobody else uses; retire the link after the last."""
        closes = {
            self._close_in_kernel(comm_id, f"session {session.client_id} ended: {reason}")
            for comm_id in self.table.drop_client(session.client_id)
        }
        self.link.forget(session.client_id)
        self.log.info("comm-bridge: session %s ended: %s", session.client_id, reason)
        if not self.clients:
            self.link.retire(closes)

    @property
    def sessions(self) -> dict[ClientId, ClientSession]:
        return self.clients.sessions

    # --- from a client ----------------------------------------------------

    def from_client(self, socket: BridgeSocket, frame: wire.Frame) -> None:
        """Handle one frame from a client: the exception boundary for it."""
        session = self.clients.get(socket.client_id)
        if session is None or session.socket is not socket:
            return  # a replaced socket's last words
        msg: WireMessage | None = None
        parent: dict[str, Any] | None = None
        try:
            msg = wire.from_client(frame, socket.protocol, self.session.pack, self.unpack)
            if len(frame) > self.settings.max_message_size:
                session.counted()
                parent = msg.header
                raise Refused(
                    "MessageTooBig",
                    f"a frame of {len(frame)} bytes is over the "
                    f"{self.settings.max_message_size} byte limit",
                )
            if msg.channel == BRIDGE_CHANNEL and msg.msg_type == ACK:
                session.acknowledged(msg.content(self.unpack).get("received"))
                return
            session.counted()
            parent = msg.header
            self._dispatch(session, msg)
            return
        except MalformedMessage as e:
            session.counted()
            ename, evalue, parent = "MalformedMessage", str(e), e.header
        except Refused as e:
            ename, evalue = e.ename, str(e)
        except Exception as e:
            self.log.exception(
                "comm-bridge: error handling %s (comm_id=%s) from %s",
                msg.msg_type if msg else "a frame",
                _comm_id_of(msg),
                socket.client_id,
            )
            ename, evalue = "BridgeError", f"internal error: {e!r}"
        try:
            self._error(session, ename, evalue, parent, msg)
        except Exception:
            self.log.exception("comm-bridge: could not answer %s with %s", socket.client_id, ename)

    def _dispatch(self, session: ClientSession, msg: WireMessage) -> None:
        now = IOLoop.current().time()
        if session.over_rate(now):
            session.refused_since_report += 1
            if now - session.last_report < 1.0:
                return  # refused; reported once a second
            count, session.refused_since_report, session.last_report = (
                session.refused_since_report,
                0,
                now,
            )
            raise Refused(
                "RateLimited",
                f"over {self.settings.rate_limit:g} messages a second: {count} message(s) refused",
            )
        if msg.channel == BRIDGE_CHANNEL:
            self._bridge_request(session, msg)
        else:
            self._forward(session, msg)

    def _forward(self, session: ClientSession, msg: WireMessage) -> None:
        gate.check_forwardable(msg, self.allowed_types())
        comm_id = None
        if msg.msg_type in COMM_TYPES:
            comm_id = gate.check_comm(self.table, session.client_id, msg, self.unpack)
        self._remember_request(msg.msg_id, session.client_id)
        try:
            self.link.send_comm(session.client_id, msg, self._target_of(msg, comm_id), comm_id)
        except UpstreamError as e:
            raise Refused("KernelUnavailable", str(e)) from None
        if msg.msg_type == "comm_close" and comm_id is not None:
            for other in self.table.close_from_client(session.client_id, comm_id):
                self._send_close(other, comm_id, "closed by another client of the comm")

    def _target_of(self, msg: WireMessage, comm_id: str | None) -> str | None:
        """The comm target a message concerns, which picks its subshell.

        A comm_info_request for a target goes where that target's comm_open went, so
        that it is answered after the open (pycomm checks its opens this way).
        """
        if comm_id is not None:
            record = self.table.comms.get(comm_id)
            return record.target_name if record else None
        target_name = msg.content(self.unpack).get("target_name")
        return target_name if isinstance(target_name, str) and target_name else None

    def _bridge_request(self, session: ClientSession, msg: WireMessage) -> None:
        kind = msg.msg_type.removesuffix("_request")
        if kind not in ("register_target", "unregister_target"):
            raise Refused("MessageRefused", f"unknown bridge message {msg.msg_type!r}")
        target_name = gate.target_of(msg, self.unpack)
        claimed: list[PendingComm] = []
        if kind == "register_target":
            claimed = self.table.register(session.client_id, target_name)
        else:
            self.table.unregister(session.client_id, target_name)
        reply = {"status": "ok", "target_name": target_name}
        self._deliver(
            session.client_id, self._build(BRIDGE_CHANNEL, f"{kind}_reply", reply, msg.header)
        )
        for pending in claimed:
            pending.held.clear()  # the page's automatic comm_close must not reach the kernel
            for kept in pending.messages:
                self._deliver(session.client_id, kept)

    # --- from the kernel ---------------------------------------------------

    def _from_kernel(self, msg: WireMessage) -> None:
        """Handle one message from the kernel: the exception boundary for it."""
        channel = msg.channel
        try:
            if msg.msg_type in COMM_TYPES and channel in ("iopub", "shell"):
                self._route_comm(msg)
            elif channel == "shell":
                self._route_reply(msg)
            elif channel == "control":
                self.link.on_control(msg)
        except Exception:
            self.log.exception(
                "comm-bridge: error routing %s from kernel %s (comm_id=%s)",
                msg.msg_type,
                self.kernel_id,
                _comm_id_of(msg),
            )

    def _route_comm(self, msg: WireMessage) -> None:
        if self._seen_before(msg.msg_id):
            return
        content = msg.content(self.unpack)
        comm_id = content.get("comm_id")
        if not isinstance(comm_id, str):
            return
        target_name = content.get("target_name") if msg.msg_type == "comm_open" else None
        now = IOLoop.current().time()
        window = self.settings.claim_window
        for client_id in self.table.from_kernel(msg, comm_id, target_name, now, window):
            self._deliver(client_id, msg)
        if self.table.pending:
            self._release(self.table.over_limit())
            self._schedule_expiry()

    def _route_reply(self, msg: WireMessage) -> None:
        if self.link.resent_on_new_subshell(msg) or self.link.fence_replied(msg):
            return
        client_id = self._requests.pop(msg.parent_header(self.unpack).get("msg_id"), "")
        if client_id not in self.clients:
            return
        if msg.msg_type == "comm_info_reply":
            reply = self.table.comm_info_for(client_id, msg.content(self.unpack))
            msg = wire.with_content(msg, reply, self.session.pack)
        self._deliver(client_id, msg)

    # --- the page's connection ---------------------------------------------

    def from_page(self, msg: WireMessage) -> bool:
        """A comm message on its way to the page; True if the page must not get it.

        Until the relay's own iopub is live (and a moment after), the page's copy
        is also merged in, so comms opened before the relay existed are not lost.
        """
        content = msg.content(self.unpack)
        comm_id = content.get("comm_id")
        if not isinstance(comm_id, str):
            return False
        target_name = content.get("target_name") if msg.msg_type == "comm_open" else None
        hide = self.table.hides_from_page(msg, comm_id, target_name)
        live = self.link.live_since
        if live is None or IOLoop.current().time() - live < PAGE_FEED_GRACE:
            self._route_comm(msg)
        return hide

    def sent_by_bridge(self, msg_id: object) -> bool:
        """Whether ``msg_id`` is a request the relay sent (its own or a client's)."""
        return self.link.sent(msg_id)

    def page_comm_close(self, comm_id: str, forward: Callable[[], None]) -> bool:
        """The page closes ``comm_id``; True if the bridge keeps it from the kernel."""
        if comm_id in self.table.comms:
            self.log.debug("comm-bridge: dropping page comm_close of bridge comm %s", comm_id)
            return True
        return self.table.hold_page_close(comm_id, forward)

    # --- helpers -----------------------------------------------------------

    def _seen_before(self, msg_id: str) -> bool:
        if msg_id in self._seen:
            return True
        self._seen[msg_id] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return False

    def _remember_request(self, msg_id: str, client_id: ClientId) -> None:
        self._requests[msg_id] = client_id
        if len(self._requests) > REQUESTS_LIMIT:
            self._requests.popitem(last=False)

    def _schedule_expiry(self) -> None:
        deadline = self.table.next_deadline()
        if deadline is None or self._expiry_handle is not None:
            return

        def expire() -> None:
            self._expiry_handle = None
            self._release(self.table.expire(IOLoop.current().time()))
            self._schedule_expiry()

        self._expiry_handle = IOLoop.current().call_at(deadline, expire)

    def _release(self, pendings: list[PendingComm]) -> None:
        """Nobody claimed these comms: let the page's held comm_close go on."""
        for pending in pendings:
            for forward in pending.held:
                forward()

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

    def _send_close(self, client_id: ClientId, comm_id: str, reason: str) -> None:
        content = {"comm_id": comm_id, "data": {}}
        self._deliver(
            client_id, self._build("iopub", "comm_close", content, metadata={"reason": reason})
        )

    def _error(
        self,
        session: ClientSession,
        ename: str,
        evalue: str,
        parent: dict[str, Any] | None,
        msg: WireMessage | None = None,
    ) -> None:
        content: dict[str, Any] = {"status": "error", "ename": ename, "evalue": evalue}
        if msg is not None:
            content["msg_type"] = msg.msg_type
            if _comm_id_of(msg) is not None:
                content["comm_id"] = _comm_id_of(msg)
        self.log.info("comm-bridge: %s from %s: %s", ename, session.client_id, evalue)
        self._deliver(
            session.client_id, self._build(BRIDGE_CHANNEL, "bridge_error", content, parent)
        )

    def _build(
        self,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        parent: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WireMessage:
        return wire.build_message(self.session, channel, msg_type, content, parent, metadata)

    def _deliver(self, client_id: ClientId, msg: WireMessage) -> None:
        session = self.clients.get(client_id)
        if session is not None and (reason := session.deliver(msg)) is not None:
            self.clients.end(session, reason, CLOSE_TOO_SLOW)


def _comm_id_of(msg: WireMessage | None) -> str | None:
    """The comm_id of a message whose content was already parsed, for logs and errors."""
    if msg is None or msg._content is None:
        return None
    comm_id = msg._content.get("comm_id")
    return comm_id if isinstance(comm_id, str) else None
