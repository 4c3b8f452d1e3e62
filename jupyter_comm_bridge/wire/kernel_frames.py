"""Messages from and to the kernel's ZMQ sockets: a multipart message's parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .message import BY_REFERENCE, MalformedMessage, Part, Unpack, WireMessage

if TYPE_CHECKING:
    import zmq

DELIMITER = b"<IDS|MSG>"


def split_zmq(msg_list: list[Any]) -> tuple[int, list[Any]]:
    """Where a raw ZMQ message's delimiter is, and its parts after the signature:
    ``[header, parent, metadata, content, *buffers]`` (identities come before it)."""
    index = msg_list.index(DELIMITER)
    return index, msg_list[index + 2 :]


def zmq_parts(frames: list[zmq.Frame]) -> list[Part]:
    """A message received with ``copy=False``: its frames as bytes, except big buffers (past
    the delimiter, signature and four JSON parts), which stay views of their frames."""
    out: list[Part] = []
    first_buffer = len(frames)
    for i, frame in enumerate(frames):
        if i >= first_buffer and len(frame) >= BY_REFERENCE:
            out.append(frame.buffer)
            continue
        out.append(frame.bytes)
        if first_buffer == len(frames) and out[-1] == DELIMITER:
            first_buffer = i + 6
    return out


def decode_zmq(channel: str, msg_list: list[Part], unpack: Unpack) -> WireMessage:
    """A message received from a kernel socket (already authenticated by ZMQ)."""
    _, parts = split_zmq(msg_list)
    if len(parts) < 4:
        raise MalformedMessage("kernel message has fewer than 4 parts")
    header = unpack(parts[0])
    if not isinstance(header, dict):
        raise MalformedMessage("kernel message header is not an object")
    return WireMessage(channel, parts, header)
