"""One kernel's relay: every bridge client of the kernel, its comm table, its upstream.

Client frames come in through :meth:`KernelRelay.from_client`, kernel messages
through the upstream and (for the moments before the relay's own iopub is live)
through the page's connection. Each incoming message is handled inside one
exception boundary: whatever goes wrong is logged with its comm_id, answered to
the client that sent it, and the connection carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from jupyter_client.session import Session
from tornado.ioloop import IOLoop

from . import wire
from .comms import ClientId, CommTable, PendingComm
from .upstream import UpstreamError, ZMQUpstream
from .wire import MalformedMessage, WireMessage

#: What a bridge client may send to the kernel (all on the shell channel).
FORWARDED_TYPES = ("comm_open", "comm_msg", "comm_close", "comm_info_request")
COMM_TYPES = frozenset({"comm_open", "comm_msg", "comm_close"})
#: Bridge control channel, answered by the relay itself.
BRIDGE_CHANNEL = "bridge"
#: Recent kernel msg_ids kept to drop the second copy when both the page's
#: connection and the relay's own iopub deliver a message.
SEEN_LIMIT = 4096
#: How long after the relay's iopub is live the page's copies are still merged in.
PAGE_FEED_GRACE = 2.0
#: Websocket close codes; clients do not reconnect after these.
CLOSE_REPLACED = 4000
CLOSE_KERNEL_GONE = 4004
#: Requests remembered for routing their replies.
REQUESTS_LIMIT = 4096


class BridgeClient(Protocol):
    """A connected client, as the relay sees it (the websocket handler)."""

    client_id: ClientId
    protocol: str

    def write_frame(self, frame: wire.Frame, binary: bool) -> None: ...

    def close_bridge(self, code: int, reason: str) -> None: ...


class RelaySettings(Protocol):
    claim_window: float
    pending_limit: int
    connect_timeout: float


class Refused(Exception):
    """A message the bridge will not forward; ``ename`` and the text go to the client."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(evalue)
        self.ename = ename


