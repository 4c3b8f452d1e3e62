"""Frames from an untrusted websocket client, decoded and checked.

The decoders of both protocols are jupyter_server's (``connection.base``); the checks here
come first, because those helpers assume well-formed input.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

from jupyter_server.services.kernels.connection import base as _serializers

from .message import BY_REFERENCE, Frame, MalformedMessage, Pack, Part, Unpack, WireMessage
from .protocol import V1_PROTOCOL

deserialize_binary_message: Callable[[bytes], dict[str, Any]] = (
    _serializers.deserialize_binary_message
)


def decode_frame(frame: Frame, protocol: str, pack: Pack, unpack: Unpack) -> WireMessage:
    """Decode and check one frame from an untrusted client.

    Raises :class:`MalformedMessage` with a reason fit to send back.
    """
    if protocol == V1_PROTOCOL:
        if not isinstance(frame, bytes):
            raise MalformedMessage("the v1 protocol takes binary frames only")
        offsets = check_v1_frame(frame)
        try:
            channel, parts, rest = v1_parts(frame, offsets)
        except UnicodeDecodeError:
            raise MalformedMessage("a v1 frame's channel name is not UTF-8") from None
        if len(parts) < 4:
            raise MalformedMessage("a v1 frame needs header, parent_header, metadata and content")
        header = _load_object(parts[0], "header", unpack)
        _check_header(header)
        wire = WireMessage(channel, [*parts, *rest], header)
        wire._parent = _load_object(parts[1], "parent_header", unpack, header)
        _load_object(parts[2], "metadata", unpack, header)
        wire._content = _load_object(parts[3], "content", unpack, header)
        return wire
    if isinstance(frame, bytes):
        check_legacy_binary_frame(frame)
        try:
            msg = deserialize_binary_message(frame)
        except (ValueError, UnicodeDecodeError, KeyError, TypeError) as e:
            raise MalformedMessage(f"binary frame: invalid JSON part ({e!r})") from None
        buffers = msg.get("buffers", [])
    else:
        try:
            msg = json.loads(frame)
        except ValueError as e:
            raise MalformedMessage(f"text frame is not JSON ({e})") from None
        buffers = []
    return _from_legacy_dict(msg, buffers, pack)


def _from_legacy_dict(msg: Any, buffers: list[bytes], pack: Pack) -> WireMessage:
    if not isinstance(msg, dict):
        raise MalformedMessage("a message must be a JSON object")
    header = msg.get("header")
    if not isinstance(header, dict):
        raise MalformedMessage("message has no header object")
    _check_header(header)
    channel = msg.get("channel", "shell")
    if not isinstance(channel, str):
        raise MalformedMessage("channel must be a string", header)
    sections = {}
    for name in ("parent_header", "metadata", "content"):
        value = msg.get(name, {})
        if not isinstance(value, dict):
            raise MalformedMessage(f"{name} must be an object", header)
        sections[name] = value
    try:
        parts = [
            pack(header),
            *(pack(sections[k]) for k in ("parent_header", "metadata", "content")),
        ]
    except (TypeError, ValueError) as e:
        raise MalformedMessage(f"message is not JSON-serializable ({e})", header) from None
    wire = WireMessage(channel, parts + list(buffers), header)
    wire._parent = sections["parent_header"]
    wire._content = sections["content"]
    return wire


def _load_object(
    part: bytes, name: str, unpack: Unpack, header: dict[str, Any] | None = None
) -> dict[str, Any]:
    try:
        value = unpack(part)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedMessage(f"{name} is not valid JSON ({e})", header) from None
    if not isinstance(value, dict):
        raise MalformedMessage(f"{name} must be a JSON object", header)
    return value


def _check_header(header: dict[str, Any]) -> None:
    for key in ("msg_type", "msg_id"):
        if not isinstance(header.get(key), str) or not header[key]:
            raise MalformedMessage(f"header.{key} must be a non-empty string")


def v1_parts(frame: bytes, offsets: list[int]) -> tuple[str, list[bytes], list[Part]]:
    """The channel, JSON parts and buffers of a checked v1 frame, as
    ``deserialize_msg_from_ws_v1`` splits it, except that big buffers are views of the frame
    (no copy on their way to ZMQ)."""
    channel = frame[offsets[0] : offsets[1]].decode("utf-8")
    bounds = list(zip(offsets[1:], offsets[2:], strict=False))
    view = memoryview(frame)
    buffers: list[Part] = [
        view[start:end] if end - start >= BY_REFERENCE else frame[start:end]
        for start, end in bounds[4:]
    ]
    return channel, [frame[start:end] for start, end in bounds[:4]], buffers


def check_v1_frame(frame: bytes) -> list[int]:
    """Check the offset table of a v1 frame: count, order and bounds; returns the offsets."""
    if len(frame) < 8:
        raise MalformedMessage("v1 frame is shorter than its offset count")
    count = int.from_bytes(frame[:8], "little")
    table_end = 8 * (count + 1)
    # channel + 4 JSON parts need 6 offsets (start of each, end of the last)
    if count < 6 or table_end > len(frame):
        raise MalformedMessage(f"v1 frame: bad offset count {count}")
    offsets = [int.from_bytes(frame[8 * i : 8 * (i + 1)], "little") for i in range(1, count + 1)]
    _check_offsets(offsets, table_end, len(frame), "v1")
    return offsets


def check_legacy_binary_frame(frame: bytes) -> None:
    """Check the offset table of a legacy binary frame: count, order and bounds."""
    if len(frame) < 4:
        raise MalformedMessage("binary frame is shorter than its buffer count")
    (count,) = struct.unpack("!I", frame[:4])
    table_end = 4 * (count + 1)
    if count < 1 or table_end > len(frame):
        raise MalformedMessage(f"binary frame: bad buffer count {count}")
    offsets = list(struct.unpack("!" + "I" * count, frame[4:table_end]))
    _check_offsets(offsets + [len(frame)], table_end, len(frame), "binary")


def _check_offsets(offsets: list[int], start: int, end: int, kind: str) -> None:
    if offsets[0] != start:
        raise MalformedMessage(f"{kind} frame: first offset {offsets[0]} should be {start}")
    for offset in offsets:
        if offset > end:
            raise MalformedMessage(f"{kind} frame: offset {offset} is past the end ({end})")
    for a, b in zip(offsets, offsets[1:], strict=False):
        if b < a:
            raise MalformedMessage(f"{kind} frame: offsets overlap ({a} > {b})")
