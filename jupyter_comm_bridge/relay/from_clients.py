"""A relay's handling of its clients' frames: one exception boundary per frame.

Every frame is decoded and checked (``wire``, ``gate``); comm messages go to the kernel
through the link, ``bridge`` requests are answered here. Whatever goes wrong is logged
with the comm_id, answered to the client that sent the frame (``bridge_error``), and the
connection carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tornado.ioloop import IOLoop

from ..bridge.client import BridgeSocket, Client
from ..kernel.managers import UpstreamError
from ..wire import protocol
from ..wire.decode import decode_frame
from ..wire.message import Frame, MalformedMessage, WireMessage, build_message, comm_id_of
from ..wire.protocol import BRIDGE_CHANNEL, COMM_TYPES, ErrorContent, TargetReplyContent
from . import gate
from .comms import ClientId
from .gate import Refused
from .state import RelayState

#: Closes a comm for one client with a reason: (session_id, comm_id, reason).
SendClose = Callable[[ClientId, str, str], None]


class FrameSettings(Protocol):
    max_message_size: int
    rate_limit: float


class ClientFrames:
    """Frames from the clients of one kernel."""

    def __init__(
        self,
        state: RelayState,
        settings: FrameSettings,
        allowed_types: Callable[[], list[str]],
        send_close: SendClose,
    ) -> None:
        self.state = state
        self.table, self.clients, self.link = state.table, state.clients, state.link
        self.settings = settings
        self.allowed_types = allowed_types
        self.send_close = send_close
        self.session, self.unpack, self.log = state.session, state.unpack, state.log

    def handle(self, socket: BridgeSocket, frame: Frame) -> None:
        """Handle one frame from a client: the exception boundary for it."""
        client = self.clients.get(socket.session_id)
        if client is None or client.socket is not socket:
            return  # a replaced socket's last words
        msg: WireMessage | None = None
        parent: dict[str, Any] | None = None
        try:
            msg = decode_frame(frame, socket.protocol, self.session.pack, self.unpack)
            if len(frame) > self.settings.max_message_size:
                client.counted(len(frame))
                parent = msg.header
                raise Refused(
                    "MessageTooBig",
                    f"a frame of {len(frame)} bytes is over the "
                    f"{self.settings.max_message_size} byte limit",
                )
            if msg.channel == BRIDGE_CHANNEL and msg.msg_type == protocol.ACK:
                client.acknowledged(msg.content(self.unpack).get("received"))
                return
            client.counted(len(frame))
            parent = msg.header
            self._dispatch(client, msg)
            return
        except MalformedMessage as e:
            client.counted(len(frame))
            ename, evalue, parent = "MalformedMessage", str(e), e.header
        except Refused as e:
            ename, evalue = e.ename, str(e)
        except Exception as e:
            self.log.exception(
                "comm-bridge: error handling %s (comm_id=%s) from %s",
                msg.msg_type if msg else "a frame",
                comm_id_of(msg, self.unpack),
                socket.session_id,
            )
            ename, evalue = "BridgeError", f"internal error: {e!r}"
        try:
            self._error(client, ename, evalue, parent, msg)
        except Exception:
            self.log.exception("comm-bridge: could not answer %s with %s", socket.session_id, ename)

    def _dispatch(self, client: Client, msg: WireMessage) -> None:
        refused = client.rate_refusal(IOLoop.current().time())
        if refused == 0:
            return  # refused; reported once a second
        if refused is not None:
            raise Refused(
                "RateLimited",
                f"over {self.settings.rate_limit:g} messages a second: "
                f"{refused} message(s) refused",
            )
        if msg.channel == BRIDGE_CHANNEL:
            self._bridge_request(client, msg)
        else:
            self._forward(client, msg)

    def _forward(self, client: Client, msg: WireMessage) -> None:
        gate.check_forwardable(msg, self.allowed_types())
        comm_id = None
        if msg.msg_type in COMM_TYPES:
            if msg.msg_type == "comm_close" and self.table.closed_by_kernel(
                msg.comm_id(self.unpack) or ""
            ):
                return  # it crossed the kernel's own comm_close: the comm is closed, as asked
            comm_id = gate.check_comm(self.table, client.session_id, msg, self.unpack)
        self.state.requests.add(msg.msg_id, client.session_id)
        if client.watches_status:
            self.state.status_watched.add(msg.msg_id, client.session_id)
        try:
            self.link.send_comm(client.session_id, msg, self._target_of(msg, comm_id), comm_id)
        except UpstreamError as e:
            raise Refused("KernelUnavailable", str(e)) from None
        if msg.msg_type == "comm_close" and comm_id is not None:
            for other in self.table.client_closes(client.session_id, comm_id):
                self.send_close(other, comm_id, "closed by another client of the comm")

    def _target_of(self, msg: WireMessage, comm_id: str | None) -> str | None:
        """The comm target a message concerns, which picks its subshell.

        A comm_info_request for a target goes where that target's comm_open went, so
        that it is answered after the open (pycomm checks its opens this way).
        """
        if comm_id is not None:
            record = self.table.comms.get(comm_id)
            return record.target_name if record else None
        return msg.target_name(self.unpack)

    def _bridge_request(self, client: Client, msg: WireMessage) -> None:
        kind = msg.msg_type.removesuffix("_request")
        if kind not in protocol.BRIDGE_REQUESTS:
            raise Refused("MessageRefused", f"unknown bridge message {msg.msg_type!r}")
        if kind == "watch_status":
            client.watches_status = True
            self._reply(client, msg, kind, {"status": "ok"})
            return
        target_name = gate.require_target_name(msg, self.unpack)
        claimed: list[WireMessage] = []
        if kind == "register_target":
            claimed = self.table.register(client.session_id, target_name)
        else:
            self.table.unregister(client.session_id, target_name)
        reply: TargetReplyContent = {"status": "ok", "target_name": target_name}
        self._reply(client, msg, kind, dict(reply))
        for kept in claimed:  # what the kernel sent on the comms the client claims
            self.state.deliver(client.session_id, kept)

    def _reply(
        self, client: Client, request: WireMessage, kind: str, content: dict[str, Any]
    ) -> None:
        reply = build_message(
            self.session, BRIDGE_CHANNEL, f"{kind}_reply", content, request.header
        )
        self.state.deliver(client.session_id, reply)

    def _error(
        self,
        client: Client,
        ename: str,
        evalue: str,
        parent: dict[str, Any] | None,
        msg: WireMessage | None = None,
    ) -> None:
        content: ErrorContent = {"status": "error", "ename": ename, "evalue": evalue}
        if msg is not None:
            content["msg_type"] = msg.msg_type
            comm_id = comm_id_of(msg, self.unpack)
            if comm_id is not None:
                content["comm_id"] = comm_id
        self.log.info("comm-bridge: %s from %s: %s", ename, client.session_id, evalue)
        error = build_message(self.session, BRIDGE_CHANNEL, protocol.ERROR, dict(content), parent)
        self.state.deliver(client.session_id, error)
