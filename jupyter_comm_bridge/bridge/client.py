"""One bridge client (one ``session_id``), across reconnections.

A client that asked for it (``?resumable=1``) is resumable. Both sides then count the
frames they receive from the other, except the control frames ``bridge_hello`` and
``bridge_ack``. The server keeps each frame it sent, *unacknowledged*, until the client
acknowledges it (``bridge_ack {"received": n}``, also the server's heartbeat); a client
that reconnects with ``?resume=n`` gets the rest again, in order, and learns from
``bridge_hello`` how many of its own frames arrived, so it sends only the others again.
A client that did not ask speaks the standard protocol only: nothing is kept for it.

A v1 client that asks for buffer frames (``?buffer_frames=1``) gets each big buffer of a
message in a binary frame of its own, right after the message (announced by
``bridge_buffers``, not counted): the browser then holds it in an ArrayBuffer of its own, as
JupyterLab gives buffers to page code, without copying it out of the message's frame.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

from jupyter_client.session import Session

from ..wire import protocol
from ..wire.encode import buffers_apart, encode_frame, v1_without
from ..wire.message import Encoded, WireMessage, build_message
from ..wire.protocol import AckContent, BuffersContent, HelloContent


class ClientSettings(Protocol):
    reconnect_window: float
    max_queued_bytes: int
    heartbeat_interval: float
    rate_limit: float
    rate_burst: int


class BridgeSocket(Protocol):
    """A client's websocket, as the client's state sees it (the handler)."""

    session_id: str
    #: Whether the client asked for the resume layer (hello, acks, resume).
    resumable: bool
    #: Bytes written to the websocket that have not reached the socket yet.
    unflushed_bytes: int
    #: Whether the client asked for big buffers in frames of their own (``buffer_frames=1``).
    buffer_frames: bool

    @property
    def protocol(self) -> str:
        """The wire protocol of the websocket (``protocol.V1_PROTOCOL`` or legacy)."""

    def write_frame(self, frame: Encoded, binary: bool) -> None: ...

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


class Client:
    """What the bridge knows of one client, connected or not."""

    def __init__(
        self, session_id: str, session: Session, settings: ClientSettings, now: float
    ) -> None:
        self.session_id = session_id
        self.session = session
        self.settings = settings
        self.socket: BridgeSocket | None = None
        #: Set by the first socket: a client that keeps nothing for a reconnect is not.
        self.resumable = False
        #: The protocol of the last socket: how to encode what waits for the next one.
        self.protocol = protocol.LEGACY_PROTOCOL
        #: Whether the last socket takes big buffers in frames of their own (v1 only).
        self.buffer_frames = False
        self.sent = 0  # counted frames sent (or kept for sending) to the client
        self.received = 0  # counted frames received from the client
        self.unacked_received_bytes = 0  # of those received since the last acknowledgement
        self.acked_by_client = 0
        self.acked_to_client = 0
        #: Frames sent (or waiting for the next socket) that the client has not acknowledged.
        self.unacked: deque[WireMessage] = deque()
        self.unacked_bytes = 0
        self._bucket = TokenBucket(settings.rate_limit, settings.rate_burst, now)
        self._refused = 0  # messages refused over the rate since the last report
        self._reported = 0.0
        #: IOLoop timeout that ends the client if no socket comes back in time.
        self.expiry: object | None = None
        #: Whether it asked for the iopub status of its own messages (``watch_status``).
        self.watches_status = False

    # --- sockets come and go ------------------------------------------------

    def can_resume(self, resume: int) -> bool:
        """Does the client's count fall within what is kept for it?"""
        return self.acked_by_client <= resume <= self.sent

    def attach(self, socket: BridgeSocket, resume: int | None, reason: str | None = None) -> None:
        """Take a new socket; send hello and, when resuming, what the client missed.

        ``reason`` says why the client could not be resumed as it asked.
        """
        resumed = resume is not None and self.can_resume(resume)
        if resume is not None and resumed:
            self._trim(resume)
        self.socket = socket
        self.protocol = socket.protocol
        self.buffer_frames = socket.buffer_frames and socket.protocol == protocol.V1_PROTOCOL
        self.resumable = socket.resumable
        if not self.resumable:
            return  # a standard-protocol client: no bridge_hello, nothing to resend
        hello: HelloContent = {
            "session_id": self.session_id,
            "resumed": resumed,
            "received": self.received,
            "reconnect_window": self.settings.reconnect_window,
            "heartbeat": self.settings.heartbeat_interval,
            "max_queued_bytes": self.settings.max_queued_bytes,
        }
        if reason:
            hello["reason"] = reason
        self._write(self._control(protocol.HELLO, dict(hello)))
        for msg in self.unacked:
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
            self.unacked.append(msg)
            self.unacked_bytes += msg.size
            if self.unacked_bytes > limit:
                return f"the client has not acknowledged {self.unacked_bytes} bytes (limit {limit})"
        self._write(msg)
        if self.socket is not None and self.socket.unflushed_bytes > limit:
            waiting = self.socket.unflushed_bytes
            return f"the client is not reading: {waiting} bytes wait to be sent (limit {limit})"
        return None

    def heartbeat(self) -> None:
        """Acknowledge what the client sent; also tells it the server is alive."""
        if not self.resumable:
            return
        self.acked_to_client = self.received
        self.unacked_received_bytes = 0
        ack: AckContent = {"received": self.received}
        self._write(self._control(protocol.ACK, dict(ack)))

    def _control(self, msg_type: str, content: dict[str, Any]) -> WireMessage:
        return build_message(self.session, protocol.BRIDGE_CHANNEL, msg_type, content)

    def _write(self, msg: WireMessage) -> None:
        socket = self.socket
        if socket is None:
            return
        apart = buffers_apart(msg) if self.buffer_frames else []
        if apart:
            buffers: BuffersContent = {"buffers": apart}
            self._write(self._control(protocol.BUFFERS, dict(buffers)))
            socket.write_frame(v1_without(msg, apart), True)
            for i in apart:  # by reference: never joined or copied here
                socket.write_frame((msg.buffers[i],), True)
            return
        frame, binary = encode_frame(msg, self.protocol, self.session.unpack)
        socket.write_frame(frame, binary)

    # --- frames from the client -------------------------------------------------

    def counted(self, size: int) -> None:
        """A counted frame of ``size`` bytes arrived from the client; acknowledge every
        ACK_EVERY frames and every ACK_BYTES_MAX bytes, as clients do: the client keeps a
        copy of each frame until then, and can reuse its memory once acknowledged."""
        self.received += 1
        self.unacked_received_bytes += size
        if not self.resumable:
            return
        frames = self.received - self.acked_to_client
        if frames >= protocol.ACK_EVERY or self.unacked_received_bytes >= protocol.ACK_BYTES_MAX:
            self.heartbeat()

    def acknowledged(self, received: object) -> None:
        """The client's ``bridge_ack``: it has the first ``received`` frames."""
        if isinstance(received, int) and self.acked_by_client <= received <= self.sent:
            self._trim(received)

    def _trim(self, received: int) -> None:
        while self.acked_by_client < received:
            self.unacked_bytes -= self.unacked.popleft().size
            self.acked_by_client += 1

    def rate_refusal(self, now: float) -> int | None:
        """None while within the rate limit. Over it: how many messages were refused since the
        last report when it is time to report (at most once a second), else 0."""
        if self._bucket.take(now):
            return None
        self._refused += 1
        if now - self._reported < 1.0:
            return 0
        count, self._refused, self._reported = self._refused, 0, now
        return count
