"""A tornado websocket handler served on a loopback port, and a client connected to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketClientConnection, WebSocketHandler, websocket_connect


@asynccontextmanager
async def loopback(handler: type[WebSocketHandler]) -> AsyncIterator[WebSocketClientConnection]:
    """A client of ``handler`` at ``ws://127.0.0.1:{port}/ws``; both closed afterwards."""
    listening = bind_sockets(0, "127.0.0.1")
    port = listening[0].getsockname()[1]
    server = HTTPServer(Application([("/ws", handler)]))
    server.add_sockets(listening)
    try:
        ws = await asyncio.wait_for(websocket_connect(f"ws://127.0.0.1:{port}/ws"), 10)
        try:
            yield ws
        finally:
            ws.close()
    finally:
        server.stop()
