"""Fuzzing: frame parsers, the relay's handling of client frames, and the comm table.

Random and mutated frames never raise out of the parsers (except the clear
MalformedMessage) nor out of the relay; only comm messages ever reach the kernel.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import (
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)

from jupyter_comm_bridge.relay.comms import CommTable
from jupyter_comm_bridge.relay.relay import KernelRelay
from jupyter_comm_bridge.wire.decode import decode_frame
from jupyter_comm_bridge.wire.message import MalformedMessage, WireMessage
from jupyter_comm_bridge.wire.protocol import FORWARDED_TYPES, LEGACY_PROTOCOL, V1_PROTOCOL

PACK = Session().pack
UNPACK = Session().unpack
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
msg_types = st.sampled_from(
    [
        "comm_open",
        "comm_msg",
        "comm_close",
        "comm_info_request",
        "execute_request",
        "shutdown_request",
        "register_target_request",
        "bridge_ack",
        "x",
    ]
)


@st.composite
def messages(draw: Any) -> dict[str, Any]:
    header = {"msg_id": draw(st.text(min_size=1, max_size=6)), "msg_type": draw(msg_types)}
    content = draw(
        st.dictionaries(
            st.sampled_from(["comm_id", "target_name", "data", "received"]),
            json_values | st.text(max_size=4),
            max_size=4,
        )
    )
    return {
        "channel": draw(st.sampled_from(["shell", "control", "stdin", "iopub", "bridge", "x"])),
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "buffers": draw(st.lists(st.binary(max_size=16), max_size=2)),
    }


def encode(msg: dict[str, Any], protocol: str) -> bytes | str:
    if protocol == V1_PROTOCOL:
        parts = [PACK(msg[k]) for k in ("header", "parent_header", "metadata", "content")]
        return serialize_msg_to_ws_v1(parts + msg["buffers"], msg["channel"])
    if msg["buffers"]:
        return serialize_binary_message(msg)
    return json.dumps({k: v for k, v in msg.items() if k != "buffers"})


@st.composite
def mutated_frames(draw: Any) -> tuple[str, bytes | str]:
    protocol = draw(st.sampled_from([V1_PROTOCOL, LEGACY_PROTOCOL]))
    frame = encode(draw(messages()), protocol)
    data = bytearray(frame.encode() if isinstance(frame, str) else frame)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "offset", "insert"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif len(data) >= 16:
            # rewrite a number in the offset table
            width, fmt = (8, "<Q") if protocol == V1_PROTOCOL else (4, "!I")
            slot = draw(st.integers(0, min(5, len(data) // width - 1)))
            value = draw(st.sampled_from([0, 1, 2**31, 2**32 - 1, len(data), len(data) + 1]))
            data[slot * width : (slot + 1) * width] = struct.pack(fmt, value % (256**width))
    as_text = isinstance(frame, str) and draw(st.booleans())
    return protocol, data.decode("utf8", "replace") if as_text else bytes(data)


def parse(protocol: str, frame: bytes | str) -> WireMessage | None:
    try:
        return decode_frame(frame, protocol, PACK, UNPACK)
    except MalformedMessage as e:
        assert str(e)  # a reason the client can read
        return None


@FUZZ
@given(
    st.sampled_from([V1_PROTOCOL, LEGACY_PROTOCOL]), st.binary(max_size=200) | st.text(max_size=200)
)
def test_random_frames_never_raise_anything_but_malformed(protocol, frame):
    parse(protocol, frame)


@FUZZ
@given(mutated_frames())
def test_mutated_frames_never_raise_anything_but_malformed(case):
    parse(*case)


BIG_INTEGERS = {
    "channel": "shell",
    "header": {"msg_id": "0", "msg_type": "comm_open"},
    "parent_header": {},
    "metadata": {},
    "content": {"data": [-(2**63) - 1, 2**64, 10**30]},
    "buffers": [],
}


@FUZZ
@given(messages(), st.sampled_from([V1_PROTOCOL, LEGACY_PROTOCOL]))
@example(BIG_INTEGERS, V1_PROTOCOL)
@example(BIG_INTEGERS, LEGACY_PROTOCOL)
def test_valid_frames_round_trip(msg, protocol):
    parsed = parse(protocol, encode(msg, protocol))
    if not msg["header"]["msg_id"] or not msg["header"]["msg_type"]:
        return
    assert parsed is not None
    assert parsed.channel == msg["channel"]
    assert parsed.header == msg["header"]
    # What the kernel gets, read losslessly: integers past 64 bits stay exact (the server's
    # Session reads them as floats, with orjson, but the bridge forwards the parts it got).
    assert json.loads(parsed.parts[3]) == msg["content"]
    assert [bytes(b) for b in parsed.buffers] == msg["buffers"]


# --- the relay, with a fake kernel connection ---------------------------------


class FakeKernelManager:
    kernel_id = "k"

    def __init__(self) -> None:
        self.session = Session(key=b"secret")

    def add_restart_callback(self, *args: Any) -> None: ...

    def remove_restart_callback(self, *args: Any) -> None: ...


class FakeUpstream:
    kernel_info: dict[str, Any] = {}

    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []

    async def connect(self, timeout: float) -> None: ...

    def note_sent(self, msg_id: str) -> None: ...

    def send_raw(self, channel: str, parts: list[bytes]) -> None:
        assert channel == "shell"
        self.sent.append(parts)

    def send_new(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        self.sent.append([PACK({"msg_type": msg_type}), b"{}", b"{}", PACK(content)])
        return "x"

    def close(self) -> None: ...


class FakeSocket:
    resumable = True
    unflushed_bytes = 0
    buffer_frames = False

    def __init__(self, session_id: str, protocol: str) -> None:
        self.session_id = session_id
        self.protocol = protocol
        self.frames: list[Any] = []
        self.closed: tuple[int, str] | None = None

    def write_frame(self, frame: Any, binary: bool) -> None:
        self.frames.append(frame)

    def close_bridge(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class Settings:
    claim_window = 1.0
    pending_limit = 1 << 20
    connect_timeout = 1.0
    max_message_size = 1 << 20
    reconnect_window = 1.0
    max_queued_bytes = 1 << 30
    heartbeat_interval = 1.0
    rate_limit = 0.0
    rate_burst = 1
    comm_subshells = "off"
    widgets_enabled = False


@pytest.fixture
def relay_and_sockets():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    relay = KernelRelay(
        "k", FakeKernelManager(), Settings(), lambda: [], _quiet_log(), lambda: None
    )
    upstream = FakeUpstream()
    relay.link.make_upstream = lambda: upstream
    sockets = [FakeSocket("a", V1_PROTOCOL), FakeSocket("b", LEGACY_PROTOCOL)]
    for socket in sockets:
        loop.run_until_complete(relay.attach(socket, None))
    yield relay, sockets
    relay.close("test over")
    loop.close()
    asyncio.set_event_loop(None)


def _quiet_log() -> Any:
    import logging

    log = logging.getLogger("comm-bridge-fuzz")
    log.setLevel(logging.CRITICAL)
    return log


@settings(FUZZ, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(mutated_frames() | st.tuples(st.just(None), messages()), min_size=1, max_size=12))
def test_relay_survives_any_frames_and_forwards_only_comm_messages(relay_and_sockets, frames):
    # one relay for all examples: its state (comms, targets) grows as a long session would
    relay, sockets = relay_and_sockets
    for case in frames:
        protocol, frame = case
        for socket in sockets:
            data = encode(frame, socket.protocol) if protocol is None else frame
            before = len(socket.frames)
            relay.handle_frame(socket, data)  # must not raise
            assert socket.closed is None
            assert len(socket.frames) >= before
    for parts in relay.link.upstream.sent:
        msg_type = UNPACK(parts[0])["msg_type"]
        assert msg_type in FORWARDED_TYPES, msg_type


# --- the comm table: a state machine -------------------------------------------

clients = st.sampled_from(["a", "b", "c"])
targets = st.sampled_from(["t1", "t2"])
comm_ids = st.sampled_from(["c1", "c2", "c3", "c4"])


def kernel_msg(msg_type: str, comm_id: str) -> WireMessage:
    return WireMessage("iopub", [b"{}"] * 4, {"msg_type": msg_type, "msg_id": "m"})


class CommTableMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.table = CommTable(pending_limit=1000)
        self.opened_by: dict[str, str] = {}  # client-opened comms, as the model knows them

    @rule(client=clients, tname=targets)
    def register(self, client, tname):
        self.table.register(client, tname)

    @rule(client=clients, tname=targets)
    def unregister(self, client, tname):
        self.table.unregister(client, tname)

    @rule(client=clients, comm_id=comm_ids, tname=targets)
    def client_opens(self, client, comm_id, tname):
        if self.table.client_opens(client, comm_id, tname):
            self.opened_by[comm_id] = client

    @rule(client=clients, comm_id=comm_ids)
    def client_closes(self, client, comm_id):
        if self.table.may_use(client, comm_id):
            self.table.client_closes(client, comm_id)
            self.opened_by.pop(comm_id, None)

    @rule(comm_id=comm_ids, tname=targets)
    def kernel_opens(self, comm_id, tname):
        if comm_id in self.opened_by:
            return  # ids are unique per kernel
        got = self.table.route_kernel_message(
            kernel_msg("comm_open", comm_id), comm_id, tname, 0.0, 1.0
        )
        assert got == self.table.targets.get(tname, set())

    @rule(comm_id=comm_ids, msg_type=st.sampled_from(["comm_msg", "comm_close"]))
    def kernel_sends(self, comm_id, msg_type):
        record = self.table.comms.get(comm_id)
        got = self.table.route_kernel_message(
            kernel_msg(msg_type, comm_id), comm_id, None, 0.0, 1.0
        )
        assert got == (set(record.clients) if record else set())
        if msg_type == "comm_close":
            self.opened_by.pop(comm_id, None)

    @rule(client=clients)
    def client_leaves(self, client):
        self.table.forget_client(client)
        self.opened_by = {c: o for c, o in self.opened_by.items() if o != client}

    @invariant()
    def records_are_sound(self):
        for comm_id, record in self.table.comms.items():
            assert record.clients, comm_id
            if record.opened_by is not None:
                # a page-opened comm is its opener's alone
                assert record.clients == {record.opened_by}
                assert self.opened_by.get(comm_id) == record.opened_by
        for comm_id, client in self.opened_by.items():
            assert self.table.may_use(client, comm_id)
            for other in {"a", "b", "c"} - {client}:
                assert not self.table.may_use(other, comm_id)


TestCommTable = CommTableMachine.TestCase
TestCommTable.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
