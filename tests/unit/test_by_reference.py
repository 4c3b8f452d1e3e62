"""Big buffers travel by reference: from a client's frame to ZMQ, from ZMQ to a websocket.

The pieces and views must carry exactly the bytes jupyter_server's serializers would, and
the bridge must acknowledge a client's big frames by bytes so that pycomm can reuse them.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import zmq
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1
from tornado.websocket import WebSocketHandler

from jupyter_comm_bridge.bridge.client import Client
from jupyter_comm_bridge.internals import scatter
from jupyter_comm_bridge.wire import protocol
from jupyter_comm_bridge.wire.decode import decode_frame
from jupyter_comm_bridge.wire.encode import joined, v1_pieces
from jupyter_comm_bridge.wire.kernel_frames import DELIMITER, decode_zmq, zmq_parts
from jupyter_comm_bridge.wire.message import BY_REFERENCE, WireMessage
from jupyter_comm_bridge.wire.protocol import V1_PROTOCOL

from support.loopback import loopback

BIG = BY_REFERENCE
SESSION = Session()
JSON_PARTS = [SESSION.pack(p) for p in ({"msg_id": "m", "msg_type": "comm_msg"}, {}, {}, {})]

sizes = st.sampled_from([0, 1, 100, BIG - 1, BIG, BIG + 7, 3 * BIG])


@settings(max_examples=60, deadline=None)
@given(st.lists(sizes, max_size=4), st.sampled_from(["shell", "iopub", "ü"]))
def test_v1_pieces_join_to_the_serializers_frame_with_big_buffers_by_reference(
    buffer_sizes: list[int], channel: str
) -> None:
    buffers = [os.urandom(n) for n in buffer_sizes]
    pieces = v1_pieces([*JSON_PARTS, *buffers], channel)
    assert b"".join(pieces) == serialize_msg_to_ws_v1([*JSON_PARTS, *buffers], channel)
    big = [b for b in buffers if len(b) >= BIG]
    assert [p for p in pieces if any(p is b for b in big)] == big  # not copied


def test_a_client_frame_gives_views_of_its_big_buffers() -> None:
    big, small = os.urandom(BIG + 1), b"small"
    frame = serialize_msg_to_ws_v1([*JSON_PARTS, big, small], "shell")
    msg = decode_frame(frame, V1_PROTOCOL, SESSION.pack, SESSION.unpack)
    assert isinstance(msg.buffers[0], memoryview) and msg.buffers[0].obj is frame
    assert msg.buffers[0] == big and msg.buffers[1] == small
    assert isinstance(msg.buffers[1], bytes) and all(isinstance(p, bytes) for p in msg.parts[:4])


def test_a_kernel_message_keeps_its_big_buffers_in_their_zmq_frames() -> None:
    context = zmq.Context()
    a, b = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    try:
        a.bind("inproc://by-reference")
        b.connect("inproc://by-reference")
        big = os.urandom(BIG)
        a.send_multipart([b"ident", DELIMITER, b"sig", *JSON_PARTS, big, b"x"])
        assert b.poll(10_000)
        parts = zmq_parts(b.recv_multipart(copy=False))
        assert all(isinstance(p, bytes) for p in parts[:7]) and parts[8] == b"x"
        assert isinstance(parts[7], memoryview) and parts[7] == big
        msg = decode_zmq("iopub", parts, SESSION.unpack)
        assert msg.msg_type == "comm_msg" and msg.buffers[0] == big
    finally:
        a.close(0)
        b.close(0)
        context.term()


class Pieces(WebSocketHandler):
    def on_message(self, message: str | bytes) -> None:
        size = int(message)
        big = memoryview(os.urandom(size))
        written = scatter.write_pieces(self, (b"head:", big, b":tail"))
        written.add_done_callback(lambda _: self.write_message(f"done {size}"))


async def test_pieces_reach_a_client_as_one_binary_message() -> None:
    async with loopback(Pieces) as ws:
        for size in (1, 200, 70_000, 5 << 20):  # the three lengths of a frame header
            await ws.write_message(str(size))
            got = await asyncio.wait_for(ws.read_message(), 10)
            assert isinstance(got, bytes) and len(got) == size + 10
            assert got[:5] == b"head:" and got[-5:] == b":tail"
            assert await asyncio.wait_for(ws.read_message(), 10) == f"done {size}"


class Socket:
    session_id, resumable, unflushed_bytes, protocol = "s", True, 0, V1_PROTOCOL
    buffer_frames = False

    def __init__(self) -> None:
        self.frames: list[Any] = []

    def write_frame(self, frame: Any, binary: bool) -> None:
        self.frames.append(frame)

    def close_bridge(self, code: int, reason: str) -> None:
        raise AssertionError(reason)


class Settings:
    reconnect_window = heartbeat_interval = 1.0
    max_queued_bytes = 1 << 30
    rate_limit, rate_burst = 0.0, 1


def test_the_server_acknowledges_every_4_mib_a_client_sends() -> None:
    client = Client("s", SESSION, Settings(), 0.0)
    socket = Socket()
    client.attach(socket, None)
    hello = len(socket.frames)
    client.counted(protocol.ACK_BYTES_MAX - 1)
    assert len(socket.frames) == hello  # not yet
    client.counted(1)
    frame = joined(socket.frames[-1])
    ack = decode_frame(frame, V1_PROTOCOL, SESSION.pack, SESSION.unpack)
    assert ack.msg_type == protocol.ACK and ack.content()["received"] == 2
    client.counted(protocol.ACK_BYTES_MAX - 1)
    assert len(socket.frames) == hello + 1  # counting starts again at each acknowledgement


def test_buffer_frames_send_big_buffers_by_reference_after_their_message() -> None:
    client = Client("s", SESSION, Settings(), 0.0)
    socket = Socket()
    socket.buffer_frames = True
    client.attach(socket, None)
    big = memoryview(os.urandom(BIG))
    msg = WireMessage("iopub", [*JSON_PARTS, b"abc", big], {"msg_type": "comm_msg"})
    hello = len(socket.frames)
    client.deliver(msg)
    announce, frame, apart = socket.frames[hello:]
    control = decode_frame(joined(announce), V1_PROTOCOL, SESSION.pack, SESSION.unpack)
    assert control.msg_type == protocol.BUFFERS and control.content() == {"buffers": [1]}
    assert frame == serialize_msg_to_ws_v1([*JSON_PARTS, b"abc", b""], "iopub")
    assert apart == (big,) and apart[0] is big  # the buffer itself, not a copy
    assert client.sent == 1  # one counted frame
