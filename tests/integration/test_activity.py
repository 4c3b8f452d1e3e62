"""The kernel activity the server records (``last_activity``, ``execution_state``) once the
bridge is in use on a kernel: ``ActivityRecord`` reads it from the header frames
alone, and must record exactly what jupyter_server's own callback does, message by message,
on every jupyter_server the tests run on (the oldest too: ``server_internals``)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_comm_bridge.internals.activity import ActivityRecord

from support.kernelws import until

pytestmark = pytest.mark.server_internals

LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)
MSG_TYPES = ("status", "comm_msg", "stream", "execute_input", "kernel_info_reply")
PARENT_TYPES = ("execute_request", "comm_msg", "kernel_info_request", "comm_info_request", None)
STATES_BEFORE = ("starting", "idle", "busy")


@pytest.fixture
def jp_server_config():
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}}})


def iopub_message(session: Any, msg_type: str, parent_type: str | None, state: str) -> list[bytes]:
    """A signed iopub message as the kernel sends it (topic, delimiter, frames)."""
    parent = session.msg_header(parent_type) if parent_type else {}
    content = {"execution_state": state} if msg_type == "status" else {"data": {}}
    msg = session.msg(msg_type, content, parent=parent)
    return [bytes(p) for p in session.serialize(msg, ident=f"kernel.{msg_type}".encode())]


def outcome(manager: Any, kernel: Any, record: Any, parts: list[bytes], before: str) -> Any:
    """What ``record`` leaves: the state, and whether it counted as activity."""
    kernel.execution_state = before
    kernel.last_activity = manager.last_kernel_activity = LONG_AGO
    record(parts)
    return kernel.execution_state, kernel.last_activity, manager.last_kernel_activity


async def test_activity_is_recorded_as_jupyter_server_records_it(bridge, kernel_id, jp_serverapp):
    await bridge()  # the bridge in use: the activity stream now goes through ActivityRecord
    manager = jp_serverapp.kernel_manager
    kernel = manager.get_kernel(kernel_id)
    original = kernel._activity_stream._recv_callback.original
    ours = ActivityRecord(manager, kernel)
    cases = itertools.product(MSG_TYPES, PARENT_TYPES, STATES_BEFORE, ("busy", "idle", "starting"))
    for msg_type, parent_type, before, state in cases:
        if msg_type != "status" and state != "busy":
            continue
        # each message once per callback: jupyter_server's refuses a replayed signature
        message = iopub_message(kernel.session, msg_type, parent_type, state)
        theirs = outcome(manager, kernel, original, message, before)
        recorded: list[bool] = []
        mine = outcome(
            manager,
            kernel,
            lambda parts: recorded.append(ours.record(parts)),
            iopub_message(kernel.session, msg_type, parent_type, state),
            before,
        )
        case = (msg_type, parent_type, before, state)
        assert recorded == [True], case
        assert mine[0] == theirs[0], case
        assert (mine[1] != LONG_AGO, mine[2] != LONG_AGO) == (
            theirs[1] != LONG_AGO,
            theirs[2] != LONG_AGO,
        ), case


async def test_a_message_not_signed_with_the_kernel_key_is_left_to_jupyter_server(
    bridge, kernel_id, jp_serverapp
):
    await bridge()
    manager = jp_serverapp.kernel_manager
    kernel = manager.get_kernel(kernel_id)
    parts = iopub_message(kernel.session, "status", "execute_request", "busy")
    forged = [*parts[:2], b"0" * len(parts[2]), *parts[3:]]
    assert not ActivityRecord(manager, kernel).record(forged)
    assert not ActivityRecord(manager, kernel).record([b"kernel.status", b"junk"])


async def test_the_kernel_model_follows_bridge_traffic(
    bridge, echo_kernel, kernel_id, jp_serverapp, jp_fetch
):
    """A comm echo through the bridge is activity, and the kernel is idle after it."""
    await echo_kernel("v1")
    client = await bridge()
    kernel = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    comm_id = await client.open_comm("echo")
    await until(lambda: kernel.execution_state == "idle")
    before = kernel.last_activity
    await client.comm_msg(comm_id, {"n": 1})
    await client.next_on_comm(comm_id)
    await until(lambda: kernel.execution_state == "idle" and kernel.last_activity > before)
    model = json.loads((await jp_fetch("api", "kernels", kernel_id)).body)
    assert model["execution_state"] == "idle"
    assert model["last_activity"] > before.isoformat().replace("+00:00", "Z")[:19]
