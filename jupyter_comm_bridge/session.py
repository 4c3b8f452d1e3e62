"""A bridge client across reconnections: ordered delivery, nothing lost, bounded memory.

Both sides count the frames they receive from the other, except the control
frames ``bridge_hello`` and ``bridge_ack``. The server keeps each frame it sent
until the client acknowledges it (``bridge_ack {"received": n}``, also the
server's heartbeat); a client that reconnects with ``?resume=n`` gets the rest
again, in order, and learns from ``bridge_hello`` how many of its own frames
arrived, so it sends only the others again. Between connections a session
waits ``reconnect_window`` seconds and keeps what the kernel sends for it.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Protocol

from jupyter_client.session import Session

from . import wire
from .comms import message_size
from .wire import WireMessage

BRIDGE_CHANNEL = "bridge"
HELLO = "bridge_hello"
ACK = "bridge_ack"
#: Acknowledge a client's frames at least this often (besides every heartbeat).
ACK_EVERY = 64


class SessionSettings(Protocol):
    reconnect_window: float
    max_queued_bytes: int
    heartbeat_interval: float
    rate_limit: float
    rate_burst: int


class BridgeSocket(Protocol):
    """The websocket of a session, as the session sees it (the handler)."""

    client_id: str
    protocol: str
    #: Whether the client asked for the session layer (hello, acks, replay, resume).
    resumable: bool
    #: Bytes written to the websocket that have not reached the socket yet.
    unflushed_bytes: int

    def write_frame(self, frame: wire.Frame, binary: bool) -> None: ...

    def close_bridge(self, code: int, reason: str) -> None: ...


class TokenBucket:
    """At most ``rate`` messages a second on average, ``burst`` at once (0: no limit)."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.stamp = now

    def take(self, now: float) -> bool:
        if self.rate <= 0:
            return True
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class ClientSession:
    """What the bridge knows of one client (``session_id``), connected or not."""

    def __init__(
        self,
        client_id: str,
        session: Session,
        settings: SessionSettings,
        log: logging.Logger,
        now: float,
    ) -> None:
        self.client_id = client_id
        self.session = session
        self.settings = settings
        self.log = log
        self.socket: BridgeSocket | None = None
        #: Set by the first socket: a session that keeps nothing for a reconnect is not.
        self.resumable = False
        #: The protocol of the last socket: how to encode what waits for the next one.
        self.protocol = wire.LEGACY_PROTOCOL
        self.sent = 0  # counted frames sent (or kept for sending) to the client
        self.received = 0  # counted frames received from the client
        self.acked_by_client = 0
        self.acked_to_client = 0
        self.replay: deque[WireMessage] = deque()
        self.replay_bytes = 0
        self.bucket = TokenBucket(settings.rate_limit, settings.rate_burst, now)
        self.refused_since_report = 0
        self.last_report = 0.0
        #: IOLoop timeout that ends the session if no socket comes back in time.
        self.expiry: Any = None

    # --- sockets come and go ------------------------------------------------

    def can_resume(self, resume: int) -> bool:
        """Does the client's count fall within what is kept for it?"""
        return self.acked_by_client <= resume <= self.sent

    def attach(self, socket: BridgeSocket, resume: int | None, reason: str | None = None) -> None:
        """Take a new socket; send hello and, when resuming, what the client missed.

        ``reason`` says why a session the client asked to resume could not be.
        """
        resumed = resume is not None and self.can_resume(resume)
        if resumed:
            self._trim(resume)  # type: ignore[arg-type]
        self.socket = socket
        self.protocol = socket.protocol
        self.resumable = socket.resumable
        if not self.resumable:
            return  # a standard-protocol client: no bridge_hello, nothing replayed
        hello = {
            "session_id": self.client_id,
            "resumed": resumed,
            "received": self.received,
            "reconnect_window": self.settings.reconnect_window,
            "heartbeat": self.settings.heartbeat_interval,
            "max_queued_bytes": self.settings.max_queued_bytes,
        }
        if reason:
            hello["reason"] = reason
        self._write(self._control(HELLO, hello))
        for msg in self.replay:
            self._write(msg)

    def detach(self) -> None:
        self.socket = None

    # --- frames to the client -------------------------------------------------

    def deliver(self, msg: WireMessage) -> str | None:
        """Send (or keep for the next socket) a counted frame.

        Returns why the client must be given up when it is over a limit, else None.
        """
        limit = self.settings.max_queued_bytes
        self.sent += 1
        if self.resumable:
            self.replay.append(msg)
            self.replay_bytes += message_size(msg)
            if self.replay_bytes > limit:
                return f"the client has not acknowledged {self.replay_bytes} bytes (limit {limit})"
        self._write(msg)
        if self.socket is not None and self.socket.unflushed_bytes > limit:
            unread = self.socket.unflushed_bytes
            return f"the client is not reading: {unread} bytes wait to be sent (limit {limit})"
        return None

    def heartbeat(self) -> None:
        """Acknowledge what the client sent; also tells it the server is alive."""
        if not self.resumable:
            return
        self.acked_to_client = self.received
        self._write(self._control(ACK, {"received": self.received}))

    def _control(self, msg_type: str, content: dict[str, Any]) -> WireMessage:
        return wire.build_message(self.session, BRIDGE_CHANNEL, msg_type, content)

    def _write(self, msg: WireMessage) -> None:
        if self.socket is not None:
            frame, binary = wire.to_client(msg, self.protocol, self.session.unpack)
            self.socket.write_frame(frame, binary)

    # --- frames from the client -------------------------------------------------

    def counted(self) -> None:
        """A counted frame arrived from the client; acknowledge now and then."""
        self.received += 1
        if self.resumable and self.received - self.acked_to_client >= ACK_EVERY:
            self.heartbeat()

    def acknowledged(self, received: Any) -> None:
        """The client's ``bridge_ack``: it has the first ``received`` frames."""
        if isinstance(received, int) and self.acked_by_client <= received <= self.sent:
            self._trim(received)

    def _trim(self, received: int) -> None:
        while self.acked_by_client < received:
            self.replay_bytes -= message_size(self.replay.popleft())
            self.acked_by_client += 1

    def over_rate(self, now: float) -> bool:
        return not self.bucket.take(now)
