"""A Jupyter message as the bridge carries it, both ways: :class:`WireMessage`.

A message travels through the bridge as its channel and its ZMQ-style parts
``[header, parent_header, metadata, content, *buffers]`` (the first four packed as JSON
bytes). That is what the kernel's sockets speak and what the ``v1.kernel.websocket.jupyter.org``
protocol carries, so messages pass between kernel and v1 clients without being re-encoded.
Only the small header is always parsed; the content is parsed on demand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.session import Session

Unpack = Callable[[bytes], Any]
Pack = Callable[[Any], bytes]
Frame = str | bytes
#: A part of a message: bytes, or a big buffer kept by reference (a view of a ZMQ frame).
Part = bytes | memoryview
#: One binary websocket message as pieces written in order; joined, they are its frame.
Pieces = tuple[Part, ...]
Encoded = Frame | Pieces
#: Buffers from this size on travel by reference, never joined into a frame or copied out
#: of their ZMQ frame: each fresh copy of 4 MiB costs milliseconds of page faults
#: (benchmarks/README.md, "Where the time goes").
BY_REFERENCE = 64 * 1024


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


def comm_id_of(msg: WireMessage | None, unpack: Unpack) -> str | None:
    """A message's comm_id for a log line or an error: None when it has none or cannot be
    read (the message may be why we are logging)."""
    if msg is None:
        return None
    try:
        return msg.comm_id(unpack)
    except ValueError:
        return None
