"""Least privilege: only comm messages reach the kernel; the rest is refused, clearly."""

from __future__ import annotations

import json
import struct

import pytest
from traitlets.config import Config

from support.kernelws import PROTOCOLS

each_protocol = pytest.mark.parametrize("protocol", PROTOCOLS)


@each_protocol
@pytest.mark.parametrize(
    ("channel", "msg_type", "content"),
    [
        ("shell", "execute_request", {"code": "pwned = True", "silent": False}),
        ("shell", "kernel_info_request", {}),
        ("shell", "inspect_request", {"code": "x", "cursor_pos": 1}),
        ("control", "shutdown_request", {"restart": False}),
        ("control", "interrupt_request", {}),
        ("stdin", "input_reply", {"value": "x"}),
        ("iopub", "comm_msg", {"comm_id": "x", "data": {}}),
        ("shell", "comm_bogus", {}),
    ],
)
async def test_non_comm_messages_are_refused(
    protocol, channel, msg_type, content, bridge, echo_kernel
):
    page = await echo_kernel()
    client = await bridge(protocol)
    sent = await client.send(msg_type, content, channel=channel)
    err = await client.error_for(sent)
    assert err["channel"] == "bridge"
    assert err["content"]["ename"] == "MessageRefused"
    assert err["content"]["msg_type"] == msg_type
    assert repr(msg_type) in err["content"]["evalue"]
    # the connection carries on, and the kernel never got the message
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, "still here")
    assert (await client.next_on_comm(comm_id))["content"]["data"] == "still here"
    assert await page.evaluate("'pwned' in globals()") is False
    assert await page.evaluate("len(received)") == 2
    replies = [m for m in client.messages if m["channel"] == "shell"]
    assert replies == []


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"content": {}}', "no header"),
        ('{"header": {"msg_type": "comm_msg"}, "content": {}}', "msg_id"),
        ('{"header": {"msg_type": "comm_msg", "msg_id": "1"}, "content": []}', "content"),
        (b"\x00\x00", "shorter"),
        (b"\x00\x00\x00\x09" + b"\x00" * 12, "count"),
        (struct.pack("!III", 2, 12, 999) + b"{}", "past the end"),
        (struct.pack("!IIII", 3, 16, 30, 20) + b"{}" * 10, "overlap"),
    ],
)
async def test_malformed_legacy_frames_get_a_clear_error(frame, reason, bridge, echo_kernel):
    await echo_kernel()
    client = await bridge("legacy")
    await client.send_frame(frame)
    err = await client.wait_for(lambda m: m["header"]["msg_type"] == "bridge_error")
    assert err["content"]["ename"] == "MalformedMessage"
    assert reason in err["content"]["evalue"]
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, 1)
    await client.next_on_comm(comm_id)


def v1_frame(parts: list[bytes], channel: bytes = b"shell", count: int | None = None) -> bytes:
    offsets = [8 * (2 + len(parts) + 1)]
    for chunk in [channel, *parts]:
        offsets.append(offsets[-1] + len(chunk))
    n = len(offsets) if count is None else count
    return b"".join(
        [n.to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in offsets), channel, *parts]
    )


async def test_malformed_v1_frames_get_a_clear_error(bridge, echo_kernel):
    await echo_kernel()
    client = await bridge("v1")
    good_header = json.dumps({"msg_type": "comm_msg", "msg_id": "m1"}).encode()
    cases = [
        (b"\x01\x00", "shorter"),
        (v1_frame([good_header, b"{}", b"{}", b"{}"], count=3), "count"),
        (v1_frame([good_header, b"{}", b"{}", b"{}"], count=40), "count"),
        (v1_frame([b"nope", b"{}", b"{}", b"{}"]), "header is not valid JSON"),
        (v1_frame([good_header, b"{}", b"[]", b"{}"]), "metadata"),
        (v1_frame([good_header, b"{}"]), "count"),
        (v1_frame([good_header, b"{}", b"{}", b"{}"])[:-3], "past the end"),
        ("text frame", "binary frames only"),
    ]
    for frame, reason in cases:
        start = len(client.messages)
        await client.send_frame(frame)
        err = await client.wait_for(
            lambda m: m["header"]["msg_type"] == "bridge_error", start=start
        )
        assert err["content"]["ename"] == "MalformedMessage", frame
        assert reason in err["content"]["evalue"], (frame, err["content"]["evalue"])
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, 1)
    await client.next_on_comm(comm_id)


@each_protocol
async def test_comm_messages_need_their_fields(protocol, bridge, echo_kernel):
    await echo_kernel()
    client = await bridge(protocol)
    cases = [
        ("comm_open", {"target_name": "echo"}, "comm_id"),
        ("comm_open", {"comm_id": "c1"}, "target_name"),
        ("comm_msg", {"data": {}}, "comm_id"),
        ("comm_msg", {"comm_id": "never-opened", "data": {}}, "not open"),
        ("comm_close", {"comm_id": "never-opened"}, "not open"),
    ]
    for msg_type, content, reason in cases:
        err = await client.error_for(await client.send(msg_type, content))
        assert reason in err["content"]["evalue"], (msg_type, err)
    comm_id = await client.open_comm("echo")
    err = await client.error_for(
        await client.send("comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {}})
    )
    assert err["content"]["ename"] == "CommExists"


@each_protocol
async def test_bridge_requests_are_checked(protocol, bridge, kernel_id):
    client = await bridge(protocol)
    err = await client.error_for(await client.send("register_target_request", {}, channel="bridge"))
    assert "target_name" in err["content"]["evalue"]
    err = await client.error_for(await client.send("launch_request", {}, channel="bridge"))
    assert "launch_request" in err["content"]["evalue"]
    reply = await client.request(
        "unregister_target_request", {"target_name": "t"}, channel="bridge"
    )
    assert reply["header"]["msg_type"] == "unregister_target_reply"
    assert reply["content"] == {"status": "ok", "target_name": "t"}


class TestAllowedMessageTypes:
    @pytest.fixture
    def jp_server_config(self):
        allowed = [
            "comm_open",
            "comm_msg",
            "comm_info_request",
            "execute_request",
            "kernel_info_request",
        ]
        return Config(
            {
                "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
                "MappingKernelManager": {"allowed_message_types": allowed},
            }
        )

    @each_protocol
    async def test_server_allow_list_is_honoured(self, protocol, bridge, echo_kernel):
        page = await echo_kernel()
        client = await bridge(protocol)
        comm_id = await client.open_comm("echo")
        err = await client.error_for(await client.send("comm_close", {"comm_id": comm_id}))
        assert err["content"]["ename"] == "MessageRefused"
        assert "comm_close" not in err["content"]["evalue"].split(": only")[1]
        await client.comm_msg(comm_id, "open still")
        await client.next_on_comm(comm_id)
        assert await page.evaluate("[r[0] for r in received]") == ["open", "msg"]
