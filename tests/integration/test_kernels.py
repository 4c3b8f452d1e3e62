"""The bridge with real non-Python kernels: IRkernel, xeus-python, Calysto Scheme, Deno, bash.

Each test starts the kernel through the in-process server (``POST api/kernels``),
runs kernel-side code (tests/support/kernel_snippets.py) through a JupyterLab-like
``Page`` on ``api/kernels/{id}/channels``, and talks to the kernel through a
``Bridge`` client of ``comm-bridge/kernels/{id}/channels``. ``scripts/install-kernels``
installs the kernels (``scripts/test`` runs it); a kernel that is not installed fails its tests.

What each kernel does with comms (see the kernel quirks in docs/deployment.md) is asserted
as observed, so a change in a kernel shows up here too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_core.paths import jupyter_path
from traitlets.config import Config

from support import kernel_snippets as ks
from support.kernelws import PROTOCOLS, TIMEOUT, Bridge, Msg, Page

#: The installed kernelspecs, found before pytest-jupyter's ``jp_environ`` points
#: jupyter_core's system and sys-prefix paths at empty temporary directories.
INSTALLED: dict[str, str] = {}
for _dir in reversed(jupyter_path("kernels")):  # the first directory of a name wins
    if os.path.isdir(_dir):
        for _name in os.listdir(_dir):
            if os.path.isfile(os.path.join(_dir, _name, "kernel.json")):
                INSTALLED[_name] = os.path.join(_dir, _name)
#: The kernels these tests run.
KERNELS = ("ir", "xpython", "xpython-raw", "calysto_scheme", "deno", "bash")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Kernels start in one to three seconds here: a generous bound for a loaded machine.
START_TIMEOUT = 60.0

each_protocol = pytest.mark.parametrize("protocol", PROTOCOLS)


@pytest.fixture
def jp_server_config(jp_data_dir: Path) -> Config:
    # the installed kernelspecs, in jp_environ's (temporary) user data directory
    kernels = jp_data_dir / "kernels"
    kernels.mkdir(exist_ok=True)
    for name in KERNELS:
        if name in INSTALLED and not (kernels / name).exists():
            (kernels / name).symlink_to(INSTALLED[name])
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}}})


class KernelPage(Page):
    """A page that copes with xeus kernels' ``iopub_welcome``, whose parent_header is null.

    xeus (JEP 65) publishes it to every iopub subscriber when one subscribes: the
    page gets one when the relay's own iopub connects. (JupyterLab checks for a
    null parent_header; ``Page.execute`` does not.)
    """

    def __init__(self, *args: Any) -> None:
        #: msg_types of the messages that came with a null parent_header
        self.null_parents: list[str] = []
        super().__init__(*args)

    def on_message(self, msg: Msg) -> None:
        if msg["parent_header"] is None:
            self.null_parents.append(msg["header"]["msg_type"])
            msg["parent_header"] = {}
        super().on_message(msg)


class Kernel:
    """A kernel started through the server, with the page that runs its cells."""

    def __init__(self, kernel_id: str, page: KernelPage, ws_fetch: Any) -> None:
        self.id = kernel_id
        self.page = page
        self.ws_fetch = ws_fetch

    async def bridge(self, protocol: str = "v1") -> Bridge:
        path = ("comm-bridge", "kernels", self.id, "channels")
        return await Bridge.connect(self.ws_fetch, *path, protocol=protocol)

    async def run(self, code: str, timeout: float = TIMEOUT) -> list[Msg]:
        return await self.page.execute(code, timeout=timeout)

    async def stdout(self, code: str) -> str:
        outputs = await self.run(code)
        return "".join(
            m["content"]["text"]
            for m in outputs
            if m["header"]["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )

    async def json(self, code: str) -> Any:
        """The JSON that ``code`` prints (see kernel_snippets: r_json, py_json)."""
        return json.loads(await self.stdout(code))

    async def eventually(
        self, code: str, pred: Callable[[Any], bool], timeout: float = TIMEOUT
    ) -> Any:
        """Run ``code`` (printing JSON) until ``pred`` holds for its value (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not pred(value := await self.json(code)):
            if loop.time() > deadline:
                raise AssertionError(f"{code!r} still gives {value!r} after {timeout}s")
            await asyncio.sleep(0.05)  # polling the kernel: give it room to work
        return value


@pytest.fixture
def kernel(jp_fetch: Any, jp_ws_fetch: Any) -> Callable[..., Awaitable[Kernel]]:
    """Start a kernel by kernelspec name: ``await kernel("ir")``."""

    async def start(name: str, protocol: str = "v1") -> Kernel:
        assert name in INSTALLED, f"kernel {name!r} is not installed: run scripts/install-kernels"
        body = json.dumps({"name": name})
        r = await asyncio.wait_for(
            jp_fetch("api", "kernels", method="POST", body=body), START_TIMEOUT
        )
        kernel_id = json.loads(r.body)["id"]
        path = ("api", "kernels", kernel_id, "channels")
        page = await KernelPage.connect(jp_ws_fetch, *path, protocol=protocol)
        # ready when it answers (the server nudges it until its iopub is live)
        info = await page.send("kernel_info_request", {})
        await page.wait_for(
            lambda m: (
                m["channel"] == "shell"
                and m["parent_header"].get("msg_id") == info["header"]["msg_id"]
            ),
            timeout=START_TIMEOUT,
        )
        return Kernel(kernel_id, page, jp_ws_fetch)

    return start


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def bridge_errors(jp_serverapp: Any) -> Iterator[Callable[[], list[str]]]:
    """The errors (and tracebacks) the server and the bridge logged so far."""
    handler = Records()
    loggers = {jp_serverapp.log, jp_serverapp.web_app.settings["jupyter_comm_bridge"].log}
    for logger in loggers:
        logger.addHandler(handler)

    def errors() -> list[str]:
        return [
            f"{r.name}: {handler.format(r)}"  # with the traceback, if any
            for r in handler.records
            if r.levelno >= logging.ERROR or r.exc_info
        ]

    yield errors
    for logger in loggers:
        logger.removeHandler(handler)


def comm_traffic(client: Bridge, comm_id: str) -> list[tuple[str, str, Any, int]]:
    """What a client got on a comm: (channel, msg_type, data, number of buffers)."""
    return [
        (m["channel"], m["header"]["msg_type"], m["content"].get("data"), len(m["buffers"]))
        for m in client.of_comm(comm_id)
    ]


def kernel_messages(client: Bridge) -> list[Msg]:
    return [m for m in client.messages if m["channel"] != "bridge"]


# ============================================================================================
# IRkernel
# ============================================================================================


@each_protocol
async def test_ir_page_opened_comm_echo(protocol, kernel, bridge_errors):
    k = await kernel("ir")
    await k.run(ks.R_ECHO_TARGET)
    client = await k.bridge(protocol)
    comm_id = await client.open_comm("echo", {"foo": 6})
    await client.comm_msg(comm_id, {"foo": 7, "s": "é✓"})
    echo = await client.next_on_comm(comm_id)
    assert echo["channel"] == "iopub"
    assert echo["content"]["data"] == {"foo": 7, "s": "é✓"}
    # IRkernel's extra content fields reach the client as they are
    assert echo["content"]["target_name"] == "echo"
    assert echo["content"]["metadata"] == []
    await client.send("comm_close", {"comm_id": comm_id, "data": {}})
    got = await k.eventually(ks.r_json("received"), lambda r: len(r) == 3)
    assert got == [
        ["open", comm_id, {"foo": 6}],
        ["msg", comm_id, {"foo": 7, "s": "é✓"}],
        ["close", comm_id],
    ]
    assert kernel_messages(client) == [echo]
    assert bridge_errors() == []


@each_protocol
async def test_ir_kernel_opened_comm(protocol, kernel, bridge_errors):
    k = await kernel("ir", protocol)
    await k.run(ks.R_ECHO_TARGET)
    client = await k.bridge(protocol)
    await client.register("from_r")
    await k.run(ks.R_KERNEL_OPENS.format(target="from_r"))
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    assert opened["content"]["target_name"] == "from_r"
    assert opened["content"]["data"] == {"foo": 1}
    comm_id = opened["content"]["comm_id"]
    assert comm_id == await k.json(ks.r_json("opened$id"))
    # IRkernel's quirks reach the client as they are: what R sends outside a comm
    # handler has no parent, hence header.session and header.username {} (objects),
    # and its content has extra fields
    assert (opened["header"]["session"], opened["header"]["username"]) == ({}, {})
    assert opened["parent_header"] == {}
    assert opened["content"]["metadata"] == []
    sent = await client.next_on_comm(comm_id)
    assert sent["content"]["data"] == {"foo": 2}
    await client.comm_msg(comm_id, {"answer": 42})
    reply = await client.wait_for(lambda m: m["content"].get("data") == {"got": {"answer": 42}})
    assert reply["content"]["comm_id"] == comm_id
    assert await k.json(ks.r_json("received")) == [["reply", comm_id, {"answer": 42}]]
    # the page never saw the comm (so it did not close it)
    assert k.page.of_comm(comm_id) == []
    assert bridge_errors() == []


async def test_ir_kernel_opens_before_the_target_is_registered(kernel, bridge_errors):
    """The page closes the comm at once; the bridge holds that back until the client claims it."""
    k = await kernel("ir")
    await k.run(ks.R_ECHO_TARGET)
    client = await k.bridge()  # the bridge is in use on this kernel
    await k.run(ks.R_KERNEL_OPENS.format(target="late"))
    page_open = await k.page.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    comm_id = page_open["content"]["comm_id"]
    await client.register("late")
    opened = await client.next_on_comm(comm_id, "comm_open")
    assert opened["content"]["data"] == {"foo": 1}
    assert (await client.next_on_comm(comm_id))["content"]["data"] == {"foo": 2}
    await client.comm_msg(comm_id, "claimed")
    await client.wait_for(lambda m: m["content"].get("data") == {"got": "claimed"})
    assert await k.json(ks.r_json("received")) == [["reply", comm_id, "claimed"]]
    assert bridge_errors() == []


async def test_ir_closes_a_comm_of_an_unknown_target(kernel, bridge_errors):
    k = await kernel("ir")
    client = await k.bridge()
    comm_id = await client.open_comm("nobody", {"foo": 1})
    closed = await client.next_on_comm(comm_id, "comm_close")
    assert closed["channel"] == "iopub"
    err = await client.error_for(await client.comm_msg(comm_id, "too late"))
    assert err["content"]["ename"] == "UnknownComm"
    # A client's close that crossed the kernel's is no error: the comm is closed, as asked.
    close = (await client.send("comm_close", {"comm_id": comm_id, "data": {}}))["header"]
    marker = await client.request("comm_info_request", {})
    assert marker["header"]["msg_type"] == "comm_info_reply"
    assert [m for m in client.messages if m["parent_header"].get("msg_id") == close["msg_id"]] == []
    assert bridge_errors() == []


async def test_ir_restart_closes_the_comms(kernel, jp_fetch, bridge_errors):
    k = await kernel("ir")
    await k.run(ks.R_ECHO_TARGET)
    client = await k.bridge()
    comm_id = await client.open_comm("echo")
    await client.comm_msg(comm_id, "before")
    await client.next_on_comm(comm_id)
    await asyncio.wait_for(
        jp_fetch("api", "kernels", k.id, "restart", method="POST", body=""), START_TIMEOUT
    )
    closed = await client.next_on_comm(comm_id, "comm_close")
    assert closed["metadata"]["reason"] == "the kernel restarted"
    # at once, while the bridge connects to the new process: not refused, and R answers
    # it (a comm of a target R does not know: it closes it)
    early = await client.open_comm("echo")
    assert (await client.next_on_comm(early, "comm_close"))["channel"] == "iopub"
    assert [m for m in client.messages if m["header"]["msg_type"] == "bridge_error"] == []
    # the same client carries on with the new R process
    await k.run(ks.R_ECHO_TARGET)
    again = await client.open_comm("echo")
    await client.comm_msg(again, "after")
    assert (await client.next_on_comm(again))["content"]["data"] == "after"
    assert bridge_errors() == []


# What IRkernel's JSON round trip (jsonlite::fromJSON, then toJSON(auto_unbox = TRUE))
# does to values: the left ones come back as sent, the right ones as shown.
R_SURVIVES = [
    0,
    "",
    False,
    True,
    'é✓ "quoted" \\ \n',
    -2,
    1.5,
    {},
    [],
    [1, 2, 3],
    ["a", "b"],
    [[1, 2], [3, 4]],
    {"a": {"b": {"c": [1, 2]}}, "d": "x"},
    [{"a": 1}, {"a": 2}],
]
R_CHANGES = [
    (None, {}),  # NULL is written as {}
    ([1], 1),  # a one-element vector is unboxed
    ({"a": None}, {"a": {}}),
    ([0, {"b": None}], [0, {"b": {}}]),
    ([True, None], [True, None]),
    (3.141592653589793, 3.1416),  # toJSON's default: 4 digits
]


async def test_ir_json_round_trip_of_nested_values(kernel, bridge_errors):
    k = await kernel("ir")
    await k.run(ks.R_ECHO_TARGET)
    client = await k.bridge()
    comm_id = await client.open_comm("echo")
    sent = R_SURVIVES + [before for before, _ in R_CHANGES]
    for value in sent:
        await client.comm_msg(comm_id, {"v": value})
    await client.wait_for(
        lambda m: (
            len([x for x in client.of_comm(comm_id) if x["header"]["msg_type"] == "comm_msg"])
            == len(sent)
        )
    )
    echoes = [m["content"]["data"] for m in client.of_comm(comm_id)]
    assert echoes == [{"v": v} for v in R_SURVIVES] + [{"v": after} for _, after in R_CHANGES]
    assert bridge_errors() == []


@each_protocol
async def test_ir_drops_buffers(protocol, kernel, bridge_errors):
    """IRkernel drops buffers: the echo comes back without them, the data intact."""
    k = await kernel("ir")
    await k.run(ks.R_ECHO_TARGET)
    client = await k.bridge(protocol)
    comm_id = await client.open_comm("echo", {"n": 0}, buffers=[b"on open"])
    await client.comm_msg(comm_id, {"n": 1}, buffers=[b"\x00\x01\x02", os.urandom(1000)])
    echo = await client.next_on_comm(comm_id)
    assert echo["content"]["data"] == {"n": 1}
    assert echo["buffers"] == []
    got = await k.json(ks.r_json("received"))
    assert got == [["open", comm_id, {"n": 0}], ["msg", comm_id, {"n": 1}]]
    assert bridge_errors() == []


async def test_ir_comm_info_lists_only_the_clients_comms(kernel, bridge_errors):
    """IRkernel nests its comm_info_reply (``content.content.comms``)."""
    k = await kernel("ir")
    await k.run(ks.R_ECHO_TARGET)
    a, b = await k.bridge(), await k.bridge()
    comm_a = await a.open_comm("echo")
    comm_b = await b.open_comm("echo")
    await a.comm_msg(comm_a, "sync")
    await b.comm_msg(comm_b, "sync")
    await a.next_on_comm(comm_a)
    await b.next_on_comm(comm_b)
    reply_a = await a.request("comm_info_request", {})
    reply_b = await b.request("comm_info_request", {})
    assert reply_a["header"]["msg_type"] == "comm_info_reply"
    assert reply_a["content"]["status"] == "ok"
    # whatever the layout, b is never told about a's comm, nor a about b's
    assert comm_a not in json.dumps(reply_b["content"])
    assert comm_b not in json.dumps(reply_a["content"])
    assert reply_a["content"]["comms"] == {comm_a: {"target_name": "echo"}}
    assert reply_b["content"]["comms"] == {comm_b: {"target_name": "echo"}}
    by_target = await a.request("comm_info_request", {"target_name": "echo"})
    assert by_target["content"]["comms"] == {comm_a: {"target_name": "echo"}}
    assert bridge_errors() == []


# ============================================================================================
# xeus-python
# ============================================================================================

XPYTHON = ["xpython", "xpython-raw"]


@pytest.mark.parametrize("name", XPYTHON)
@each_protocol
async def test_xpython_kernel_opened_comm_with_buffers(name, protocol, kernel, bridge_errors):
    k = await kernel(name)
    client = await k.bridge(protocol)
    await client.register("from_x")
    await k.run(ks.XPYTHON_KERNEL_OPENS.format(target="from_x"))
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    comm_id = opened["content"]["comm_id"]
    assert opened["content"]["target_name"] == "from_x"
    assert opened["content"]["data"] == {"foo": 1}
    assert opened["buffers"] == [b"open", b""]
    sent = await client.next_on_comm(comm_id)
    assert sent["content"]["data"] == {"foo": 2}
    assert sent["buffers"] == [bytes(range(256)), b"\x00" * 3]
    blobs = [b"\x00\xffreply", os.urandom(5000)]
    await client.comm_msg(comm_id, {"answer": [0, "", None]}, buffers=blobs)
    reply = await client.wait_for(
        lambda m: m["content"].get("data") == {"got": {"answer": [0, "", None]}}
    )
    assert reply["content"]["comm_id"] == comm_id
    assert reply["buffers"] == blobs
    got = await k.json(ks.py_json("received"))
    assert got == [["reply", comm_id, {"answer": [0, "", None]}, [b.hex() for b in blobs]]]
    assert k.page.of_comm(comm_id) == []
    assert bridge_errors() == []


@pytest.mark.parametrize("name", XPYTHON)
async def test_xpython_page_opened_comm_is_broken_upstream(name, kernel, bridge_errors):
    """xeus-python never runs the target's callback for a comm a client opens."""
    k = await kernel(name)
    await k.run(ks.XPYTHON_ECHO_TARGET)
    client = await k.bridge()
    comm_id = await client.open_comm("echo", {"foo": 1})
    await client.comm_msg(comm_id, {"foo": 2})
    # comm_info is handled after the open and the message: a barrier on shell
    info = await client.request("comm_info_request", {})
    assert info["content"]["status"] == "ok"
    # a cell runs after them: the callback would have run by then
    assert await k.json(ks.py_json("received")) == []
    # the client hears nothing back on its comm
    assert comm_traffic(client, comm_id) == []
    assert bridge_errors() == []


@pytest.mark.parametrize("name", XPYTHON)
async def test_xpython_comm_info_lists_kernel_opened_comms(name, kernel, bridge_errors):
    k = await kernel(name)
    await k.run(ks.XPYTHON_ECHO_TARGET)
    client = await k.bridge()
    await client.register("from_x")
    await k.run(ks.XPYTHON_KERNEL_OPENS.format(target="from_x"))
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    mine = await client.open_comm("echo")
    info = await client.request("comm_info_request", {})
    # the page-opened comm is not known to xeus-python's comm manager
    assert info["content"]["comms"] == {
        opened["content"]["comm_id"]: {"target_name": "from_x"},
    }
    assert mine not in info["content"]["comms"]
    assert bridge_errors() == []


# ============================================================================================
# Calysto Scheme (metakernel), through %%python cells
# ============================================================================================


@each_protocol
async def test_scheme_page_opened_comm_echo_with_buffers(protocol, kernel, bridge_errors):
    k = await kernel("calysto_scheme")
    await k.run(ks.SCHEME_ECHO_TARGET)
    client = await k.bridge(protocol)
    comm_id = await client.open_comm("echo", {"foo": 6}, buffers=[b"open"])
    blobs = [os.urandom(3), b"", bytes(range(256)) * 400]
    await client.comm_msg(comm_id, {"foo": [0, "", False, None, {}]}, buffers=blobs)
    echo = await client.next_on_comm(comm_id)
    assert echo["content"]["data"] == {"foo": [0, "", False, None, {}]}
    assert echo["buffers"] == blobs
    assert await k.json(ks.scheme_py_json("received")) == [
        ["open", comm_id, {"foo": 6}, 1],
        ["msg", comm_id, {"foo": [0, "", False, None, {}]}, [len(b) for b in blobs]],
    ]
    await client.send("comm_close", {"comm_id": comm_id, "data": {}})
    await k.eventually(ks.scheme_py_json("received[-1]"), lambda r: r == ["close", comm_id])
    assert bridge_errors() == []


@each_protocol
async def test_scheme_kernel_opened_comm_with_buffers(protocol, kernel, bridge_errors):
    k = await kernel("calysto_scheme")
    await k.run(ks.SCHEME_ECHO_TARGET)
    client = await k.bridge(protocol)
    await client.register("from_scheme")
    await k.run(ks.SCHEME_KERNEL_OPENS.format(target="from_scheme"))
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    comm_id = opened["content"]["comm_id"]
    assert opened["content"]["data"] == {"foo": 1}
    assert opened["buffers"] == [b"open"]
    sent = await client.next_on_comm(comm_id)
    assert (sent["content"]["data"], sent["buffers"]) == ({"foo": 2}, [bytes(range(256))])
    await client.comm_msg(comm_id, "hello scheme", buffers=[b"\x01\x02"])
    reply = await client.wait_for(lambda m: m["content"].get("data") == {"got": "hello scheme"})
    assert reply["buffers"] == [b"\x01\x02"]
    assert await k.json(ks.scheme_py_json("received")) == [
        ["reply", comm_id, "hello scheme", ["0102"]]
    ]
    info = await client.request("comm_info_request", {})
    assert info["content"]["comms"] == {comm_id: {"target_name": "from_scheme"}}
    assert k.page.of_comm(comm_id) == []
    assert bridge_errors() == []


# ============================================================================================
# Deno
# ============================================================================================


@each_protocol
async def test_deno_kernel_opened_comm_with_buffers(protocol, kernel, bridge_errors):
    k = await kernel("deno")
    client = await k.bridge(protocol)
    await client.register("from_deno")
    await k.run(ks.deno_kernel_opens("from_deno"))
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    comm_id = opened["content"]["comm_id"]
    assert opened["content"]["target_name"] == "from_deno"
    assert opened["content"]["data"] == {"foo": 1}
    assert opened["buffers"] == [b"\x01\x02\x03"]
    sent = await client.next_on_comm(comm_id)
    assert sent["content"]["data"] == {"foo": 2, "nested": {"a": [0, "", False, None]}}
    assert sent["buffers"] == [bytes(range(256)), b""]
    assert k.page.of_comm(comm_id) == []
    # Deno cannot receive comm messages: the client's goes to the kernel, which ignores it
    await client.comm_msg(comm_id, {"ignored": True})
    await k.run(ks.DENO_KERNEL_CLOSES)
    closed = await client.next_on_comm(comm_id, "comm_close")
    assert closed["content"]["data"] == {"bye": True}
    assert [t for _, t, _, _ in comm_traffic(client, comm_id)] == [
        "comm_open",
        "comm_msg",
        "comm_close",
    ]
    assert kernel_messages(client) == client.of_comm(comm_id)  # nothing else came back
    # closed by the kernel: the comm is gone for the bridge too
    err = await client.error_for(await client.comm_msg(comm_id, "too late"))
    assert err["content"]["ename"] == "UnknownComm"
    assert bridge_errors() == []


async def test_deno_kernel_opens_before_the_target_is_registered(kernel, bridge_errors):
    k = await kernel("deno")
    client = await k.bridge()
    await k.run(ks.deno_kernel_opens("late"))
    page_open = await k.page.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    comm_id = page_open["content"]["comm_id"]
    await client.register("late")
    opened = await client.next_on_comm(comm_id, "comm_open")
    assert (opened["content"]["data"], opened["buffers"]) == ({"foo": 1}, [b"\x01\x02\x03"])
    sent = await client.next_on_comm(comm_id)
    assert sent["buffers"] == [bytes(range(256)), b""]
    await k.run(ks.DENO_KERNEL_CLOSES)
    assert (await client.next_on_comm(comm_id, "comm_close"))["content"]["data"] == {"bye": True}
    assert bridge_errors() == []


@each_protocol
async def test_deno_closes_a_client_comm_on_shell(protocol, kernel, bridge_errors):
    """Deno answers a client's comm_open with comm_close on the shell channel."""
    k = await kernel("deno")
    client, other = await k.bridge(protocol), await k.bridge(protocol)
    await other.register("anything")
    comm_id = await client.open_comm("anything", {"foo": 1})
    closed = await client.next_on_comm(comm_id, "comm_close")
    assert closed["channel"] == "shell"
    assert closed["content"]["comm_id"] == comm_id
    # the comm is closed for the bridge too: later messages on it are refused
    err = await client.error_for(await client.comm_msg(comm_id, "too late"))
    assert err["content"]["ename"] == "UnknownComm"
    # Deno's comm_info is always empty
    info = await client.request("comm_info_request", {})
    assert info["content"]["comms"] == {}
    assert all(m["content"].get("comm_id") != comm_id for m in other.messages)
    assert k.page.of_comm(comm_id) == []
    assert bridge_errors() == []


# ============================================================================================
# bash_kernel
# ============================================================================================


async def test_bash_comm_open_gets_no_answer(kernel, bridge_errors):
    k = await kernel("bash")
    client = await k.bridge()
    comm_id = await client.open_comm("anything", {"foo": 1})
    info = await client.request("comm_info_request", {})
    assert info["content"] == {"comms": {}, "status": "ok"}
    # the kernel still runs cells, and nothing came back on the comm
    assert (await k.stdout(ks.BASH_HELLO)).strip() == "hello"
    assert comm_traffic(client, comm_id) == []
    assert kernel_messages(client) == [info]
    assert bridge_errors() == []


# ============================================================================================
# examples/slider_r.ipynb
# ============================================================================================


def notebook_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "ir"
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


async def test_slider_r_example(kernel, bridge_errors):
    define, html, set_75, show = notebook_cells(EXAMPLES / "slider_r.ipynb")
    k = await kernel("ir")
    await k.run(define)
    outputs = await k.run(html)
    [display] = [m for m in outputs if m["header"]["msg_type"] == "display_data"]
    page_html = display["content"]["data"]["text/html"]
    assert 'pycomm.new_comm("slider")' in page_html
    assert "<script data-pycomm-bootstrap>" in page_html  # the bridge's bootstrap came with it

    a, b = await k.bridge(), await k.bridge("legacy")
    comm_a = await a.open_comm("slider")
    assert (await a.next_on_comm(comm_a))["content"]["data"] == {"value": 50}
    comm_b = await b.open_comm("slider")
    assert (await b.next_on_comm(comm_b))["content"]["data"] == {"value": 50}

    # dragging a: a gets an ack, b the new value
    start_a, start_b = len(a.messages), len(b.messages)
    await a.comm_msg(comm_a, {"value": 30})
    assert (await a.next_on_comm(comm_a, start=start_a))["content"]["data"] == {"ack": 30}
    assert (await b.next_on_comm(comm_b, start=start_b))["content"]["data"] == {"value": 30}

    # set_value(75) moves every slider
    start_a, start_b = len(a.messages), len(b.messages)
    await k.run(set_75)
    assert (await a.next_on_comm(comm_a, start=start_a))["content"]["data"] == {"value": 75}
    assert (await b.next_on_comm(comm_b, start=start_b))["content"]["data"] == {"value": 75}
    # IRkernel shows a cell's value as display_data
    [result] = [m for m in await k.run(show) if m["header"]["msg_type"] == "display_data"]
    assert result["content"]["data"]["text/plain"] == "[1] 75"

    # a closed slider is forgotten by the kernel
    await a.send("comm_close", {"comm_id": comm_a, "data": {}})
    await k.eventually(ks.r_json("I(names(sliders))"), lambda ids: ids == [comm_b])
    start_b = len(b.messages)
    await k.run("set_value(80)")
    assert (await b.next_on_comm(comm_b, start=start_b))["content"]["data"] == {"value": 80}
    assert bridge_errors() == []
