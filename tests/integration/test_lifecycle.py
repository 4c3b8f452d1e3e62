"""Clients across drops, restarts and bad peers: nothing lost, nothing duplicated, bounded."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from support.kernelws import PROTOCOLS, until
from support.rawws import RawClient

each_protocol = pytest.mark.parametrize("protocol", PROTOCOLS)
WINDOW = 3.0


@pytest.fixture
def jp_server_config():
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
            "CommBridgeApp": {
                "reconnect_window": WINDOW,
                "heartbeat_interval": 0.5,
                "ping_interval": 0.5,
                "ping_timeout": 1.5,
                "max_queued_bytes": 2 * 1024 * 1024,
                "max_message_size": 1024 * 1024,
                "rate_limit": 200.0,
                "rate_burst": 100,
            },
        }
    )


def relay_of(jp_serverapp, kernel_id):
    return jp_serverapp.web_app.settings["jupyter_comm_bridge"].registry.get(kernel_id)


def data_of(client, comm_id):
    return [
        m["content"]["data"]
        for m in client.of_comm(comm_id)
        if m["header"]["msg_type"] == "comm_msg"
    ]


@each_protocol
async def test_hello_and_heartbeat_acknowledgements(protocol, bridge, kernel_id):
    client = await bridge(protocol)
    hello = (await client.hello())["content"]
    assert hello["resumed"] is False and hello["received"] == 0
    assert hello["reconnect_window"] == WINDOW and hello["heartbeat"] == 0.5
    await client.register("t")

    def acks():
        return [
            m["content"]["received"]
            for m in client.control
            if m["header"]["msg_type"] == "bridge_ack"
        ]

    await until(lambda: 1 in acks(), timeout=5)  # the server has our one counted frame


@each_protocol
async def test_resume_after_a_drop_loses_and_duplicates_nothing(
    protocol, bridge, echo_kernel, kernel_id, jp_serverapp
):
    page = await echo_kernel()
    client = await bridge(protocol)
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, "before")
    await client.next_on_comm(comm_id)
    seen = len(client.messages)
    client.drop()
    relay = relay_of(jp_serverapp, kernel_id)
    sid = client.session.session
    await until(lambda: relay.clients.clients[sid].socket is None)
    await page.execute(f"for i in range(100): comms[{comm_id!r}].send({{'i': i}})")
    again = await bridge(protocol, session_id=sid, params={"resume": str(seen)})
    hello = (await again.hello())["content"]
    assert hello["resumed"] is True and hello["received"] == 2  # our comm_open and comm_msg
    await again.wait_for(lambda m: m["content"].get("data") == {"i": 99})
    assert data_of(again, comm_id) == [{"i": i} for i in range(100)]
    await again.comm_msg(comm_id, "after")
    assert (await again.next_on_comm(comm_id, start=100))["content"]["data"] == "after"


async def test_resuming_from_an_earlier_count_gets_exactly_what_was_missed(
    bridge, echo_kernel, kernel_id, jp_serverapp
):
    page = await echo_kernel()
    client = await bridge()
    client.auto_ack = False  # the server keeps all it sent
    comm_id = await client.open_comm("echo")
    await page.eventually(f"{comm_id!r} in comms")  # opened on a subshell: not ordered with cells
    await page.execute(f"for i in range(10): comms[{comm_id!r}].send(i)")
    await client.wait_for(lambda m: m["content"].get("data") == 9)
    client.drop()
    relay = relay_of(jp_serverapp, kernel_id)
    await until(lambda: relay.clients.clients[client.session.session].socket is None)
    # pretend the last three never arrived
    again = await bridge(session_id=client.session.session, params={"resume": "7"})
    await again.wait_for(lambda m: m["content"].get("data") == 9)
    assert data_of(again, comm_id) == [7, 8, 9]


async def test_past_the_window_the_sessions_comms_close_in_the_kernel(
    bridge, echo_kernel, kernel_id
):
    page = await echo_kernel()
    client = await bridge()
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, 1)
    await client.next_on_comm(comm_id)
    client.drop()
    assert await page.eventually(f"['close', {comm_id!r}] in received", timeout=WINDOW + 10)
    late = await bridge(session_id=client.session.session, params={"resume": "2"})
    hello = (await late.hello())["content"]
    assert hello["resumed"] is False and "no longer has this client" in hello["reason"]


async def test_a_new_connection_with_the_same_id_replaces_the_session(bridge, echo_kernel):
    await echo_kernel()
    first = await bridge()
    comm_id = await first.open_comm("echo")
    second = await bridge(session_id=first.session.session)
    code, reason = await asyncio.wait_for(first.closed, 10)
    assert code == 4000 and "replaced" in reason
    err = await second.error_for(await second.comm_msg(comm_id, "not mine any more"))
    assert err["content"]["ename"] == "UnknownComm"


@each_protocol
async def test_kernel_restart_closes_comms_and_keeps_targets(
    protocol, bridge, echo_kernel, page, kernel_id, jp_fetch
):
    first_page = await echo_kernel()
    client = await bridge(protocol)
    await client.register("t")
    comm_id = await client.open_comm("echo")
    await first_page.execute("from comm import create_comm\nk = create_comm(target_name='t')")
    kernel_comm = (await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open"))[
        "content"
    ]["comm_id"]
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    for closed_id in (comm_id, kernel_comm):
        closed = await client.next_on_comm(closed_id, "comm_close")
        assert closed["metadata"]["reason"] == "the kernel restarted"
    assert not client.closed.done()
    from support.snippets import ECHO_TARGET

    # a new page connection: the server nudges it until the new process's iopub is live
    fresh_page = await page()
    await fresh_page.execute(
        ECHO_TARGET + "\nfrom comm import create_comm\nk = create_comm(target_name='t')"
    )
    reopened = await client.wait_for(
        lambda m: m["header"]["msg_type"] == "comm_open" and m["content"]["comm_id"] != kernel_comm
    )
    assert reopened["content"]["target_name"] == "t"
    fresh = await client.open_comm("echo")
    await client.comm_msg(fresh, "new process")
    assert (await client.next_on_comm(fresh))["content"]["data"] == "new process"


async def test_the_server_notices_a_dead_client_within_seconds(
    jp_http_port, jp_base_url, jp_serverapp, kernel_id
):
    token = jp_serverapp.identity_provider.token
    sid = uuid.uuid4().hex
    raw = await RawClient.connect(
        jp_http_port,
        f"{jp_base_url}comm-bridge/kernels/{kernel_id}/channels?session_id={sid}&resumable=1",
        token,
    )
    relay = relay_of(jp_serverapp, kernel_id)
    await until(lambda: sid in relay.clients and relay.clients.clients[sid].socket is not None)
    started = asyncio.get_running_loop().time()
    await until(lambda: relay.clients.clients[sid].socket is None, timeout=10)  # no pong: closed
    assert asyncio.get_running_loop().time() - started < 4
    raw.close()


async def test_a_stall_of_the_servers_own_costs_no_client_its_connection(
    bridge, echo_kernel, jp_serverapp, kernel_id
):
    await echo_kernel()
    client = await bridge()
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, "before")
    await client.next_on_comm(comm_id)
    socket = relay_of(jp_serverapp, kernel_id).clients.clients[client.session.session].socket
    time.sleep(2.5)  # the server's event loop blocked past ping_timeout (1.5 s): every pong late
    stalled = socket.last_ping
    await until(lambda: socket.last_ping > stalled)  # pinged after the stall...
    again = socket.last_ping
    await until(lambda: socket.last_ping > again)  # ...and checked its pong at the next ping
    assert not client.closed.done(), client.closed.result()
    seen = len(client.messages)
    await client.comm_msg(comm_id, "after")
    assert (await client.next_on_comm(comm_id, start=seen))["content"]["data"] == "after"


@pytest.mark.parametrize("resumable", ["0", "1"])
async def test_a_client_that_stops_reading_is_closed_and_others_carry_on(
    resumable, bridge, echo_kernel, jp_http_port, jp_base_url, jp_serverapp, kernel_id
):
    page = await echo_kernel()
    token = jp_serverapp.identity_provider.token
    sid = uuid.uuid4().hex
    raw = await RawClient.connect(
        jp_http_port,
        f"{jp_base_url}comm-bridge/kernels/{kernel_id}/channels"
        f"?session_id={sid}&resumable={resumable}",
        token,
    )
    slow_comm = uuid.uuid4().hex
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": "comm_open",
        "session": sid,
        "username": "",
        "version": "5.3",
        "date": "",
    }
    raw.send_json(
        {
            "channel": "shell",
            "header": header,
            "parent_header": {},
            "metadata": {},
            "content": {"comm_id": slow_comm, "target_name": "echo", "data": {}},
        }
    )
    await page.eventually(f"{slow_comm!r} in comms")
    other = await bridge()
    fast_comm = await other.open_comm("echo")
    # 300 x 64 KiB for the client that does not read: far over max_queued_bytes (2 MiB)
    await page.execute(f"for i in range(300): comms[{slow_comm!r}].send(i, buffers=[bytes(65536)])")
    for i in range(20):
        await other.comm_msg(fast_comm, i)
        await other.wait_for(lambda m: m["content"].get("data") == i, timeout=5)
    relay = relay_of(jp_serverapp, kernel_id)
    await until(lambda: sid not in relay.clients)
    assert await page.eventually(f"['close', {slow_comm!r}] in received")
    raw.close()


async def test_oversized_frames_get_an_error_then_a_close(bridge, echo_kernel):
    await echo_kernel()
    client = await bridge()
    comm_id = await client.open_comm("echo")
    err = await client.error_for(
        await client.comm_msg(comm_id, "big", buffers=[bytes(1536 * 1024)])
    )
    assert err["content"]["ename"] == "MessageTooBig"
    assert "1048576 byte limit" in err["content"]["evalue"]
    await client.comm_msg(comm_id, "small")
    assert (await client.next_on_comm(comm_id))["content"]["data"] == "small"
    await client.comm_msg(comm_id, "huge", buffers=[bytes(3 * 1024 * 1024)])
    code, reason = await asyncio.wait_for(client.closed, 10)
    assert code == 1009


async def test_a_flood_is_refused_with_a_clear_error_and_others_carry_on(bridge, echo_kernel):
    page = await echo_kernel()
    flooder, other = await bridge(), await bridge()
    flood_comm = await flooder.open_comm("echo")
    other_comm = await other.open_comm("echo")
    await asyncio.gather(*(flooder.comm_msg(flood_comm, i) for i in range(1000)))
    err = await flooder.wait_for(lambda m: m["header"]["msg_type"] == "bridge_error")
    assert err["content"]["ename"] == "RateLimited"
    assert "200 messages a second" in err["content"]["evalue"]
    await other.comm_msg(other_comm, "unharmed")
    assert (await other.next_on_comm(other_comm))["content"]["data"] == "unharmed"
    await flooder.comm_msg(flood_comm, "later")
    await flooder.wait_for(lambda m: m["content"].get("data") == "later")
    got = [r for r in await page.evaluate("received") if r[0] == "msg" and r[1] == flood_comm]
    assert 100 <= len(got) < 1000
    numbers = [r[2] for r in got if isinstance(r[2], int)]
    assert numbers == sorted(numbers)  # what went through went in order


async def test_kernel_shutdown_ends_sessions_with_a_reason(
    bridge, kernel_id, jp_fetch, jp_serverapp
):
    client = await bridge()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    code, reason = await asyncio.wait_for(client.closed, 10)
    assert code == 4004 and "shut down" in reason
    with pytest.raises(HTTPClientError) as info:
        await bridge(session_id=client.session.session, params={"resume": "0"})
    assert info.value.code == 404


def test_configuration_is_documented():
    from jupyter_comm_bridge.app import CommBridgeApp

    page = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    for name, trait in CommBridgeApp.class_own_traits(config=True).items():
        assert trait.help, name
        assert f"\n| `{name}` |" in page, f"{name} is not in docs/configuration.md's table"
