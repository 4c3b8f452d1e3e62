"""jupyter_server's gateway websocket connection: binary frames, sockets left opening.

Part of :mod:`jupyter_comm_bridge.internals`: what the extension relies on in jupyter_server
and tornado beyond their public APIs. Each helper names the internal it touches; the tests
marked ``server_internals`` run against the oldest and the newest jupyter_server admitted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.gateway.connections import GatewayWebSocketConnection

from . import tcp


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
    path answers legacy), then comes back at once with the same session_id. At the gateway,
    both connections' shell sockets have that session_id as their ZMQ identity, so the kernel's
    replies can go to the forgotten one, and the page waits for its ``kernel_info_reply``
    forever. Here each such socket is closed as it opens, and the page's next connection with
    that kernel and session_id waits (bounded) until it is.
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


def take_opening_socket(connection: Any) -> Any:
    """The future of ``connection``'s gateway websocket if it is still opening, taken from
    it (``ws_future``, which ``GatewayWebSocketConnection.disconnect`` would cancel); else
    None. Tornado finishes such a handshake anyway, so whoever takes it must close it."""
    future = getattr(connection, "ws_future", None)
    if getattr(connection, "ws", None) is not None or future is None or future.done():
        return None
    connection.ws_future = None
    return future


def is_gateway_connection(base: type) -> bool:
    """Whether the server's kernel connection class is its gateway one."""
    return issubclass(base, GatewayWebSocketConnection)
