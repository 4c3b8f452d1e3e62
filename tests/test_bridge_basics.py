"""The bridge channel: comm round trips on both wire protocols."""

from __future__ import annotations

import pytest

from kernelws import PROTOCOLS


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_page_opened_comm_echo(protocol, bridge, echo_kernel):
    page = await echo_kernel()
    client = await bridge(protocol)
    comm_id = await client.open_comm("echo", {"foo": 6})
    await client.comm_msg(comm_id, {"foo": 7})
    echo = await client.next_on_comm(comm_id)
    assert echo["content"]["data"] == {"foo": 7}
    assert echo["channel"] == "iopub"
    received = await page.evaluate("received")
    assert received == [["open", comm_id, {"foo": 6}, 0], ["msg", comm_id, {"foo": 7}, []]]
