"""The kernel websocket wire formats, as pure functions.

A message travels through the bridge as a :class:`WireMessage`: its channel
and its ZMQ-style parts ``[header, parent_header, metadata, content, *buffers]``
(the first four packed as JSON bytes). That is what the kernel's sockets speak
and what the ``v1.kernel.websocket.jupyter.org`` protocol carries, so messages
pass between kernel and v1 clients without being re-encoded. Only the small
header is always parsed; the content is parsed on demand.

The encoders and decoders of both websocket protocols are jupyter_server's
(``connection.base``); this module checks untrusted frames before handing them
over, because those helpers assume well-formed input.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection import base as _serializers

from .protocol import V1_PROTOCOL

if TYPE_CHECKING:
    import zmq

Unpack = Callable[[bytes], Any]
Pack = Callable[[Any], bytes]
Frame = str | bytes
DELIMITER = b"<IDS|MSG>"
#: A part of a message: bytes, or a big buffer kept by reference (a view of a ZMQ frame).
Part = bytes | memoryview
#: One binary websocket message as pieces written in order; joined, they are its frame.
Pieces = tuple[Part, ...]
Encoded = Frame | Pieces
#: Buffers from this size on travel by reference, never joined into a frame or copied out
#: of their ZMQ frame: each fresh copy of 4 MiB costs milliseconds of page faults
#: (benchmarks/README.md, "Where the time goes").
BY_REFERENCE = 64 * 1024

# jupyter_server's serializers, with the types they have (they are not annotated there).
serialize_msg_to_ws_v1: Callable[[list[Any], str], bytes] = _serializers.serialize_msg_to_ws_v1
serialize_binary_message: Callable[[dict[str, Any]], bytes] = _serializers.serialize_binary_message
deserialize_binary_message: Callable[[bytes], dict[str, Any]] = (
    _serializers.deserialize_binary_message
)


class MalformedMessage(ValueError):
    """A frame that is not a valid message; the text says why, for the client."""

    def __init__(self, reason: str, header: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        #: The header, when it could be read, so the error can name its parent.
        self.header = header


@dataclass(slots=True, eq=False)
class WireMessage:
    """One Jupyter message as channel + parts, with lazily parsed fields."""

    channel: str
    parts: list[Any]
    header: dict[str, Any]
    _content: dict[str, Any] | None = field(default=None, repr=False)
    _parent: dict[str, Any] | None = field(default=None, repr=False)
    #: Encoded frames per protocol, so a message sent to many clients is encoded once.
    _encoded: dict[str, tuple[Encoded, bool]] = field(default_factory=dict, repr=False)

    @property
    def msg_type(self) -> str:
        return str(self.header.get("msg_type", ""))

    @property
    def msg_id(self) -> str:
        return str(self.header.get("msg_id", ""))

    @property
    def buffers(self) -> list[Any]:
        return self.parts[4:]

    @property
    def size(self) -> int:
        """Bytes of its parts: what keeping it costs."""
        return sum(len(part) for part in self.parts)

    def content(self, unpack: Unpack = json.loads) -> dict[str, Any]:
        if self._content is None:
            value = unpack(self.parts[3])
            self._content = value if isinstance(value, dict) else {}
        return self._content

    def parent_header(self, unpack: Unpack = json.loads) -> dict[str, Any]:
        if self._parent is None:
            value = unpack(self.parts[1])
            self._parent = value if isinstance(value, dict) else {}
        return self._parent

    def comm_id(self, unpack: Unpack = json.loads) -> str | None:
        """The content's comm_id, if it is a string (parses the content if not yet)."""
        comm_id = self.content(unpack).get("comm_id")
        return comm_id if isinstance(comm_id, str) else None

    def target_name(self, unpack: Unpack = json.loads) -> str | None:
        """The content's target_name, if it is a non-empty string."""
        target_name = self.content(unpack).get("target_name")
        return target_name if isinstance(target_name, str) and target_name else None


# --- from the kernel ---------------------------------------------------------


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


