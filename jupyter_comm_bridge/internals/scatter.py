"""One binary websocket message written from pieces, without joining them.

``WebSocketHandler.write_message`` takes one ``bytes`` and tornado copies it once
more to put the frame header in front: for a message with a 4 MiB buffer that is
two fresh 4 MiB copies. Here the frame header and the message's small pieces go
to the stream as one write, and each big buffer as a view of its own: tornado's
write buffer keeps big pieces by reference and the socket reads them from there.
A compressed or client-side (masked) connection takes the joined frame instead.
"""

from __future__ import annotations

import struct
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..wire.message import BY_REFERENCE, Pieces

FIN_BINARY = 0x82


def frame_header(size: int) -> bytes:
    """The header of an unmasked, final, binary frame of ``size`` bytes (RFC 6455, 5.2)."""
    if size < 126:
        return struct.pack("!BB", FIN_BINARY, size)
    if size <= 0xFFFF:
        return struct.pack("!BBH", FIN_BINARY, 126, size)
    return struct.pack("!BBQ", FIN_BINARY, 127, size)


def write_pieces(handler: WebSocketHandler, pieces: Pieces) -> Any:
    """Write one binary message; returns the future of its last piece, as ``write_message``.

    Raises ``WebSocketClosedError`` when the websocket is closed or closing.
    """
    conn: Any = handler.ws_connection
    if conn is None or conn.is_closing():
        raise WebSocketClosedError()
    stream = getattr(conn, "stream", None)
    if stream is None or getattr(conn, "_compressor", None) or getattr(conn, "mask_outgoing", 1):
        return handler.write_message(b"".join(pieces), binary=True)
    size = sum(map(len, pieces))
    head = frame_header(size)
    small = isinstance(pieces[0], bytes) and len(pieces[0]) < BY_REFERENCE
    first, rest = (head + pieces[0], pieces[1:]) if small else (head, pieces)
    try:
        written = stream.write(first)
        for piece in rest:
            written = stream.write(piece)
    except StreamClosedError:
        raise WebSocketClosedError() from None
    conn._message_bytes_out += size  # tornado's counts, as write_message keeps them
    conn._wire_bytes_out += size + len(head)
    return written
