"""Websocket test clients: a bridge client, and a page that behaves like JupyterLab.

Both speak either kernel websocket protocol, read in a background task, and
keep every message they got, so tests wait for events instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)
from tornado.websocket import WebSocketClientConnection

V1 = "v1.kernel.websocket.jupyter.org"
CONTROL = ("bridge_hello", "bridge_ack")
PROTOCOLS = ["v1", "legacy"]
TIMEOUT = 20.0

Msg = dict[str, Any]


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a server-side condition that has no event to wait on (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


def encode(msg: Msg, protocol: str) -> str | bytes:
    """Encode a message dict (with channel and buffers) for the wire."""
    if protocol == "v1":
        session = Session()
        parts = [session.pack(msg[k]) for k in ("header", "parent_header", "metadata", "content")]
        return serialize_msg_to_ws_v1(parts + list(msg.get("buffers", [])), msg["channel"])
    if msg.get("buffers"):
        return serialize_binary_message(msg)
    plain = {k: v for k, v in msg.items() if k != "buffers"}
    return json.dumps(plain, default=json_default)


def decode(frame: str | bytes, protocol: str) -> Msg:
    if protocol == "v1":
        channel, parts = deserialize_msg_from_ws_v1(frame)
        msg = {
            k: json.loads(p)
            for k, p in zip(("header", "parent_header", "metadata", "content"), parts, strict=False)
        }
        msg["channel"] = channel
        msg["buffers"] = [bytes(b) for b in parts[4:]]
        return msg
    if isinstance(frame, bytes):
        msg = deserialize_binary_message(frame)
        msg["buffers"] = [bytes(b) for b in msg["buffers"]]
        return msg
    msg = json.loads(frame)
    msg.setdefault("buffers", [])
    return msg


class KernelWS:
    """A websocket client that keeps every message it receives."""

    #: Query parameters of every connection (besides session_id).
    default_params: dict[str, str] = {}

    def __init__(self, conn: WebSocketClientConnection, protocol: str, session_id: str) -> None:
        self.conn = conn
        self.protocol = protocol
        self.session = Session(session=session_id)
        self.messages: list[Msg] = []
        #: bridge_hello and bridge_ack frames (not counted, not in ``messages``).
        self.control: list[Msg] = []
        self.auto_ack = True
        #: what this client sent with :meth:`send`
        self.sent: list[Msg] = []
        self.closed: asyncio.Future[tuple[int | None, str | None]] = asyncio.Future()
        #: Every frame as received, when a test sets this to a list.
        self.frames: list[str | bytes] | None = None
        self._new = asyncio.Event()
        #: The positions of the buffers still to come in frames of their own, and their message.
        self._apart: tuple[list[int], Msg | None] | None = None
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(
        cls,
        ws_fetch: Callable[..., Any],
        *path: str,
        protocol: str = "v1",
        session_id: str | None = None,
        **kwargs: Any,
    ) -> KernelWS:
        session_id = session_id or uuid.uuid4().hex
        subprotocols = [V1] if protocol == "v1" else None
        params = {"session_id": session_id, **cls.default_params, **kwargs.pop("params", {})}
        conn = await ws_fetch(*path, params=params, subprotocols=subprotocols, **kwargs)
        assert (conn.selected_subprotocol == V1) == (protocol == "v1")
        return cls(conn, protocol, session_id)

    async def _read(self) -> None:
        while True:
            frame = await self.conn.read_message()
            if frame is None:
                self.closed.set_result((self.conn.close_code, self.conn.close_reason))
                self._new.set()
                return
            if self.frames is not None:
                self.frames.append(frame)
            if self._apart is not None and self._apart[1] is not None:
                self._buffer_frame(frame)
                continue
            msg = decode(frame, self.protocol)
            if msg["channel"] == "bridge" and msg["header"]["msg_type"] == "bridge_buffers":
                self._apart = (list(msg["content"]["buffers"]), None)
            elif msg["channel"] == "bridge" and msg["header"]["msg_type"] in CONTROL:
                self.control.append(msg)
                self._new.set()
            elif self._apart is not None:
                self._apart = (self._apart[0], msg)
                self._buffer_frame(None)
            else:
                self.on_message(msg)

    def _buffer_frame(self, frame: str | bytes | None) -> None:
        """A big buffer in a frame of its own, after its message (``bridge_buffers``, asked for
        with ``buffer_frames=1``): the message counts once it has them all."""
        assert self._apart is not None and self._apart[1] is not None
        positions, msg = self._apart
        if frame is not None:
            assert isinstance(frame, bytes), "a buffer frame must be binary"
            msg["buffers"][positions.pop(0)] = frame
        if not positions:
            self._apart = None
            self.on_message(msg)

    def on_message(self, msg: Msg) -> None:
        self.messages.append(msg)
        self._new.set()
        if self.auto_ack and len(self.messages) % 64 == 0:
            self.ack()

    def ack(self) -> None:
        """Acknowledge every counted frame received so far (``bridge_ack``)."""
        msg = self.message("bridge_ack", {"received": len(self.messages)}, channel="bridge")
        frame = encode(msg, self.protocol)
        self.conn.write_message(frame, binary=isinstance(frame, bytes))

    async def hello(self, timeout: float = TIMEOUT) -> Msg:
        """The server's ``bridge_hello`` (the first frame of every connection)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for m in self.control:
                if m["header"]["msg_type"] == "bridge_hello":
                    return m
            self._new.clear()
            if loop.time() > deadline or self.closed.done():
                raise AssertionError("no bridge_hello")
            try:
                await asyncio.wait_for(self._new.wait(), deadline - loop.time())
            except asyncio.TimeoutError:
                pass

    def message(
        self,
        msg_type: str,
        content: dict[str, Any] | None = None,
        channel: str = "shell",
        buffers: list[bytes] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Msg:
        msg = self.session.msg(msg_type, content=content or {}, metadata=metadata or {})
        msg["channel"] = channel
        msg["buffers"] = list(buffers or [])
        msg["header"]["date"] = msg["header"]["date"].isoformat()
        return msg

    async def send(self, msg_type: str, content: dict[str, Any] | None = None, **kw: Any) -> Msg:
        msg = self.message(msg_type, content, **kw)
        self.sent.append(msg)
        await self.conn.write_message(
            encode(msg, self.protocol), binary=self.protocol == "v1" or bool(msg["buffers"])
        )
        return msg

    async def send_frame(self, frame: str | bytes) -> None:
        await self.conn.write_message(frame, binary=isinstance(frame, bytes))

    async def wait_for(
        self, pred: Callable[[Msg], bool], start: int = 0, timeout: float = TIMEOUT
    ) -> Msg:
        """The first message from index ``start`` on that matches ``pred``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            while index < len(self.messages):
                msg = self.messages[index]
                index += 1
                if pred(msg):
                    return msg
            if self.closed.done():
                raise AssertionError(f"connection closed: {self.closed.result()}")
            self._new.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching message within {timeout}s; from {start} on: {self._last(start)}"
                )
            try:
                await asyncio.wait_for(self._new.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def _last(self, start: int, count: int = 6) -> str:
        """The last few messages from ``start`` on, briefly (for a failure's message)."""
        got = self.messages[start:]
        brief = [
            f"{m['channel']}:{m['header']['msg_type']}"
            f"({m['content'].get('comm_id') or m['content'].get('execution_state') or ''})"
            for m in got[-count:]
        ]
        return f"{len(got)} messages, the last {brief}; sent last {self._sent_last()}"

    def _sent_last(self) -> str:
        return ", ".join(
            f"{m['header']['msg_type']}({m['content'].get('comm_id', '')})" for m in self.sent[-3:]
        )

    async def reply_to(self, request: Msg, timeout: float = TIMEOUT) -> Msg:
        msg_id = request["header"]["msg_id"]
        return await self.wait_for(
            lambda m: m["parent_header"].get("msg_id") == msg_id, timeout=timeout
        )

    async def request(self, msg_type: str, content: dict[str, Any] | None = None, **kw: Any) -> Msg:
        return await self.reply_to(await self.send(msg_type, content, **kw))

    def of_comm(self, comm_id: str) -> list[Msg]:
        return [m for m in self.messages if m["content"].get("comm_id") == comm_id]

    def drop(self) -> None:
        """Cut the TCP connection with no websocket close: a network drop."""
        self.conn.protocol.stream.close()

    async def close(self) -> None:
        self.conn.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 5)
        except asyncio.TimeoutError:
            pass
        self._reader.cancel()


class Bridge(KernelWS):
    """A client of ``comm-bridge/kernels/{id}/channels`` with the resume layer and big
    buffers in frames of their own, as pycomm."""

    default_params = {"resumable": "1", "buffer_frames": "1"}

    async def register(self, target_name: str) -> Msg:
        reply = await self.request(
            "register_target_request", {"target_name": target_name}, channel="bridge"
        )
        assert reply["header"]["msg_type"] == "register_target_reply", reply
        return reply

    async def open_comm(self, target_name: str, data: Any = None, **kw: Any) -> str:
        comm_id = uuid.uuid4().hex
        content = {"comm_id": comm_id, "target_name": target_name, "data": data or {}}
        await self.send("comm_open", content, **kw)
        return comm_id

    async def comm_msg(self, comm_id: str, data: Any, **kw: Any) -> Msg:
        return await self.send("comm_msg", {"comm_id": comm_id, "data": data}, **kw)

    async def next_on_comm(self, comm_id: str, msg_type: str = "comm_msg", start: int = 0) -> Msg:
        return await self.wait_for(
            lambda m: (
                m["header"]["msg_type"] == msg_type and m["content"].get("comm_id") == comm_id
            ),
            start=start,
        )

    async def error_for(self, sent: Msg) -> Msg:
        err = await self.reply_to(sent)
        assert err["header"]["msg_type"] == "bridge_error", err
        return err


class StandardBridge(Bridge):
    """A bridge client that speaks only the standard kernel websocket protocol: it does not
    ask for the resume layer and never sends ``bridge_ack``."""

    default_params: dict[str, str] = {}

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.auto_ack = False


class Page(KernelWS):
    """A client of ``api/kernels/{id}/channels`` that behaves like a JupyterLab page.

    Like JupyterLab 4 and Notebook 7, it answers a kernel-opened comm of a
    target it doesn't know with ``comm_close`` on the shell channel.
    """

    def __init__(self, *args: Any) -> None:
        #: Targets this page has handlers for (none, unless a test adds some).
        self.known_targets: set[str] = set()
        super().__init__(*args)

    def on_message(self, msg: Msg) -> None:
        super().on_message(msg)
        if msg["header"]["msg_type"] == "comm_open" and msg["channel"] == "iopub":
            if msg["content"].get("target_name") not in self.known_targets:
                close = self.message(
                    "comm_close", {"comm_id": msg["content"]["comm_id"], "data": {}}
                )
                frame = encode(close, self.protocol)
                self.conn.write_message(frame, binary=isinstance(frame, bytes))

    async def execute(self, code: str, timeout: float = TIMEOUT) -> list[Msg]:
        """Run code; returns the iopub messages it caused, raising on error."""
        start = len(self.messages)
        request = await self.send(
            "execute_request", {"code": code, "silent": False, "store_history": False}
        )
        msg_id = request["header"]["msg_id"]
        mine = lambda m: m["parent_header"].get("msg_id") == msg_id  # noqa: E731
        await self.wait_for(
            lambda m: (
                mine(m)
                and m["header"]["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"
            ),
            start=start,
            timeout=timeout,
        )
        reply = await self.wait_for(lambda m: mine(m) and m["channel"] == "shell", start=start)
        outputs = [m for m in self.messages[start:] if mine(m) and m["channel"] == "iopub"]
        if reply["content"]["status"] != "ok":
            raise AssertionError(f"{code!r} failed: {reply['content']}")
        return outputs

    async def eventually(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """Evaluate ``expression`` in the kernel until it is truthy; returns its value.

        For what the kernel does on bridge traffic: the page sees no status for it.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while not (value := await self.evaluate(expression)):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{expression!r} still {value!r} after {timeout}s")
            await asyncio.sleep(0.05)  # polling the kernel: give it room to work
        return value

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a Python expression in the kernel."""
        outputs = await self.execute(f"import json as _j; print(_j.dumps({expression}))")
        text = "".join(m["content"]["text"] for m in outputs if m["header"]["msg_type"] == "stream")
        return json.loads(text)
