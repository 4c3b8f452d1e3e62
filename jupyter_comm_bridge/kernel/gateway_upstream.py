"""The relay's connection to a kernel that lives behind a kernel gateway.

When the server runs with ``--gateway-url`` its kernels are reached through the
gateway's own ``api/kernels/{id}/channels`` websocket, with the gateway's auth headers,
as jupyter_server's ``GatewayWebSocketConnection`` does. :class:`GatewayUpstream` offers
the relay the same interface as the ZMQ upstream. Unlike jupyter_server's gateway
connection it asks for the v1 protocol (a gateway on jupyter_server 2 then relays frames
without parsing and re-serializing every message), falls back to the legacy one, keeps
binary frames binary either way, and reconnects with backoff under a fixed session_id, so
the gateway replays what it buffered meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from jupyter_client.session import Session
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import GatewayKernelManager
from jupyter_server.utils import url_path_join
from tornado.escape import url_escape
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from ..internals import tcp
from ..wire.decode import decode_frame
from ..wire.encode import encode_frame, joined, serialize_msg_to_ws_v1
from ..wire.message import Frame, MalformedMessage, WireMessage
from ..wire.protocol import LEGACY_PROTOCOL, V1_PROTOCOL
from .managers import OnKernelMessage, SentRequests, UpstreamError

#: Seconds of random jitter added to each reconnection delay (jupyter_server's own range).
JITTER = (0.1, 1.0)
#: Frames from the gateway can carry large buffers.
MAX_FRAME = 1 << 30


def retry_delays(client: Any, jitter: Callable[[], float] | None = None) -> Iterator[float]:
    """The delays before each reconnection attempt, by ``GatewayClient``'s retry settings as
    jupyter_server's own gateway connection follows them: ``gateway_retry_interval`` doubling
    up to ``gateway_retry_interval_max``, plus jitter, ``gateway_retry_max`` times (so pages
    and the relay do not all come back to a restarted gateway at once)."""
    jitter = jitter or (lambda: random.uniform(*JITTER))  # noqa: S311 (not a secret)
    for attempt in range(client.gateway_retry_max):
        base = client.gateway_retry_interval * 2**attempt
        yield min(base, client.gateway_retry_interval_max) + jitter()


def is_gateway_kernel(kernel_manager: object) -> bool:
    """Whether a kernel is one the server reaches through a kernel gateway."""
    return isinstance(kernel_manager, GatewayKernelManager)


class GatewayUpstream(SentRequests):
    """One websocket to the gateway for one kernel, however many bridge clients."""

    def __init__(
        self,
        kernel_id: str,
        session: Session,
        on_message: OnKernelMessage,
        log: logging.Logger,
        on_lost: Callable[[str], None],
        on_status: Callable[[str, str], None],
    ) -> None:
        self.kernel_id = kernel_id
        self.session = session
        self.on_message = on_message
        self.log = log
        self.on_lost = on_lost
        self.on_status = on_status
        self.kernel_info: dict[str, Any] = {}
        #: One session_id for every (re)connection: the gateway buffers for it.
        self.session_id = uuid.uuid4().hex
        self.ws: WebSocketClientConnection | None = None
        #: The protocol the gateway chose for the current websocket.
        self.protocol = LEGACY_PROTOCOL
        self._closed = False
        #: Messages waiting while reconnecting, sent once the websocket is back (in order).
        self._waiting: list[tuple[str, list[Any]]] | None = None
        self._info_id = ""
        self._info: asyncio.Future[None] | None = None
        super().__init__()

    @property
    def connected(self) -> bool:
        return self.ws is not None

    async def connect(self, timeout: float) -> None:
        """Open the websocket and learn the kernel's kernel_info (within ``timeout``)."""
        await self._open(timeout)
        self._info = asyncio.get_running_loop().create_future()
        self._info_id = self.send_new("shell", "kernel_info_request", {})
        done, _ = await asyncio.wait((self._info,), timeout=timeout)
        if not done:
            self.log.warning(
                "comm-bridge: kernel %s: no kernel_info_reply through the gateway within %.0fs",
                self.kernel_id,
                timeout,
            )

    async def _open(self, timeout: float) -> None:
        client = GatewayClient.instance()
        url = url_path_join(
            client.ws_url or "", client.kernels_endpoint, url_escape(self.kernel_id), "channels"
        )
        connection_args: dict[str, Any] = client.load_connection_args()  # type: ignore[no-untyped-call]
        request = HTTPRequest(f"{url}?session_id={self.session_id}", **connection_args)
        try:
            connecting = websocket_connect(
                request, max_message_size=MAX_FRAME, subprotocols=[V1_PROTOCOL]
            )
            ws = await asyncio.wait_for(connecting, timeout)
        except HTTPClientError as e:
            raise UpstreamError(f"the kernel gateway refused the connection ({e})") from None
        except (OSError, asyncio.TimeoutError) as e:
            raise UpstreamError(f"the kernel gateway is unreachable ({e!r})") from None
        if self._closed:
            ws.close()
            return
        self.ws = ws
        self.protocol = ws.selected_subprotocol or LEGACY_PROTOCOL
        self.log.info(
            "comm-bridge: kernel %s through the gateway, protocol %s",
            self.kernel_id,
            self.protocol or "legacy",
        )
        tcp.low_latency(ws)
        asyncio.ensure_future(self._read(ws))

    async def _read(self, ws: WebSocketClientConnection) -> None:
        while (frame := await ws.read_message()) is not None:
            tcp.ack_now(ws)
            self._receive(frame)
        if ws is self.ws and not self._closed:
            self.ws = None
            self._waiting = []
            self.log.warning(
                "comm-bridge: the gateway dropped kernel %s; reconnecting", self.kernel_id
            )
            self.on_status("reconnecting", "the kernel gateway dropped the connection")
            await self._reconnect()

    def _receive(self, frame: Frame) -> None:
        try:
            msg = decode_frame(frame, self.protocol, self.session.pack, self.session.unpack)
        except MalformedMessage as e:
            self.log.warning(
                "comm-bridge: bad frame from the gateway for %s: %s", self.kernel_id, e
            )
            return
        if self._info is not None and not self._info.done() and msg.msg_type == "kernel_info_reply":
            if msg.parent_header(self.session.unpack).get("msg_id") == self._info_id:
                self.kernel_info = msg.content(self.session.unpack)
                self._info.set_result(None)
                return
        self.on_message(msg)

    async def _reconnect(self) -> None:
        """Try again with backoff; past the last attempt the relay's clients are told why."""
        why = "no attempt made"
        client = GatewayClient.instance()
        for delay in retry_delays(client):
            await asyncio.sleep(delay)
            if self._closed:
                return
            try:
                await self._open(timeout=client.connect_timeout)
            except UpstreamError as e:
                why = str(e)
                continue
            if self.ws is None:  # closed while the websocket opened
                return
            self.log.info("comm-bridge: reconnected to the gateway for kernel %s", self.kernel_id)
            waiting, self._waiting = self._waiting or [], None
            for channel, parts in waiting:
                self._write(channel, parts)
            self.on_status("connected", "")
            return
        self._waiting = None
        if not self._closed:
            self.on_lost(f"lost the kernel gateway: {why}")

    def send_raw(self, channel: str, parts: list[Any]) -> None:
        """Send ``[header, parent, metadata, content, *buffers]`` (held while reconnecting)."""
        if self.ws is None and self._waiting is None:
            raise UpstreamError("the connection to the kernel gateway is down")
        if self.ws is None:
            self._waiting.append((channel, list(parts)))  # type: ignore[union-attr]
        else:
            self._write(channel, parts)

    def _write(self, channel: str, parts: list[Any]) -> None:
        """One frame in the protocol of the websocket now open (v1: the parts as they are;
        legacy needs them parsed, to write them as JSON)."""
        assert self.ws is not None
        if self.protocol == V1_PROTOCOL:
            self.ws.write_message(serialize_msg_to_ws_v1(parts, channel), binary=True)
            return
        msg = WireMessage(channel, list(parts), self.session.unpack(parts[0]))
        encoded, binary = encode_frame(msg, LEGACY_PROTOCOL, self.session.unpack)
        self.ws.write_message(joined(encoded), binary=binary)

    def send_new(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        """Build and send a message of the relay's own; returns its msg_id."""
        msg = self.session.msg(msg_type, content)
        pack = self.session.pack
        parts = [pack(msg[key]) for key in ("header", "parent_header", "metadata", "content")]
        self.send_raw(channel, parts)
        msg_id = str(msg["header"]["msg_id"])
        self.note_sent(msg_id)
        return msg_id

    def close(self) -> None:
        self._closed = True
        if self._info is not None and not self._info.done():
            self._info.set_result(None)
        if self.ws is not None:
            self.ws.close()
            self.ws = None
