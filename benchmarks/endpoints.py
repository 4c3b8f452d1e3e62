"""Clients that stand in for the browser: the same comm API over three paths.

* :class:`WsEndpoint` on ``comm-bridge/kernels/{id}/channels`` (a bridge client)
  or on ``api/kernels/{id}/channels`` (a page doing the comm protocol by hand);
* :class:`ZmqEndpoint`, jupyter_client straight to the kernel: the floor.

Each reads in a background task and hands comm messages to a queue per comm,
so many comms (and many clients) run concurrently on one event loop.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.session import Session
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from jupyter_comm_bridge.internals import tcp
from jupyter_comm_bridge.wire import protocol

from .codec import V1, Message, decode, encode, new_header

TIMEOUT = 60.0
CONTROL = ("bridge_hello", "bridge_ack")
#: As pycomm does (jupyter_comm_bridge.protocol): every 64 counted frames, and after
#: ACK_BYTES_MAX bytes, so that the server frees what it keeps for replay soon.
ACK_EVERY = protocol.ACK_EVERY
ACK_BYTES = protocol.ACK_BYTES_MAX
MAX_FRAME = 256 * 1024 * 1024
COMM_TYPES = ("comm_msg", "comm_close", "comm_open")


class BenchError(RuntimeError):
    """Something the benchmark must not see (a lost or foreign message, an error)."""


class Request:
    """A shell request: done once its reply and the kernel's ``idle`` have arrived."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.reply: Message | None = None
        self.replied_at = 0.0
        self.idle = False
        #: Characters of text/html in display_data: shows whether a bootstrap went in.
        self.html_chars = 0
        self.text = ""  # the first stream output, for small answers from the kernel
        self.received = 0
        self.done = asyncio.Event()

    def add(self, msg: Message) -> None:
        self.received += 1
        if msg.channel == "shell":
            self.reply = msg
            self.replied_at = time.perf_counter()
        elif msg.msg_type == "status":
            self.idle = self.idle or msg.content.get("execution_state") == "idle"
        else:
            self.counts[msg.msg_type] = self.counts.get(msg.msg_type, 0) + 1
            if msg.msg_type == "display_data":
                self.html_chars += len(msg.content.get("data", {}).get("text/html", ""))
            elif msg.msg_type == "stream" and not self.text:
                self.text = str(msg.content.get("text", ""))
        if self.reply is not None and self.idle:
            self.done.set()


class CommEndpoint:
    """What every path offers: open comms, send on them, await what comes back."""

    label = "?"

    def __init__(self) -> None:
        self.session = uuid.uuid4().hex
        self.queues: dict[str, asyncio.Queue[Message | BenchError]] = {}
        self.requests: dict[str, Request] = {}
        #: Comm messages for comms this client did not open: must stay 0 on the bridge.
        self.foreign = 0
        self.bytes_received = 0
        self.failure: BenchError | None = None

    async def send_message(
        self, channel: str, msg_type: str, content: dict[str, Any], buffers: list[bytes] | None
    ) -> str:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def open_comm(self, target_name: str) -> str:
        comm_id = uuid.uuid4().hex
        self.queues[comm_id] = asyncio.Queue()
        content = {"comm_id": comm_id, "target_name": target_name, "data": {}}
        await self.send_message("shell", "comm_open", content, None)
        return comm_id

    async def send(self, comm_id: str, data: Any, buffers: list[bytes] | None = None) -> None:
        await self.send_message("shell", "comm_msg", {"comm_id": comm_id, "data": data}, buffers)

    async def close_comm(self, comm_id: str) -> None:
        await self.send_message("shell", "comm_close", {"comm_id": comm_id, "data": {}}, None)

    async def recv(self, comm_id: str, timeout: float = TIMEOUT) -> Message:
        if self.failure is not None:
            raise self.failure
        try:
            got = await asyncio.wait_for(self.queues[comm_id].get(), timeout)
        except asyncio.TimeoutError:
            raise BenchError(f"{self.label}: nothing on comm {comm_id} in {timeout}s") from None
        if isinstance(got, BenchError):
            raise got
        return got

    async def echo(self, comm_id: str, data: Any, buffers: list[bytes] | None = None) -> float:
        """One round trip; returns its seconds. The echo is checked after the clock stops."""
        started = time.perf_counter()
        await self.send(comm_id, data, buffers)
        msg = await self.recv(comm_id)
        elapsed = time.perf_counter() - started
        check_echo(msg, data, buffers)
        return elapsed

    async def request(self, msg_type: str, content: dict[str, Any], timeout: float) -> Request:
        """Send a shell request and wait for its reply and the kernel's idle."""
        request = Request()
        msg_id = await self._send_request(msg_type, content, request)
        try:
            await asyncio.wait_for(request.done.wait(), timeout)
        except asyncio.TimeoutError:
            raise BenchError(f"{self.label}: {msg_type} not done in {timeout}s") from None
        finally:
            self.requests.pop(msg_id, None)  # done ones are gone already
        if self.failure is not None:
            raise self.failure
        return request

    async def start_request(self, msg_type: str, content: dict[str, Any]) -> Request:
        """Send a shell request without waiting (``request.done`` says when it is over)."""
        request = Request()
        await self._send_request(msg_type, content, request)
        return request

    async def execute(self, code: str, timeout: float = TIMEOUT) -> Request:
        request = await self.request("execute_request", execute_content(code), timeout)
        assert request.reply is not None
        if request.reply.content.get("status") != "ok":
            raise BenchError(f"{self.label}: cell failed: {request.reply.content}")
        return request

    async def _send_request(self, msg_type: str, content: dict[str, Any], req: Request) -> str:
        raise NotImplementedError

    def dispatch(self, msg: Message) -> None:
        """Route one received message (comm traffic to its queue, the rest to requests)."""
        if msg.msg_type in COMM_TYPES and msg.channel == "iopub":
            queue = self.queues.get(msg.comm_id or "")
            if queue is None:
                self.foreign += 1
            elif msg.msg_type == "comm_msg":
                queue.put_nowait(msg)
            return
        request = self.requests.get(msg.parent_id or "")
        if request is not None:
            request.add(msg)
            if request.done.is_set():
                del self.requests[msg.parent_id or ""]

    def fail(self, error: BenchError) -> None:
        """A fatal event: every waiter learns of it at once instead of timing out."""
        if self.failure is None:
            self.failure = error
        for queue in self.queues.values():
            queue.put_nowait(error)
        for request in self.requests.values():
            request.done.set()


