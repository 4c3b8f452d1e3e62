"""A relay's link to the current process of its kernel: the upstream and its subshells.

The link connects on first use, is replaced when the kernel restarts (new
process: new subscription, new subshells) and closed when the relay's last
client is gone. Everything the relay sends to the kernel goes through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from jupyter_client.session import Session
from tornado.ioloop import IOLoop

from ..internals.iopub import IopubTap
from ..wire.message import WireMessage, build_message
from ..wire.protocol import COMM_TYPES
from .gateway_upstream import GatewayUpstream, is_gateway_kernel
from .managers import KernelManager, LocalKernelManager, OnKernelMessage, Upstream, UpstreamError
from .ordering import FENCE_TARGET, Ordering
from .subshells import SubshellMode, Subshells, supports_subshells
from .zmq_upstream import ZMQUpstream

OnLost = Callable[[str], None]
#: ("reconnecting" | "connected", reason): the kernel's connection behind the server.
OnStatus = Callable[[str, str], None]


class LinkSettings(Protocol):
    connect_timeout: float
    comm_subshells: SubshellMode


class KernelLink:
    """Connects, reconnects and sends, for one relay."""

    def __init__(
        self,
        kernel_manager: KernelManager,
        session: Session,
        on_message: OnKernelMessage,
        settings: LinkSettings,
        log: logging.Logger,
        on_lost: OnLost,
        on_status: OnStatus,
        tap: IopubTap | None = None,
    ) -> None:
        self.kernel_manager = kernel_manager
        #: The kernel's iopub as the server's activity stream has it, for a local kernel.
        self.tap = tap
        self.session = session
        self.on_message = on_message
        self.settings = settings
        self.log = log
        self.upstream: Upstream | None = None
        self.subshells: Subshells | None = None
        #: Each client's messages in its order across subshells (one per kernel process too).
        self.ordering: Ordering | None = None
        #: When iopub went live (loop time), None while not connected.
        self.live_since: float | None = None
        #: Makes the upstream; tests swap in a fake.
        self.make_upstream: Callable[[], Upstream] = self._make_upstream
        self.on_lost = on_lost
        self.on_status = on_status
        self._connecting: asyncio.Future[None] | None = None
        #: msg_ids the kernel must finish before a retiring link closes.
        self._awaited: set[str] = set()
        #: Set while retiring (the deadline); a client that connects meanwhile cancels it.
        self._retire_handle: object | None = None
        #: Client messages that arrived while (re)connecting, sent once connected.
        self._waiting: list[tuple[str, WireMessage, str | None, str | None]] = []

    @property
    def kernel_id(self) -> str:
        return str(self.kernel_manager.kernel_id)

    async def connect(self) -> None:
        """Connect, if not yet; wait until iopub is live."""
        self._cancel_retirement()
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        await asyncio.shield(self._connecting)

    async def _connect(self) -> None:
        upstream = self.make_upstream()
        self.upstream = upstream
        try:
            await upstream.connect(self.settings.connect_timeout)
        except Exception:
            upstream.close()
            if self.upstream is upstream:
                self.upstream = None
                self._connecting = None
                self._drop_waiting()
            raise
        self.live_since = IOLoop.current().time()
        self.subshells = self._subshells_for(upstream)
        self.ordering = Ordering(self._send_fence, self.log)
        waiting, self._waiting = self._waiting, []
        for session_id, msg, target_name, comm_id in waiting:
            self._send_now(session_id, msg, target_name, comm_id)

    def _make_upstream(self) -> Upstream:
        """A websocket to the kernel gateway for its kernels, ZMQ sockets for local ones."""
        if is_gateway_kernel(self.kernel_manager):
            return GatewayUpstream(
                self.kernel_id, self.session, self._receive, self.log, self.on_lost, self.on_status
            )
        assert isinstance(self.kernel_manager, LocalKernelManager)
        return ZMQUpstream(self.kernel_manager, self.session, self._receive, self.log, self.tap)

    def _receive(self, msg: WireMessage) -> None:
        if msg.channel == "iopub":
            if self._awaited and msg.msg_type == "status":
                self._check_done(msg)
            elif msg.msg_type in COMM_TYPES and self.subshells and self.subshells.mode != "off":
                self._note_publish(msg)
        self.on_message(msg)

    def _note_publish(self, msg: WireMessage) -> None:
        """Where the kernel will handle this comm's next messages (see Subshells.published)."""
        assert self.subshells is not None
        comm_id = msg.comm_id(self.session.unpack)
        if comm_id is None:
            return
        if msg.msg_type == "comm_close":
            self.subshells.forget_comm(comm_id)
        else:
            subshell_id = msg.parent_header(self.session.unpack).get("subshell_id")
            self.subshells.published(comm_id, subshell_id)

    def retire(self, awaited: set[str]) -> None:
        """Disconnect, deleting our subshells, once the kernel went idle after ``awaited``.

        The last comm_close messages may be queued on a subshell (ipykernel routes a
        comm's messages to the subshell it last published from): deleting it at once
        would lose them. Bounded by connect_timeout.
        """
        self._cancel_retirement()
        self._awaited = {msg_id for msg_id in awaited if msg_id}
        if not self._awaited or self.upstream is None:
            self.disconnect(delete_subshells=True)
            return
        self._retire_handle = IOLoop.current().call_later(
            self.settings.connect_timeout, self._retired
        )

    def _check_done(self, msg: WireMessage) -> None:
        """Retiring: is this the idle status of the last awaited request?"""
        unpack = self.session.unpack
        if msg.content(unpack).get("execution_state") == "idle":
            self._awaited.discard(msg.parent_header(unpack).get("msg_id"))
            if not self._awaited:
                # (not from within the stream's callback); a client may come before it runs
                IOLoop.current().add_callback(self._retired)

    def _retired(self) -> None:
        if self._retire_handle is not None:
            self.disconnect(delete_subshells=True)

    def _cancel_retirement(self) -> None:
        self._awaited = set()
        if self._retire_handle is not None:
            IOLoop.current().remove_timeout(self._retire_handle)
            self._retire_handle = None

    def _subshells_for(self, upstream: Upstream) -> Subshells:
        """Subshells for this kernel process, if it has them and they are wanted."""
        mode = self.settings.comm_subshells
        if mode != "off" and not supports_subshells(upstream.kernel_info):
            self.log.info(
                "comm-bridge: kernel %s has no subshells; comms use its main shell", self.kernel_id
            )
            mode = "off"

        def send_shell(parts: list[Any]) -> None:
            upstream.send_raw("shell", parts)

        def send_control(msg_type: str, content: dict[str, Any]) -> str:
            return upstream.send_new("control", msg_type, content)

        return Subshells(
            mode,
            send_shell,
            send_control,
            self.session.pack,
            self.log,
            self.settings.connect_timeout,
        )

    def disconnect(self, delete_subshells: bool = False) -> None:
        """Close the connection (deleting our subshells when the kernel lives on)."""
        self._cancel_retirement()
        if self.subshells is not None and delete_subshells:
            try:
                self.subshells.delete_all()
            except UpstreamError:
                pass
        self.subshells = None
        self.ordering = None
        self._drop_waiting()
        if self.upstream is not None:
            self.upstream.close()
        self.upstream = None
        self._connecting = None
        self.live_since = None

    def _drop_waiting(self) -> None:
        if self._waiting:
            self.log.warning(
                "comm-bridge: kernel %s: %d message(s) not sent: disconnected",
                self.kernel_id,
                len(self._waiting),
            )
            self._waiting = []

    def reconnect(self) -> None:
        """The kernel has a new process: a new subscription (nudged again) and new subshells."""
        if self.upstream is not None:
            self.disconnect()
            self._connecting = asyncio.ensure_future(self._connect())

    def send_comm(
        self, session_id: str, msg: WireMessage, target_name: str | None, comm_id: str | None
    ) -> None:
        """Forward a client's shell message, to the subshell of its comm if there is one,
        after the client's earlier messages (see ordering.py)."""
        if self._connecting is not None and not self._connecting.done():
            self._waiting.append((session_id, msg, target_name, comm_id))  # keeps the order
            return
        self._send_now(session_id, msg, target_name, comm_id)

    def _send_now(
        self, session_id: str, msg: WireMessage, target_name: str | None, comm_id: str | None
    ) -> None:
        upstream, subshells, ordering = self.upstream, self.subshells, self.ordering
        if upstream is None or subshells is None or ordering is None:
            raise UpstreamError("the connection to the kernel is closed")
        key = subshells.key_for(target_name, comm_id)
        handled_on = subshells.handled_on(key, comm_id)
        if msg.msg_type == "comm_close" and comm_id is not None:
            subshells.forget_comm(comm_id)

        def send() -> None:
            upstream.note_sent(msg.msg_id)
            subshells.send(key, msg)

        ordering.send(session_id, send, handled_on, also=(key,))

    def _send_fence(self, shell: str | None) -> str:
        """A request of our own to ``shell`` whose reply shows that shell has caught up."""
        assert self.upstream is not None and self.subshells is not None
        content = {"target_name": FENCE_TARGET}
        fence = build_message(self.session, "shell", "comm_info_request", content)
        self.upstream.note_sent(fence.msg_id)
        self.subshells.send(shell, fence)
        return fence.msg_id

    def fence_replied(self, msg: WireMessage) -> bool:
        """True if ``msg`` answers one of our fences (and is not for any client)."""
        parent_id = msg.parent_header(self.session.unpack).get("msg_id", "")
        return self.ordering is not None and self.ordering.fence_replied(parent_id)

    def forget(self, session_id: str) -> None:
        """A client ended."""
        if self.ordering is not None:
            self.ordering.forget(session_id)

    def send_new(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        """Send a message of the relay's own; returns its msg_id."""
        if self.upstream is None:
            raise UpstreamError("the connection to the kernel is closed")
        return self.upstream.send_new(channel, msg_type, content)

    def on_control(self, msg: WireMessage) -> None:
        """A control reply: subshell bookkeeping."""
        if self.subshells is not None:
            parent_id = msg.parent_header(self.session.unpack).get("msg_id", "")
            self.subshells.on_control_reply(
                msg.msg_type, parent_id, msg.content(self.session.unpack)
            )

    def resent_on_new_subshell(self, msg: WireMessage) -> bool:
        """True if ``msg`` says a subshell is unknown and the request was sent again."""
        unpack = self.session.unpack
        return (
            msg.msg_type == "comm_reply"
            and msg.content(unpack).get("ename") == "UnknownSubshellError"
            and self.subshells is not None
            and self.subshells.on_unknown_subshell(msg.parent_header(unpack).get("msg_id", ""))
        )

    def sent(self, msg_id: object) -> bool:
        """Whether ``msg_id`` is a recent request sent through this link."""
        return self.upstream is not None and self.upstream.sent(msg_id)
