"""The bridge channel with a real server and a real ipykernel, on both wire protocols."""

from __future__ import annotations

import os

import pytest

from support.kernelws import PROTOCOLS

pytestmark = pytest.mark.parametrize("protocol", PROTOCOLS)

KERNEL_OPENS = """
from comm import create_comm
opened = create_comm(target_name={target!r}, data={{"foo": 1}})
@opened.on_msg
def _got(msg):
    received.append(["reply", opened.comm_id, msg["content"]["data"]])
    opened.send({{"got": msg["content"]["data"]}})
opened.send({{"foo": 2}})
"""


async def test_page_opened_comm_echo(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    client = await bridge(protocol)
    comm_id = await client.open_comm("echo", {"foo": 6})
    await client.comm_msg(comm_id, {"foo": 7})
    echo = await client.next_on_comm(comm_id)
    assert echo["content"]["data"] == {"foo": 7}
    assert echo["channel"] == "iopub"
    assert await page.evaluate("received") == [
        ["open", comm_id, {"foo": 6}, 0],
        ["msg", comm_id, {"foo": 7}, []],
    ]


async def test_falsy_and_nested_values_arrive_as_sent(protocol, bridge, echo_kernel):
    await echo_kernel()
    client = await bridge(protocol)
    comm_id = await client.open_comm("echo")
    values = [0, "", False, None, [], {}, {"a": [0, {"b": None}], "é": "✓"}]
    for value in values:
        await client.comm_msg(comm_id, {"v": value})
    for i, value in enumerate(values):
        echo = await client.wait_for(
            lambda m: (
                m["content"].get("comm_id") == comm_id
                and m["content"]["data"]["v"] == value
                and m["header"]["msg_type"] == "comm_msg"
            )
        )
        assert echo["content"]["data"] == {"v": value}, i


async def test_buffers_both_ways_byte_for_byte(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    client = await bridge(protocol)
    comm_id = await client.open_comm("echo")
    blobs = [os.urandom(3), b"", bytes(range(256)) * 4000, b"\x00" * 10]
    await client.comm_msg(comm_id, {"n": len(blobs)}, buffers=blobs)
    echo = await client.next_on_comm(comm_id)
    assert echo["buffers"] == blobs
    got = await page.evaluate("received[-1]")
    assert got == ["msg", comm_id, {"n": 4}, [len(b) for b in blobs]]


async def test_kernel_opened_comm_of_registered_target(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    client = await bridge(protocol)
    await client.register("from_kernel")
    await page.execute(KERNEL_OPENS.format(target="from_kernel"))
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    assert opened["content"]["target_name"] == "from_kernel"
    assert opened["content"]["data"] == {"foo": 1}
    comm_id = opened["content"]["comm_id"]
    sent = await client.next_on_comm(comm_id)
    assert sent["content"]["data"] == {"foo": 2}
    await client.comm_msg(comm_id, {"answer": 42})
    await client.wait_for(lambda m: m["content"].get("data") == {"got": {"answer": 42}})
    assert await page.evaluate("[received[-1], opened._closed]") == [
        ["reply", comm_id, {"answer": 42}],
        False,
    ]


async def test_two_clients_never_see_each_others_traffic(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    a, b = await bridge(protocol), await bridge(protocol)
    await a.register("shared")
    comm_a = await a.open_comm("echo")
    comm_b = await b.open_comm("echo")
    for i in range(5):
        await a.comm_msg(comm_a, {"from": "a", "i": i})
        await b.comm_msg(comm_b, {"from": "b", "i": i})
    await a.wait_for(lambda m: m["content"].get("data") == {"from": "a", "i": 4})
    await b.wait_for(lambda m: m["content"].get("data") == {"from": "b", "i": 4})

    # Everything the kernel published for a went out before b's last echo: b has it if leaked.
    def kernel_traffic(c):
        return {m["content"].get("comm_id") for m in c.messages if m["channel"] != "bridge"}  # noqa: E731

    assert kernel_traffic(a) == {comm_a}
    assert kernel_traffic(b) == {comm_b}
    # b may not write on a's comm either
    err = await b.error_for(await b.comm_msg(comm_a, {"sneaky": True}))
    assert err["content"]["ename"] == "UnknownComm"
    assert comm_a in err["content"]["evalue"]
    # and a kernel-opened comm of a target only a registered goes to a only
    await page.execute(KERNEL_OPENS.format(target="shared"))
    opened = await a.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    await a.next_on_comm(opened["content"]["comm_id"])
    marker = await b.request("comm_info_request", {})
    assert marker["header"]["msg_type"] == "comm_info_reply"
    assert all(m["header"]["msg_type"] != "comm_open" for m in b.messages)


async def test_no_other_iopub_traffic_reaches_clients(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    client = await bridge(protocol)
    comm_id = await client.open_comm("echo")
    await page.execute(
        "print('hello'); from IPython.display import display, HTML; display(HTML('<b>x</b>'))"
    )
    await client.comm_msg(comm_id, "after")
    await client.next_on_comm(comm_id)
    kinds = {(m["channel"], m["header"]["msg_type"]) for m in client.messages}
    assert kinds == {("iopub", "comm_msg")}


async def test_kernel_opened_comm_goes_to_every_registered_client(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    a, b = await bridge(protocol), await bridge(protocol)
    await a.register("both")
    await b.register("both")
    await page.execute(KERNEL_OPENS.format(target="both"))
    for client in (a, b):
        opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
        comm_id = opened["content"]["comm_id"]
        assert (await client.next_on_comm(comm_id))["content"]["data"] == {"foo": 2}
    await a.comm_msg(comm_id, "from a")
    await b.comm_msg(comm_id, "from b")
    for client in (a, b):
        for sender in ("from a", "from b"):
            await client.wait_for(lambda m: m["content"].get("data") == {"got": sender})
    replies = await page.evaluate("[r[2] for r in received if r[0] == 'reply']")
    assert sorted(replies) == ["from a", "from b"]
    # when a closes it, the kernel closes it and b is told
    await a.send("comm_close", {"comm_id": comm_id, "data": {}})
    closed = await b.next_on_comm(comm_id, "comm_close")
    assert "another client" in closed["metadata"]["reason"]
    assert await page.eventually("opened._closed") is True


async def test_comm_info_lists_only_the_clients_comms(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    a, b = await bridge(protocol), await bridge(protocol)
    comm_a = await a.open_comm("echo")
    comm_b = await b.open_comm("echo")
    await a.register("listed")
    await page.execute(KERNEL_OPENS.format(target="listed"))
    kernel_comm = (await a.wait_for(lambda m: m["header"]["msg_type"] == "comm_open"))["content"][
        "comm_id"
    ]
    reply_a = await a.request("comm_info_request", {})
    reply_b = await b.request("comm_info_request", {})
    assert reply_a["channel"] == "shell"
    assert set(reply_a["content"]["comms"]) == {comm_a, kernel_comm}
    assert reply_a["content"]["comms"][comm_a] == {"target_name": "echo"}
    assert set(reply_b["content"]["comms"]) == {comm_b}
    by_target = await a.request("comm_info_request", {"target_name": "echo"})
    assert set(by_target["content"]["comms"]) == {comm_a}
