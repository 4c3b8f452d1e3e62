"""Socket options for the websockets the server opens to a kernel gateway.

A kernel gateway writes a comm reply as several small frames (status busy, the
``comm_msg``, status idle) without ``TCP_NODELAY``: its Nagle holds the second
frame until the first is acknowledged, and Linux delays that ACK by up to 40 ms.
Our side can fix both halves: ``TCP_NODELAY`` for what we send, and
``TCP_QUICKACK`` (re-armed after each frame read, since Linux clears it) so that
what we receive is acknowledged at once.
"""

from __future__ import annotations

import socket
from typing import Any

#: Linux only; elsewhere delayed ACKs stay as the system has them.
TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def _socket(ws: Any) -> socket.socket | None:
    """The socket under a connected tornado ``WebSocketClientConnection``, if any."""
    stream = getattr(getattr(ws, "protocol", None), "stream", None)
    sock = getattr(stream, "socket", None)
    return sock if isinstance(sock, socket.socket) else None


def low_latency(ws: Any) -> None:
    """No Nagle for what we write, and an immediate ACK for what came in."""
    sock = _socket(ws)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # a socket closing meanwhile: nothing to tune
        return
    ack_now(ws)


def ack_now(ws: Any) -> None:
    """Acknowledge what was received now, and keep quick-ACK mode for what follows."""
    sock = _socket(ws)
    if sock is None or TCP_QUICKACK is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
    except OSError:
        pass
