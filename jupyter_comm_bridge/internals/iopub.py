"""A kernel's iopub for its relay and for the page: received by reference, and tapped.

Part of :mod:`jupyter_comm_bridge.internals`: what the extension relies on in jupyter_server
and tornado beyond their public APIs. Each helper names the internal it touches; the tests
marked ``server_internals`` run against the oldest and the newest jupyter_server admitted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import zmq


def iopub_by_reference(connection: Any, connected: Any) -> None:
    """Once ``ZMQChannelsWebsocketConnection.connect`` has subscribed its channels
    (``on_recv_stream`` in a done-callback of ``connected``), receive iopub with
    ``copy=False``: the page's copy of every big buffer the kernel publishes (a bridge
    client's, which the page never gets, too) is then not made. ``handle_outgoing_message``
    gets ``zmq.Frame``s, which :func:`..wire.kernel_frames.zmq_parts` turns into what it
    expects.
    """

    def again(done: Any) -> None:
        stream = getattr(connection, "channels", {}).get("iopub")
        if done.cancelled() or done.exception() is not None or stream is None:
            return
        if not stream.closed():
            stream.on_recv_stream(connection.handle_outgoing_message, copy=False)

    if connected is not None and hasattr(connected, "add_done_callback"):
        connected.add_done_callback(again)


class IopubTap:
    """A kernel's iopub for its relay, from the activity stream jupyter_server already has.

    Every subscriber of a kernel's iopub costs the kernel a send and the server a receive and
    a dispatch of every message the kernel publishes, big buffers included. The relay listens
    here instead of on a socket of its own, while the stream exists (:attr:`stream`, set by
    :func:`activity_by_reference`). Meanwhile the socket takes no receive high-water mark,
    as the relay's own would (see ``ZMQUpstream._connect_iopub``; libzmq applies a changed
    mark to connected pipes too); the stream's own mark comes back when the relay leaves.
    """

    def __init__(self, log: Any) -> None:
        self.log = log
        self.stream: Any = None
        self._listener: Callable[[list[Any]], None] | None = None
        self._hwm: int | None = None

    def listen(self, listener: Callable[[list[Any]], None], url: str) -> bool:
        """Give ``listener`` every iopub message's parts; False when there is no stream
        connected to ``url`` (a restart with new ports that jupyter_server did not follow)."""
        stream = self.stream
        if stream is None or stream.closed():
            return False
        if stream.socket.getsockopt(zmq.LAST_ENDPOINT).decode() != url:
            return False
        self.stop()
        self._listener = listener
        self._hwm = stream.socket.getsockopt(zmq.RCVHWM)
        stream.socket.setsockopt(zmq.RCVHWM, 0)
        return True

    def stop(self, listener: Callable[[list[Any]], None] | None = None) -> None:
        """Stop listening (only if it is ``listener``'s, when given)."""
        if listener is not None and listener != self._listener:  # (bound methods: ==)
            return
        self._listener = None
        stream, hwm, self._hwm = self.stream, self._hwm, None
        if hwm is not None and stream is not None and not stream.closed():
            stream.socket.setsockopt(zmq.RCVHWM, hwm)

    def feed(self, parts: list[Any]) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            listener(parts)
        except Exception:  # the relay's failure: jupyter_server's stream carries on
            self.log.exception("comm-bridge: the relay failed on an iopub message")