def execute_content(code: str) -> dict[str, Any]:
    return {"code": code, "silent": False, "store_history": False, "allow_stdin": False}


def check_echo(msg: Message, data: Any, buffers: list[bytes] | None) -> None:
    sent = [len(b) for b in buffers or []]
    got = [len(b) for b in msg.buffers]
    if sent != got or msg.content.get("data") != data:
        raise BenchError(f"echo differs: buffers {got} for {sent}, or data")


class WsEndpoint(CommEndpoint):
    """A websocket client of the bridge (``bridge=True``) or of the stock kernel channel."""

    def __init__(self, conn: WebSocketClientConnection, protocol: str, bridge: bool) -> None:
        super().__init__()
        self.conn = conn
        self.protocol = protocol
        self.bridge = bridge
        self.label = f"{'bridge' if bridge else 'stock'}-{protocol}"
        self.counted = 0
        self.unacked_bytes = 0
        #: Acknowledge by bytes too (ACK_BYTES); False: every ACK_EVERY frames only.
        self.ack_by_bytes = True
        #: TCP quick ACKs after every frame, as the relay's gateway websocket (jupyter_comm_bridge
        #: .tcp): for a peer that writes small frames with Nagle on, a kernel gateway.
        self.quick_ack = False
        self.hello = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(
        cls,
        base_ws_url: str,
        token: str,
        kernel_id: str,
        protocol: str,
        bridge: bool,
        label: str | None = None,
    ) -> WsEndpoint:
        prefix = "comm-bridge" if bridge else "api"
        url = f"{base_ws_url}{prefix}/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
        if bridge:
            url += "&resumable=1"  # the resume layer, as pycomm asks for it
        request = HTTPRequest(url, headers={"Authorization": f"token {token}"})
        subprotocols = [V1] if protocol == "v1" else None
        conn = await websocket_connect(
            request, subprotocols=subprotocols, max_message_size=MAX_FRAME
        )
        if (conn.selected_subprotocol == V1) != (protocol == "v1"):
            raise BenchError(f"asked for {protocol}, got {conn.selected_subprotocol!r}")
        # Browsers set TCP_NODELAY on their sockets; so does this stand-in.
        conn.protocol.stream.set_nodelay(True)  # type: ignore[union-attr]
        endpoint = cls(conn, protocol, bridge)
        endpoint.label = label or endpoint.label
        if bridge:
            await asyncio.wait_for(endpoint.hello.wait(), TIMEOUT)
        return endpoint

    async def _read(self) -> None:
        try:
            while True:
                frame = await self.conn.read_message()
                if frame is None:
                    code, reason = self.conn.close_code, self.conn.close_reason
                    self.fail(BenchError(f"{self.label}: closed ({code} {reason})"))
                    return
                if self.quick_ack:
                    tcp.ack_now(self.conn)
                self.bytes_received += len(frame)
                self._on_frame(decode(frame, self.protocol), len(frame))
        except Exception as e:  # a decoding bug must fail the run, not hang it
            self.fail(BenchError(f"{self.label}: reader failed: {e!r}"))

    def _on_frame(self, msg: Message, size: int) -> None:
        if msg.channel == "bridge" and msg.msg_type in CONTROL:
            self.hello.set()  # hello comes first; acks need nothing (we ack on our own count)
            return
        if msg.msg_type == "bridge_error":
            self.fail(BenchError(f"{self.label}: bridge_error {msg.content}"))
            return
        self.dispatch(msg)
        if self.bridge:
            self.counted += 1
            self.unacked_bytes += size
            by_bytes = self.ack_by_bytes and self.unacked_bytes >= ACK_BYTES
            if self.counted % ACK_EVERY == 0 or by_bytes:
                self.ack()

    def ack(self) -> None:
        """``bridge_ack``: without it the server keeps everything it sent, for replay."""
        self.unacked_bytes = 0
        content = {"received": self.counted}
        asyncio.ensure_future(self.send_message("bridge", "bridge_ack", content, None))

    async def send_message(
        self, channel: str, msg_type: str, content: dict[str, Any], buffers: list[bytes] | None
    ) -> str:
        header = new_header(msg_type, self.session)
        frame, binary = encode(self.protocol, channel, header, content, buffers)
        await self.conn.write_message(frame, binary=binary)
        return str(header["msg_id"])

    async def _send_request(self, msg_type: str, content: dict[str, Any], req: Request) -> str:
        header = new_header(msg_type, self.session)
        self.requests[header["msg_id"]] = req  # before sending: the reply may come at once
        frame, binary = encode(self.protocol, "shell", header, content)
        await self.conn.write_message(frame, binary=binary)
        return str(header["msg_id"])

    async def close(self) -> None:
        self.conn.close()
        self._reader.cancel()


