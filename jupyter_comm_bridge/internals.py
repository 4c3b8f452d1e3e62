"""What the extension relies on in jupyter_server beyond its public API, in one place.

Each helper names the internal it touches; tests run against the oldest and the newest
jupyter_server that ``pyproject.toml`` admits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


def activity_by_reference(kernel: Any) -> None:
    """``MappingKernelManager.start_watching_activity`` reads every iopub message of a
    kernel on a stream of its own (``kernel._activity_stream``), with copies. Receive it
    with ``copy=False`` (pyzmq's ``_recv_callback`` is the callback to keep), its callback
    given what it expects (:func:`.wire.zmq_parts`). Once per stream; no-op if the internals
    are not there.
    """
    stream = getattr(kernel, "_activity_stream", None)
    callback = getattr(stream, "_recv_callback", None)
    if stream is None or callback is None or stream.closed():
        return
    if getattr(callback, _BY_REFERENCE, False):
        return

    def record(frames: list[Any]) -> None:
        callback(wire.zmq_parts(frames))

    setattr(record, _BY_REFERENCE, True)
    stream.on_recv(record, copy=False)


_BY_REFERENCE = "_comm_bridge_by_reference"


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
