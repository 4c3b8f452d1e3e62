"""Big buffers in frames of their own (``?buffer_frames=1``, what pycomm asks for): the
kernel's big buffers reach the client each as a binary websocket frame after its message, so
that a browser holds each in an ArrayBuffer of its own without a copy; small ones stay in the
message's frame. Clients that do not ask, and the legacy protocol, get whole frames."""

from __future__ import annotations

import json
import os

import pytest
from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

from jupyter_comm_bridge.wire.message import BY_REFERENCE

from support.kernelws import Bridge, StandardBridge, until

#: Buffers of every kind in one message: small, big, empty, big again.
BUFFERS = [os.urandom(3), os.urandom(BY_REFERENCE + 5), b"", os.urandom(3 * BY_REFERENCE)]
BIG = [1, 3]


async def echo(client: Bridge) -> tuple[str, int]:
    """Open an echo comm and send BUFFERS on it; returns the comm and the frame count before."""
    comm_id = await client.open_comm("echo")
    before = len(client.frames or [])
    await client.comm_msg(comm_id, {"n": len(BUFFERS)}, buffers=BUFFERS)
    return comm_id, before


async def test_big_buffers_follow_their_message_each_in_a_frame_of_its_own(bridge, echo_kernel):
    await echo_kernel()
    client = await bridge()
    client.frames = []
    comm_id, before = await echo(client)
    got = await client.next_on_comm(comm_id)
    assert got["buffers"] == BUFFERS  # whole again, in place
    frames = client.frames[before:]
    announce = [i for i, f in enumerate(frames) if b"bridge_buffers" in f[:400]]
    assert len(announce) == 1, "one bridge_buffers for the echo"
    start = announce[0]
    channel, parts = deserialize_msg_from_ws_v1(frames[start])
    assert channel == "bridge" and json.loads(parts[3]) == {"buffers": BIG}
    channel, parts = deserialize_msg_from_ws_v1(frames[start + 1])
    assert channel == "iopub" and [bytes(p) for p in parts[4:]] == [BUFFERS[0], b"", b"", b""]
    assert frames[start + 2 : start + 4] == [BUFFERS[i] for i in BIG]  # exactly the bytes


@pytest.mark.parametrize(
    ("protocol", "cls"), [("legacy", Bridge), ("v1", StandardBridge)], ids=["legacy", "not-asked"]
)
async def test_without_buffer_frames_every_message_is_one_frame(protocol, cls, bridge, echo_kernel):
    await echo_kernel()
    client = await bridge(protocol, cls=cls)
    client.frames = []
    comm_id, before = await echo(client)
    got = await client.next_on_comm(comm_id)
    assert got["buffers"] == BUFFERS
    assert not any(f == BUFFERS[1] for f in client.frames[before:])
    assert all(b"bridge_buffers" not in f[:400] for f in client.frames if isinstance(f, bytes))


async def test_a_drop_between_a_message_and_its_buffer_frames_resends_them_all(
    bridge, echo_kernel, kernel_id, jp_serverapp
):
    page = await echo_kernel()
    client = await bridge()
    client.auto_ack = False  # the server keeps all it sent
    comm_id = await client.open_comm("echo")
    await page.eventually(f"{comm_id!r} in comms")
    seen = len(client.messages)
    client.drop()
    relay = jp_serverapp.web_app.settings["jupyter_comm_bridge"].registry.get(kernel_id)
    sid = client.session.session
    await until(lambda: relay.clients.clients[sid].socket is None)
    send = f"comms[{comm_id!r}].send({{'i': 1}}, buffers=[bytes(range(256)) * 400, b'x'])"
    await page.execute(send)
    again = await bridge(session_id=sid, params={"resume": str(seen)})
    assert (await again.hello())["content"]["resumed"] is True
    got = await again.next_on_comm(comm_id)
    assert got["buffers"] == [bytes(range(256)) * 400, b"x"]
    again.drop()  # before acknowledging: the message and its buffer frame come again
    await until(lambda: relay.clients.clients[sid].socket is None)
    third = await bridge(session_id=sid, params={"resume": str(seen)})
    assert (await third.hello())["content"]["resumed"] is True
    got = await third.next_on_comm(comm_id)
    assert got["buffers"] == [bytes(range(256)) * 400, b"x"]
    assert len(third.messages) == 1
