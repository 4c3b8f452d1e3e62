"""A relay's routing of what its kernel sends: one exception boundary per message.

Comm messages go to the clients the comm table names (or are kept for a pending comm);
the outputs an Output widget captures go to that widget's clients; shell replies go to
the client whose request they answer (``comm_info_reply`` filtered to what that client
may see); control replies are the link's subshell bookkeeping. Kernel messages can arrive
twice, through the relay's own iopub and through the page's connection (see
:mod:`.page_feed`): the second copy is dropped. Whichever copy comes first, each feed is in
the kernel's order, so what the clients get is too; an Output widget's capture is
therefore decided here, in that order, and not by the page's feed.
"""

from __future__ import annotations

from typing import Protocol

from tornado.ioloop import IOLoop

from ..widgets.captures import OUTPUT_TYPES, Captures
from ..wire.bounded import RecentKeys
from ..wire.message import WireMessage, comm_id_of, with_content
from ..wire.protocol import COMM_TYPES
from .comms import PendingComm
from .state import RelayState

#: Recent kernel msg_ids kept to drop the second copy of a message.
SEEN_LIMIT = 4096


class RoutingSettings(Protocol):
    claim_window: float
    widgets_enabled: bool


class KernelRouting:
    """Messages from one kernel, to its clients."""

    def __init__(self, state: RelayState, settings: RoutingSettings) -> None:
        self.state = state
        self.table, self.clients, self.link = state.table, state.clients, state.link
        self.settings = settings
        self.session, self.unpack, self.log = state.session, state.unpack, state.log
        self._seen: RecentKeys[str] = RecentKeys(SEEN_LIMIT)
        self._expiry: object | None = None
        #: What the kernel's Output widgets capture, in the order the clients get messages.
        self.captures = Captures()
        #: Seconds a kernel-opened comm of a target nobody registered stays claimable (longer
        #: for a dashboard's kernel, whose page loads once every cell has run).
        self.claim_window = settings.claim_window

    def handle(self, msg: WireMessage) -> None:
        """Handle one message from the kernel: the exception boundary for it."""
        try:
            if msg.msg_type in COMM_TYPES and msg.channel in ("iopub", "shell"):
                self.route_comm(msg)
            elif msg.channel == "shell":
                self._route_reply(msg)
            elif msg.channel == "control":
                self.link.on_control(msg)
            elif msg.msg_type == "status" and self.state.status_watched:
                self._route_status(msg)
            elif self.captures and msg.msg_type in OUTPUT_TYPES and msg.channel == "iopub":
                self.route_output(msg)
        except Exception:
            self.log.exception(
                "comm-bridge: error routing %s from kernel %s (comm_id=%s)",
                msg.msg_type,
                self.link.kernel_id,
                comm_id_of(msg, self.unpack),
            )

    def route_comm(self, msg: WireMessage) -> None:
        """A comm message of the kernel's (from either feed; the second copy is dropped)."""
        if self._seen.note(msg.msg_id):
            return
        comm_id = msg.comm_id(self.unpack)
        if comm_id is None:
            return
        if self.settings.widgets_enabled:
            self.captures.note(msg, self.unpack)
        target_name = msg.target_name(self.unpack) if msg.msg_type == "comm_open" else None
        now = IOLoop.current().time()
        window = self.claim_window
        for session_id in self.table.route_kernel_message(msg, comm_id, target_name, now, window):
            self.state.deliver(session_id, msg)
        if self.table.pending:
            self._release(self.table.over_limit())
            self._schedule_expiry()

    def _route_reply(self, msg: WireMessage) -> None:
        if self.link.resent_on_new_subshell(msg) or self.link.fence_replied(msg):
            return
        session_id = self.state.requests.pop(msg.parent_header(self.unpack).get("msg_id", ""))
        if session_id is None or session_id not in self.clients:
            return
        if msg.msg_type == "comm_info_reply":
            reply = self.table.comm_info_for(session_id, msg.content(self.unpack))
            msg = with_content(msg, reply, self.session.pack)
        self.state.deliver(session_id, msg)

    def _route_status(self, msg: WireMessage) -> None:
        """The iopub status of a message whose client watches its status."""
        parent_id = msg.parent_header(self.unpack).get("msg_id", "")
        session_id = self.state.status_watched.get(parent_id)
        if session_id is None:
            return
        if msg.content(self.unpack).get("execution_state") == "idle":
            self.state.status_watched.pop(parent_id)
        self.state.deliver(session_id, msg)

    def route_output(self, msg: WireMessage) -> None:
        """An output of the kernel's (from either feed): to the clients of the Output widget
        that captures it now, once; kept for later when that widget has none."""
        comm_id = self.captures.by_parent.get(msg.parent_header(self.unpack).get("msg_id", ""))
        if comm_id is None:
            return  # not captured, or this feed is ahead of the update that captures it
        record = self.table.comms.get(comm_id)
        if record is None or self._seen.note(msg.msg_id):
            return
        if self.table.keep_captured(comm_id, msg):
            return
        for session_id in record.clients:
            self.state.deliver(session_id, msg)

    # --- pending comms -------------------------------------------------------------

    def _schedule_expiry(self) -> None:
        deadline = self.table.next_deadline()
        if deadline is None or self._expiry is not None:
            return

        def expire() -> None:
            self._expiry = None
            self._release(self.table.expire(IOLoop.current().time()))
            self._schedule_expiry()

        self._expiry = IOLoop.current().call_at(deadline, expire)

    @staticmethod
    def _release(pendings: list[PendingComm]) -> None:
        """Nobody claimed these comms: let the page's held comm_close go on."""
        for pending in pendings:
            for forward in pending.held:
                forward()

    def forget_pending(self) -> None:
        """The kernel process is gone: its pending comms (and the page's held closes) too,
        and its Output widgets."""
        for pending in self.table.expire(float("inf")):
            pending.held.clear()
        self.captures = Captures()

    def close(self) -> None:
        self.forget_pending()
        if self._expiry is not None:
            IOLoop.current().remove_timeout(self._expiry)
            self._expiry = None