def build_message(
    session: Session,
    channel: str,
    msg_type: str,
    content: dict[str, Any],
    parent_header: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> WireMessage:
    """A message the bridge itself creates (replies, errors, synthesized closes)."""
    msg = session.msg(msg_type, content=content, parent=parent_header or {}, metadata=metadata)
    header = msg["header"]
    parts = [
        session.pack(header),
        session.pack(msg["parent_header"]),
        session.pack(msg["metadata"]),
        session.pack(content),
    ]
    wire = WireMessage(channel, parts, json.loads(parts[0]))
    wire._content = content
    return wire


def with_content(msg: WireMessage, content: dict[str, Any], pack: Pack) -> WireMessage:
    """The same message (header, parent, metadata, buffers) with new content."""
    parts = [*msg.parts[:3], pack(content), *msg.parts[4:]]
    changed = WireMessage(msg.channel, parts, msg.header)
    changed._content = content
    return changed


# --- to a websocket client ---------------------------------------------------


def encode_frame(msg: WireMessage, protocol: str, unpack: Unpack) -> tuple[Encoded, bool]:
    """Encode a message for a websocket client; returns (frame or pieces, is_binary)."""
    encoded = msg._encoded.get(protocol)
    if encoded is None:
        encoded = msg._encoded[protocol] = _encode(msg, protocol, unpack)
    return encoded


def joined(encoded: Encoded) -> Frame:
    """The frame itself, whether encoded whole or in pieces."""
    return b"".join(encoded) if isinstance(encoded, tuple) else encoded


def _encode(msg: WireMessage, protocol: str, unpack: Unpack) -> tuple[Encoded, bool]:
    if protocol == V1_PROTOCOL:
        if any(len(buffer) >= BY_REFERENCE for buffer in msg.buffers):
            return v1_pieces(msg.parts, msg.channel), True
        return serialize_msg_to_ws_v1(msg.parts, msg.channel), True
    # The keys of the stock channel's frames (Session.deserialize, plus channel), so that
    # clients written against it find msg_id and msg_type at the top level too.
    as_dict = {
        "header": msg.header,
        "msg_id": msg.msg_id,
        "msg_type": msg.msg_type,
        "parent_header": msg.parent_header(unpack),
        "metadata": unpack(msg.parts[2]),
        "content": msg.content(unpack),
        "buffers": msg.buffers,
        "channel": msg.channel,
    }
    if msg.buffers:
        return serialize_binary_message(as_dict), True
    return json.dumps(as_dict, default=json_default, ensure_ascii=False), False


#: How ``_encoded`` keeps a v1 frame whose big buffers are left empty (``v1_without``).
_V1_APART = f"{V1_PROTOCOL} apart"


def buffers_apart(msg: WireMessage) -> list[int]:
    """Positions of the message's big buffers: those a client that asked for buffer frames
    (``protocol.BUFFER_FRAMES_PARAM``) gets each in a frame of its own, after the message."""
    return [i for i, buffer in enumerate(msg.buffers) if len(buffer) >= BY_REFERENCE]


def v1_without(msg: WireMessage, apart: list[int]) -> Encoded:
    """The message's v1 frame with its buffers at positions ``apart`` left empty (encoded once
    for every client that gets it so)."""
    encoded = msg._encoded.get(_V1_APART)
    if encoded is None:
        kept = [b"" if i in apart else buffer for i, buffer in enumerate(msg.buffers)]
        frame = serialize_msg_to_ws_v1([*msg.parts[:4], *kept], msg.channel)
        encoded = msg._encoded[_V1_APART] = frame, True
    return encoded[0]


def v1_pieces(parts: list[Part], channel: str) -> Pieces:
    """A v1 frame in pieces: the offsets, the channel and the small parts joined, and each big
    buffer by reference between them (joined, the pieces are ``serialize_msg_to_ws_v1``'s)."""
    name = channel.encode("utf-8")
    count = len(parts) + 2  # offsets: the channel's start, and the end of it and of each part
    ends = [8 * (count + 1)]
    for size in (len(name), *map(len, parts)):
        ends.append(ends[-1] + size)
    head: list[Part] = [count.to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in ends)]
    head.append(name)
    pieces: list[Part] = []
    for part in parts:
        if len(part) >= BY_REFERENCE:
            pieces += [b"".join(head), part] if head else [part]
            head = []
        else:
            head.append(part)
    if head:
        pieces.append(b"".join(head))
    return tuple(pieces)


# --- from a websocket client -------------------------------------------------


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