class KernelRelay:
    """Relays comm traffic between one kernel and its bridge clients."""

    def __init__(
        self,
        kernel_id: str,
        kernel_manager: Any,
        settings: RelaySettings,
        allowed_types: Callable[[], list[str]],
        log: logging.Logger,
    ) -> None:
        self.kernel_id = kernel_id
        self.kernel_manager = kernel_manager
        self.settings = settings
        self.allowed_types = allowed_types
        self.log = log
        self.session = Session(key=kernel_manager.session.key)
        self.unpack = self.session.unpack
        self.table = CommTable(settings.pending_limit)
        self.clients: dict[ClientId, BridgeClient] = {}
        self.upstream: ZMQUpstream | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._live_since: float | None = None
        self._requests: OrderedDict[str, ClientId] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._expiry_handle: object | None = None

    # --- clients come and go ----------------------------------------------

    async def connect(self) -> None:
        """Connect to the kernel, if no client has yet; wait until iopub is live."""
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        await asyncio.shield(self._connecting)

    async def attach(self, client: BridgeClient) -> None:
        """Add a client (connecting to the kernel again if the last client just left)."""
        stale = self.clients.get(client.client_id)
        if stale is not None and stale is not client:
            self.log.warning("comm-bridge: replacing stale connection %s", client.client_id)
            self.detach(stale)
            stale.close_bridge(
                CLOSE_REPLACED, "replaced by a new connection with the same session_id"
            )
        self.clients[client.client_id] = client
        try:
            await self.connect()
        except Exception:
            self.clients.pop(client.client_id, None)
            raise

    async def _connect(self) -> None:
        upstream = ZMQUpstream(self.kernel_manager, self.session, self._from_kernel, self.log)
        self.upstream = upstream
        try:
            await upstream.connect(self.settings.connect_timeout)
        except Exception:
            upstream.close()
            self.upstream = None
            self._connecting = None
            raise
        self._live_since = IOLoop.current().time()

    def detach(self, client: BridgeClient) -> None:
        """Remove a client; close in the kernel the comms nobody is left to use."""
        if self.clients.get(client.client_id) is not client:
            return
        del self.clients[client.client_id]
        for comm_id in self.table.drop_client(client.client_id):
            self._close_in_kernel(comm_id, "the bridge client that used it disconnected")
        if not self.clients:
            self._disconnect_upstream()

    def _disconnect_upstream(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
        self.upstream = None
        self._connecting = None
        self._live_since = None

    def close(self, reason: str) -> None:
        """The kernel is gone: close every client with ``reason``."""
        for client in list(self.clients.values()):
            client.close_bridge(CLOSE_KERNEL_GONE, reason)
        self.clients.clear()
        self._disconnect_upstream()
        for pending in self.table.expire(float("inf")):
            pending.held.clear()
        if self._expiry_handle is not None:
            IOLoop.current().remove_timeout(self._expiry_handle)
            self._expiry_handle = None

    @property
    def idle(self) -> bool:
        return not self.clients and not self.table.pending

    # --- from a client ----------------------------------------------------

    def from_client(self, client: BridgeClient, frame: wire.Frame) -> None:
        """Handle one frame from a client: the exception boundary for it."""
        msg: WireMessage | None = None
        parent: dict[str, Any] | None = None
        try:
            msg = wire.from_client(frame, client.protocol, self.session.pack, self.unpack)
            parent = msg.header
            if msg.channel == BRIDGE_CHANNEL:
                self._bridge_request(client, msg)
            else:
                self._forward(client, msg)
            return
        except MalformedMessage as e:
            ename, evalue, parent = "MalformedMessage", str(e), e.header
        except Refused as e:
            ename, evalue = e.ename, str(e)
        except Exception as e:
            self.log.exception(
                "comm-bridge: error handling %s (comm_id=%s) from %s",
                msg.msg_type if msg else "a frame",
                _comm_id_of(msg),
                client.client_id,
            )
            ename, evalue = "BridgeError", f"internal error: {e!r}"
        try:
            self._error(client, ename, evalue, parent, msg)
        except Exception:
            self.log.exception("comm-bridge: could not answer %s with %s", client.client_id, ename)

    def _forward(self, client: BridgeClient, msg: WireMessage) -> None:
        msg_type = msg.msg_type
        allowed = self.allowed_types()
        if (
            msg.channel != "shell"
            or msg_type not in FORWARDED_TYPES
            or (allowed and msg_type not in allowed)
        ):
            raise Refused(
                "MessageRefused",
                f"comm-bridge does not forward {msg_type!r} on the {msg.channel!r} channel: "
                f"only {', '.join(t for t in FORWARDED_TYPES if not allowed or t in allowed)}"
                " on the shell channel reach the kernel",
            )
        if msg_type in COMM_TYPES:
            self._check_comm(client, msg)
        if self.upstream is None:
            raise Refused("KernelUnavailable", "the connection to the kernel is closed")
        self._remember_request(msg.msg_id, client.client_id)
        try:
            self.upstream.send_raw("shell", msg.parts)
        except UpstreamError as e:
            raise Refused("KernelUnavailable", str(e)) from None
        if msg_type == "comm_close":
            comm_id = msg.comm_id(self.unpack) or ""
            for other in self.table.close_from_client(client.client_id, comm_id):
                self._send_close(other, comm_id, "closed by another client of the comm")

    def _check_comm(self, client: BridgeClient, msg: WireMessage) -> None:
        content = msg.content(self.unpack)
        comm_id = content.get("comm_id")
        if not isinstance(comm_id, str) or not comm_id:
            raise Refused("MalformedMessage", f"{msg.msg_type} needs a content.comm_id string")
        if msg.msg_type == "comm_open":
            target_name = content.get("target_name")
            if not isinstance(target_name, str) or not target_name:
                raise Refused("MalformedMessage", "comm_open needs a content.target_name string")
            if not self.table.open_from_client(client.client_id, comm_id, target_name):
                raise Refused("CommExists", f"comm {comm_id!r} is already open")
        elif not self.table.may_use(client.client_id, comm_id):
            raise Refused("UnknownComm", f"comm {comm_id!r} is not open on this connection")

    def _bridge_request(self, client: BridgeClient, msg: WireMessage) -> None:
        kind = msg.msg_type.removesuffix("_request")
        if kind not in ("register_target", "unregister_target"):
            raise Refused("MessageRefused", f"unknown bridge message {msg.msg_type!r}")
        target_name = msg.content(self.unpack).get("target_name")
        if not isinstance(target_name, str) or not target_name:
            raise Refused("MalformedMessage", f"{msg.msg_type} needs a content.target_name string")
        claimed: list[PendingComm] = []
        if kind == "register_target":
            claimed = self.table.register(client.client_id, target_name)
        else:
            self.table.unregister(client.client_id, target_name)
        reply = {"status": "ok", "target_name": target_name}
        self._send(client, self._build(BRIDGE_CHANNEL, f"{kind}_reply", reply, msg.header))
        for pending in claimed:
            pending.held.clear()  # the page's automatic comm_close must not reach the kernel
            for kept in pending.messages:
                self._send(client, kept)

    # --- from the kernel ---------------------------------------------------

    def _from_kernel(self, channel: str, msg_list: list[bytes]) -> None:
        """Handle one message from the upstream: the exception boundary for it."""
        msg: WireMessage | None = None
        try:
            msg = wire.from_kernel(channel, msg_list, self.unpack)
            if msg.msg_type in COMM_TYPES and channel in ("iopub", "shell"):
                self._route_comm(msg)
            elif channel == "shell":
                self._route_reply(msg)
        except Exception:
            self.log.exception(
                "comm-bridge: error routing %s from kernel %s (comm_id=%s)",
                msg.msg_type if msg else "message",
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
            self._send(self.clients.get(client_id), msg)
        if self.table.pending:
            self._release(self.table.over_limit())
            self._schedule_expiry()

    def _route_reply(self, msg: WireMessage) -> None:
        parent_id = msg.parent_header(self.unpack).get("msg_id")
        client = self.clients.get(self._requests.pop(parent_id, ""))
        if client is None:
            return
        if msg.msg_type == "comm_info_reply":
            msg = self._filter_comm_info(client, msg)
        self._send(client, msg)

    def _filter_comm_info(self, client: BridgeClient, msg: WireMessage) -> WireMessage:
        content = dict(msg.content(self.unpack))
        comms = content.get("comms")
        if not isinstance(comms, dict):
            comms = {}
        content["comms"] = {
            comm_id: info
            for comm_id, info in comms.items()
            if isinstance(info, dict)
            and self.table.visible(client.client_id, comm_id, str(info.get("target_name", "")))
        }
        return wire.with_content(msg, content, self.session.pack)

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
        live = self._live_since
        if live is None or IOLoop.current().time() - live < PAGE_FEED_GRACE:
            self._route_comm(msg)
        return hide

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

    def _close_in_kernel(self, comm_id: str, reason: str) -> None:
        if self.upstream is None:
            return
        content = {"comm_id": comm_id, "data": {}}
        try:
            self.upstream.send_new("shell", "comm_close", content)
        except UpstreamError:
            return
        self.log.info(
            "comm-bridge: closed comm %s in kernel %s: %s", comm_id, self.kernel_id, reason
        )

    def _send_close(self, client_id: ClientId, comm_id: str, reason: str) -> None:
        content = {"comm_id": comm_id, "data": {}}
        closing = self._build("iopub", "comm_close", content, metadata={"reason": reason})
        self._send(self.clients.get(client_id), closing)

    def _error(
        self,
        client: BridgeClient,
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
        self.log.info("comm-bridge: %s from %s: %s", ename, client.client_id, evalue)
        self._send(client, self._build(BRIDGE_CHANNEL, "bridge_error", content, parent))

    def _build(
        self,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        parent: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WireMessage:
        return wire.build_message(self.session, channel, msg_type, content, parent, metadata)

    def _send(self, client: BridgeClient | None, msg: WireMessage) -> None:
        if client is None:
            return
        frame, binary = wire.to_client(msg, client.protocol, self.unpack)
        client.write_frame(frame, binary)


def _comm_id_of(msg: WireMessage | None) -> str | None:
    """The comm_id of a message whose content was already parsed, for logs and errors."""
    if msg is None or msg._content is None:
        return None
    comm_id = msg._content.get("comm_id")
    return comm_id if isinstance(comm_id, str) else None
