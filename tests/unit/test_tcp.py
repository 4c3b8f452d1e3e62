"""The gateway websockets' socket options, on a real loopback websocket."""

from __future__ import annotations

import asyncio
import socket

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketHandler, websocket_connect

from jupyter_comm_bridge import tcp


class Echo(WebSocketHandler):
    def on_message(self, message: str | bytes) -> None:
        self.write_message(message)


async def test_low_latency_sets_nodelay_and_quickack_on_a_client_websocket() -> None:
    listening = bind_sockets(0, "127.0.0.1")
    port = listening[0].getsockname()[1]
    server = HTTPServer(Application([("/ws", Echo)]))
    server.add_sockets(listening)
    try:
        ws = await asyncio.wait_for(websocket_connect(f"ws://127.0.0.1:{port}/ws"), 10)
        sock = ws.protocol.stream.socket  # type: ignore[union-attr]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        tcp.low_latency(ws)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        if tcp.TCP_QUICKACK is None:
            pytest.fail("this Linux machine should have TCP_QUICKACK")
        await ws.write_message("x")
        assert await asyncio.wait_for(ws.read_message(), 10) == "x"
        tcp.ack_now(ws)
        assert sock.getsockopt(socket.IPPROTO_TCP, tcp.TCP_QUICKACK) == 1
        ws.close()
    finally:
        server.stop()


def test_options_on_a_closed_or_unconnected_websocket_do_nothing() -> None:
    tcp.low_latency(object())
    tcp.ack_now(None)
