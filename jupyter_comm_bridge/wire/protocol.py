"""The bridge protocol's own words and numbers, in one place.

Everything a bridge client must agree on with the server beyond the standard kernel
websocket protocol: the ``bridge`` channel and its message types, the query parameters,
the close codes and the acknowledgement cadence. ``js/protocol.js`` holds the same values
for the browser client; ``tests/unit/test_protocol.py`` checks that they agree
(:data:`SHARED`).
"""

from __future__ import annotations

from typing import Final, TypedDict

#: The websocket subprotocol of jupyter_server's v1 kernel protocol.
V1_PROTOCOL: Final = "v1.kernel.websocket.jupyter.org"
#: What the bridge calls "no subprotocol": the legacy JSON protocol.
LEGACY_PROTOCOL: Final = ""

#: Messages on this channel are answered by the server itself, never forwarded.
BRIDGE_CHANNEL: Final = "bridge"
HELLO: Final = "bridge_hello"
ACK: Final = "bridge_ack"
ERROR: Final = "bridge_error"
STATUS: Final = "bridge_status"
#: Announces that the next counted frame's big buffers follow it, each in a binary frame of
#: its own (``?buffer_frames=1``): see :class:`BuffersContent`.
BUFFERS: Final = "bridge_buffers"
#: Requests a client may send on the bridge channel (``<kind>_request`` / ``<kind>_reply``).
#: ``watch_status``: from then on the client also gets the iopub ``status`` of its own
#: messages (ipywidgets throttles its updates on them).
BRIDGE_REQUESTS: Final = ("register_target", "unregister_target", "watch_status")
WATCH_STATUS_REQUEST: Final = "watch_status_request"

#: What a client may send to the kernel (on the shell channel).
FORWARDED_TYPES: Final = ("comm_open", "comm_msg", "comm_close", "comm_info_request")
COMM_TYPES: Final = frozenset({"comm_open", "comm_msg", "comm_close"})

#: Query parameters of the bridge websocket (besides the standard ``session_id``).
RESUMABLE_PARAM: Final = "resumable"
RESUME_PARAM: Final = "resume"
#: ``?buffer_frames=1`` (v1 protocol): the kernel's big buffers reach the client each in a
#: binary frame of its own, which the browser hands over as an ArrayBuffer of its own: no
#: copy out of the message's frame (received buffers are shaped as JupyterLab shapes them).
BUFFER_FRAMES_PARAM: Final = "buffer_frames"

#: Acknowledge at least every this many counted frames (both sides).
ACK_EVERY: Final = 64
#: Clients also acknowledge whenever max_queued_bytes / ACK_BYTES_DIVISOR bytes arrived.
ACK_BYTES_DIVISOR: Final = 4
#: ...and at the latest every ACK_BYTES_MAX bytes (both sides): each side keeps a copy of
#: what it sent until then (the server frees big buffers, pycomm reuses their memory).
ACK_BYTES_MAX: Final = 4 * 1024 * 1024
#: A client that hears nothing for this many heartbeat intervals reconnects.
MISSED_HEARTBEATS: Final = 3

# Websocket close codes.
CLOSE_GOING_AWAY: Final = 1001
CLOSE_TOO_BIG: Final = 1009
CLOSE_UNREACHABLE: Final = 1011
CLOSE_REPLACED: Final = 4000
CLOSE_KERNEL_GONE: Final = 4004
CLOSE_TOO_SLOW: Final = 4008
CLOSE_EXPIRED: Final = 4009
#: After these a client does not reconnect.
FINAL_CLOSE_CODES: Final = (CLOSE_REPLACED, CLOSE_KERNEL_GONE)
#: These end the client (its comms are gone).
CLIENT_END_CODES: Final = (CLOSE_TOO_SLOW, CLOSE_EXPIRED)


# The contents of the bridge channel's messages.


class _HelloRequired(TypedDict):
    session_id: str
    resumed: bool
    received: int
    reconnect_window: float
    heartbeat: float
    max_queued_bytes: int


class HelloContent(_HelloRequired, total=False):
    """``bridge_hello``, the first frame of every resumable connection."""

    #: Why a resume that was asked for is not possible.
    reason: str


class AckContent(TypedDict):
    """``bridge_ack``: "I have your first ``received`` counted frames"."""

    received: int


class BuffersContent(TypedDict):
    """``bridge_buffers``: the next counted frame is a message whose buffers at these
    positions (in ``buffers``) are empty in it; they follow it, in this order, each as a
    binary frame of its own. The message and its buffer frames count as one frame."""

    buffers: list[int]


class _ErrorRequired(TypedDict):
    status: str
    ename: str
    evalue: str


class ErrorContent(_ErrorRequired, total=False):
    """``bridge_error``: a message the bridge refused, and why."""

    msg_type: str
    comm_id: str


class StatusContent(TypedDict):
    """``bridge_status``: how the server's own connection to the kernel is doing."""

    kernel_connection: str
    reason: str


class TargetReplyContent(TypedDict):
    """``register_target_reply`` and ``unregister_target_reply``."""

    status: str
    target_name: str


#: What js/protocol.js must hold too, by the name it has there.
SHARED: Final = {
    "V1_PROTOCOL": V1_PROTOCOL,
    "BRIDGE_CHANNEL": BRIDGE_CHANNEL,
    "HELLO": HELLO,
    "ACK": ACK,
    "ERROR": ERROR,
    "STATUS": STATUS,
    "BUFFERS": BUFFERS,
    "WATCH_STATUS_REQUEST": WATCH_STATUS_REQUEST,
    "RESUMABLE_PARAM": RESUMABLE_PARAM,
    "RESUME_PARAM": RESUME_PARAM,
    "BUFFER_FRAMES_PARAM": BUFFER_FRAMES_PARAM,
    "ACK_EVERY": ACK_EVERY,
    "ACK_BYTES_DIVISOR": ACK_BYTES_DIVISOR,
    "ACK_BYTES_MAX": ACK_BYTES_MAX,
    "MISSED_HEARTBEATS": MISSED_HEARTBEATS,
    "FINAL_CLOSE_CODES": list(FINAL_CLOSE_CODES),
    "CLIENT_END_CODES": list(CLIENT_END_CODES),
}