class ZmqEndpoint(CommEndpoint):
    """jupyter_client talking to the kernel's own sockets: no server, no websocket.

    With ``subshell`` it first creates a kernel subshell (JEP 91) and sends its comm
    messages there, as the bridge does on kernels that have subshells.
    """

    def __init__(self, client: AsyncKernelClient, subshell_id: str | None = None) -> None:
        super().__init__()
        self.client = client
        self.subshell_id = subshell_id
        self.label = "zmq-subshell" if subshell_id else "zmq"
        self._readers = [
            asyncio.ensure_future(self._read("iopub")),
            asyncio.ensure_future(self._read("shell")),
        ]

    @classmethod
    async def connect(cls, manager: Any, subshell: bool = False) -> ZmqEndpoint:
        # A session of its own: clients sharing one would share a shell identity.
        client = manager.client(session=Session(key=manager.session.key))
        client.start_channels()
        await client.wait_for_ready(timeout=TIMEOUT)
        subshell_id = await create_subshell(client) if subshell else None
        return cls(client, subshell_id)

    async def _read(self, channel: str) -> None:
        getter = getattr(self.client, f"get_{channel}_msg")
        try:
            while True:
                raw = await getter(timeout=None)
                msg = Message(
                    channel,
                    raw["header"],
                    raw["parent_header"],
                    raw["content"],
                    raw["metadata"],
                    raw.get("buffers") or [],
                )
                self.bytes_received += sum(len(b) for b in msg.buffers)
                self.dispatch(msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.fail(BenchError(f"zmq {channel} reader failed: {e!r}"))

    async def send_message(
        self, channel: str, msg_type: str, content: dict[str, Any], buffers: list[bytes] | None
    ) -> str:
        msg = self.client.session.msg(msg_type, content)
        if self.subshell_id is not None:
            msg["header"]["subshell_id"] = self.subshell_id
        self.client.session.send(self.client.shell_channel.socket, msg, buffers=buffers)
        return str(msg["header"]["msg_id"])

    async def _send_request(self, msg_type: str, content: dict[str, Any], req: Request) -> str:
        session = self.client.session
        msg = session.msg(msg_type, content)
        self.requests[msg["header"]["msg_id"]] = req
        session.send(self.client.shell_channel.socket, msg)
        return str(msg["header"]["msg_id"])

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        self.client.stop_channels()


async def create_subshell(client: AsyncKernelClient) -> str:
    """``create_subshell_request`` on the control channel; returns the new subshell_id."""
    msg = client.session.msg("create_subshell_request", {})
    client.control_channel.send(msg)
    while True:
        reply = await client.get_control_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            break
    if reply["content"].get("status") != "ok":
        raise BenchError(f"the kernel made no subshell: {reply['content']}")
    return str(reply["content"]["subshell_id"])
