"""Jupyter messages on the websocket, both wire protocols, written out by hand.

The benchmark client stands in for a browser, so it encodes and decodes frames
itself rather than through jupyter_client's Session (whose datetime handling
would make the client, not the server, the thing being measured).
"""

from __future__ import annotations

import json
import struct
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

V1 = "v1.kernel.websocket.jupyter.org"
PROTOCOLS = ("v1", "legacy")
PARTS = ("header", "parent_header", "metadata", "content")

Frame = str | bytes


@dataclass(slots=True)
class Message:
    """A decoded message: what a page's kernel connection hands to its callbacks."""

    channel: str
    header: dict[str, Any]
    parent_header: dict[str, Any]
    content: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    buffers: list[memoryview] = field(default_factory=list)

    @property
    def msg_type(self) -> str:
        return str(self.header.get("msg_type", ""))

    @property
    def parent_id(self) -> str | None:
        return self.parent_header.get("msg_id")

    @property
    def comm_id(self) -> str | None:
        return self.content.get("comm_id")


def new_header(msg_type: str, session: str) -> dict[str, Any]:
    return {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "session": session,
        "username": "benchmark",
        "date": datetime.now(timezone.utc).isoformat(),
        "version": "5.3",
    }


def _dumps(value: Any) -> bytes:
    # Compact separators, as browsers' JSON.stringify writes them.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def encode(
    protocol: str,
    channel: str,
    header: dict[str, Any],
    content: dict[str, Any],
    buffers: list[bytes] | None = None,
) -> tuple[Frame, bool]:
    """One frame for ``protocol`` ("v1" or "legacy"); returns (frame, is_binary)."""
    buffers = buffers or []
    if protocol == "v1":
        return encode_v1(channel, [_dumps(header), b"{}", b"{}", _dumps(content), *buffers]), True
    msg = {"channel": channel, "header": header, "parent_header": {}, "metadata": {}}
    msg["content"] = content
    if not buffers:
        return _dumps(msg).decode(), False
    return encode_legacy_binary(_dumps(msg), buffers), True


def encode_v1(channel: str, parts: list[bytes]) -> bytes:
    """v1: little-endian u64 count and offsets, then channel, the 4 JSON parts, buffers."""
    pieces = [channel.encode(), *parts]
    count = len(pieces) + 1  # an offset per piece, plus the end of the last
    offsets = [8 * (count + 1)]
    for piece in pieces:
        offsets.append(offsets[-1] + len(piece))
    table = struct.pack(f"<{count + 1}Q", count, *offsets)
    return b"".join([table, *pieces])


def encode_legacy_binary(json_part: bytes, buffers: list[bytes]) -> bytes:
    """Legacy binary: big-endian u32 count and offsets, then the JSON message, buffers."""
    pieces = [json_part, *buffers]
    count = len(pieces)
    offsets = [4 * (count + 1)]
    for piece in pieces[:-1]:
        offsets.append(offsets[-1] + len(piece))
    return b"".join([struct.pack(f"!{count + 1}I", count, *offsets), *pieces])


def decode(frame: Frame, protocol: str) -> Message:
    if protocol == "v1":
        return decode_v1(frame if isinstance(frame, bytes) else frame.encode())
    if isinstance(frame, str):
        return _from_dict(json.loads(frame), [])
    return decode_legacy_binary(frame)


def decode_v1(frame: bytes) -> Message:
    view = memoryview(frame)
    (count,) = struct.unpack_from("<Q", frame, 0)
    offsets = struct.unpack_from(f"<{count}Q", frame, 8)
    pieces = [view[a:b] for a, b in zip(offsets, offsets[1:], strict=False)]
    channel = bytes(pieces[0]).decode()
    header, parent, metadata, content = (json.loads(bytes(p)) for p in pieces[1:5])
    return Message(channel, header, parent, content, metadata, pieces[5:])


def decode_legacy_binary(frame: bytes) -> Message:
    view = memoryview(frame)
    (count,) = struct.unpack_from("!I", frame, 0)
    offsets = [*struct.unpack_from(f"!{count}I", frame, 4), len(frame)]
    pieces = [view[a:b] for a, b in zip(offsets, offsets[1:], strict=False)]
    return _from_dict(json.loads(bytes(pieces[0])), pieces[1:])


def _from_dict(msg: dict[str, Any], buffers: list[memoryview]) -> Message:
    return Message(
        msg.get("channel", ""),
        msg.get("header") or {},
        msg.get("parent_header") or {},
        msg.get("content") or {},
        msg.get("metadata") or {},
        buffers,
    )
