"""What the extension relies on in jupyter_server beyond its public API, in one place.

Each helper names the internal it touches; tests run against the oldest and the newest
jupyter_server that ``pyproject.toml`` admits.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import zmq
from jupyter_server._tz import utcnow
from jupyter_server.gateway.connections import GatewayWebSocketConnection

from . import tcp, wire


@contextmanager
def uncounted(multi_kernel_manager: Any, kernel_id: str, count: int) -> Iterator[None]:
    """Leave ``count`` connections out of a kernel's ``_kernel_connections`` meanwhile.

    ``ZMQChannelsWebsocketConnection.disconnect`` starts buffering the page's messages
    when that count is 0 after its own connection is gone.
    """
    counts = getattr(multi_kernel_manager, "_kernel_connections", None)
    if not count or not isinstance(counts, dict) or kernel_id not in counts:
        yield
        return
    counts[kernel_id] -= count
    try:
        yield
    finally:
        if kernel_id in counts:
            counts[kernel_id] += count


def iopub_by_reference(connection: Any, connected: Any) -> None:
    """Once ``ZMQChannelsWebsocketConnection.connect`` has subscribed its channels
    (``on_recv_stream`` in a done-callback of ``connected``), receive iopub with
    ``copy=False``: the page's copy of every big buffer the kernel publishes (a bridge
    client's, which the page never gets, too) is then not made. ``handle_outgoing_message``
    gets ``zmq.Frame``s, which :func:`.wire.zmq_parts` turns into what it expects.
    """

    def again(done: Any) -> None:
        stream = getattr(connection, "channels", {}).get("iopub")
        if done.cancelled() or done.exception() is not None or stream is None:
            return
        if not stream.closed():
            stream.on_recv_stream(connection.handle_outgoing_message, copy=False)

    if connected is not None and hasattr(connected, "add_done_callback"):
        connected.add_done_callback(again)


def activity_by_reference(manager: Any, kernel: Any, tap: IopubTap) -> None:
    """``MappingKernelManager.start_watching_activity`` reads every iopub message of a
    kernel on a stream of its own (``kernel._activity_stream``), with copies, and fully
    deserializes each (dates parsed; ``status`` twice): a quarter of the server's time on
    comm traffic, on the way of every reply. Receive it with ``copy=False`` and record with
    :class:`ActivityRecord`; what that does not vouch for goes to jupyter_server's callback
    (pyzmq's ``_recv_callback``, kept as ``ActivityHook.original``), given what it expects
    (:func:`.wire.zmq_parts`). Every message then goes on to ``tap``, the relay's iopub.
    Once per stream (a later call only points it at ``tap``); no-op if the internals are
    not there.
    """
    stream = getattr(kernel, "_activity_stream", None)
    callback = getattr(stream, "_recv_callback", None)
    if stream is None or callback is None or stream.closed():
        return
    tap.stream = stream
    if isinstance(callback, ActivityHook):
        callback.tap = tap
        return
    stream.on_recv(ActivityHook(ActivityRecord(manager, kernel), callback, tap), copy=False)


class ActivityHook:
    """The activity stream's callback: record the activity, then feed the relay's tap."""

    def __init__(self, activity: ActivityRecord, original: Any, tap: IopubTap) -> None:
        self.activity = activity
        #: jupyter_server's own callback, for what ``activity`` leaves to it.
        self.original = original
        self.tap = tap

    def __call__(self, frames: list[Any]) -> None:
        parts = wire.zmq_parts(frames)
        if not self.activity.record(parts):
            self.original(parts)
        self.tap.feed(parts)


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


class ActivityRecord:
    """What jupyter_server's activity watcher records of one iopub message, from its header
    frames alone: ``last_activity`` (kernel and manager) and ``execution_state``.

    The rules are jupyter_server's own, in its two forms: up to 2.14 every message is
    activity and every ``status`` sets the state; from 2.15 (``track_message_type``) only
    tracked message types count, and only a status for a tracked request sets the state.
    ``tests/integration/test_activity.py`` checks both against jupyter_server's callback.
    The signature is checked; replays are not (they could only repeat a state). Unlike
    jupyter_server's, it logs nothing per message: at debug level that was 2 % of the
    server's time on comm traffic.
    """

    def __init__(self, manager: Any, kernel: Any) -> None:
        self.manager = manager
        self.kernel = kernel
        self.session = kernel.session
        self.track = getattr(manager, "track_message_type", None)

    def record(self, parts: list[Any]) -> bool:
        """Record one message (its ZMQ frames); False when it is left to jupyter_server."""
        session = self.session
        try:
            _, frames = session.feed_identities(parts)
            signature, header, parent, metadata, content = (bytes(f) for f in frames[:5])
            if session.auth is not None and not hmac.compare_digest(
                signature, session.sign([header, parent, metadata, content])
            ):
                return False
            msg_type = session.unpack(header)["msg_type"]
            parent_type = session.unpack(parent).get("msg_type")
            state = session.unpack(content)["execution_state"] if msg_type == "status" else None
        except (ValueError, TypeError, KeyError, AttributeError):
            return False  # jupyter_server's callback fails on it in its own way
        self._apply(msg_type, parent_type, state)
        return True

    def _apply(self, msg_type: str, parent_type: str | None, state: str | None) -> None:
        kernel, track = self.kernel, self.track
        if (
            track is None
            or track(msg_type)
            or track(parent_type)
            or (kernel.execution_state == "busy")
        ):
            self.manager.last_kernel_activity = kernel.last_activity = utcnow()
        if state is not None:
            if track is None or track(parent_type):
                kernel.execution_state = state
            elif kernel.execution_state == "starting" and state != "starting":
                kernel.execution_state = "idle"


class GatewayConnectionHooks:
    """For subclasses of jupyter_server's ``GatewayWebSocketConnection``: binary frames.

    It decodes every frame from the gateway as UTF-8, so one message with buffers ends its
    read loop (ipywidgets#3798). Once its private ``_connection_done`` has opened the
    gateway websocket (``self.ws``), its ``read_message`` is wrapped: binary frames go to
    :meth:`on_binary_frame` instead, text frames on as before. The socket gets the same
    low-latency options as the relay's own (:mod:`.tcp`).
    """

    def _connection_done(self, fut: Any) -> None:
        super()._connection_done(fut)  # type: ignore[misc]
        ws = getattr(self, "ws", None)
        if ws is not None:
            read = ws.read_message
            tcp.low_latency(ws)

            async def read_message(callback: Any = None) -> Any:
                while True:
                    frame = await read()
                    tcp.ack_now(ws)
                    if not isinstance(frame, bytes):
                        return frame
                    self.on_binary_frame(frame)

            ws.read_message = read_message

    def on_binary_frame(self, frame: bytes) -> None:
        raise NotImplementedError


class LateSockets:
    """Gateway websockets that opened for pages already gone, until they are closed.

    ``GatewayWebSocketConnection.disconnect`` cancels a connection to the gateway still in
    progress, but tornado finishes opening it anyway, where nothing closes it. JupyterLab's
    first try always leaves during that handshake (it offers the v1 subprotocol, the gateway
    path answers legacy), then comes back at once with the same session id. At the gateway,
    both connections' shell sockets have that session as their ZMQ identity, so the kernel's
    replies can go to the forgotten one, and the page waits for its ``kernel_info_reply``
    forever. Here each such socket is closed as it opens, and the page's next connection with
    that kernel and session waits (bounded) until it is.
    """

    def __init__(self, timeout: float, log: Any) -> None:
        self.timeout = timeout
        self.log = log
        self._closing: dict[tuple[str, str], asyncio.Future[None]] = {}

    def add(self, key: tuple[str, str], ws_future: Any) -> None:
        """The connection for ``key`` left with ``ws_future`` still pending."""
        closed = self._closing[key] = asyncio.get_running_loop().create_future()

        async def close() -> None:
            try:
                ws = await ws_future
                self.log.debug(
                    "comm-bridge: closing kernel %s's gateway websocket of a page gone", key[0]
                )
                ws.close()
                while await ws.read_message() is not None:
                    pass  # what the gateway sent before our close: nobody's
            finally:
                closed.set_result(None)
                if self._closing.get(key) is closed:
                    del self._closing[key]

        task = asyncio.ensure_future(asyncio.wait_for(close(), self.timeout))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def wait(self, key: tuple[str, str]) -> None:
        """Until no socket of ``key`` is left open (at most ``timeout`` s)."""
        closed = self._closing.get(key)
        if closed is not None:
            await asyncio.wait([closed], timeout=self.timeout)


def is_gateway_connection(base: type) -> bool:
    """Whether the server's kernel connection class is its gateway one."""
    return issubclass(base, GatewayWebSocketConnection)
