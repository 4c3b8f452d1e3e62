"""Messages to a websocket client, in either wire protocol (jupyter_server's serializers).

A message is encoded once per protocol for every client that gets it; big buffers stay
pieces of their own (by reference), never joined into a frame here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_server.services.kernels.connection import base as _serializers

from .message import BY_REFERENCE, Encoded, Frame, Part, Pieces, Unpack, WireMessage
from .protocol import V1_PROTOCOL

# jupyter_server's serializers, with the types they have (they are not annotated there).
serialize_msg_to_ws_v1: Callable[[list[Any], str], bytes] = _serializers.serialize_msg_to_ws_v1
serialize_binary_message: Callable[[dict[str, Any]], bytes] = _serializers.serialize_binary_message


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
