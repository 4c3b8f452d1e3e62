"""The gateway websockets' socket options, on a real loopback websocket."""

from __future__ import annotations

import asyncio
import socket

import pytest
from tornado.websocket import WebSocketHandler

from jupyter_comm_bridge.internals import tcp

from support.loopback import loopback


class Echo(WebSocketHandler):
    def on_message(self, message: str | bytes) -> None:
        self.write_message(message)


async def test_low_latency_sets_nodelay_and_quickack_on_a_client_websocket() -> None:
    async with loopback(Echo) as ws:
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


def test_options_on_a_closed_or_unconnected_websocket_do_nothing() -> None:
    tcp.low_latency(object())
    tcp.ack_now(None)
