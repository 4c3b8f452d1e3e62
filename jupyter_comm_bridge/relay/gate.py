"""What a bridge client may send to the kernel: the checks, as pure functions.

Only ``comm_open``, ``comm_msg``, ``comm_close`` and ``comm_info_request`` on
the shell channel pass (and only those the server's ``allowed_message_types``
allows); a comm message must name a comm this client may use.
"""

from __future__ import annotations

from ..wire.message import Unpack, WireMessage
from ..wire.protocol import FORWARDED_TYPES
from .comms import CommTable


class Refused(Exception):
    """A message the bridge will not forward; ``ename`` and the text go to the client."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(evalue)
        self.ename = ename


def check_forwardable(msg: WireMessage, allowed: list[str]) -> None:
    """Refuse anything but the comm messages (on shell) that the server allows."""
    msg_type = msg.msg_type
    if (
        msg.channel == "shell"
        and msg_type in FORWARDED_TYPES
        and (not allowed or msg_type in allowed)
    ):
        return
    forwarded = ", ".join(t for t in FORWARDED_TYPES if not allowed or t in allowed)
    raise Refused(
        "MessageRefused",
        f"comm-bridge does not forward {msg_type!r} on the {msg.channel!r} channel: "
        f"only {forwarded} on the shell channel reach the kernel",
    )


def require_target_name(msg: WireMessage, unpack: Unpack) -> str:
    """The message's content.target_name (comm_open, target registrations), or refuse it."""
    target_name = msg.target_name(unpack)
    if target_name is None:
        raise Refused("MalformedMessage", f"{msg.msg_type} needs a content.target_name string")
    return target_name


def check_comm(table: CommTable, session_id: str, msg: WireMessage, unpack: Unpack) -> str:
    """Check a comm message against the table (recording a comm_open); returns its comm_id."""
    comm_id = msg.comm_id(unpack)
    if not comm_id:
        raise Refused("MalformedMessage", f"{msg.msg_type} needs a content.comm_id string")
    if msg.msg_type == "comm_open":
        target_name = require_target_name(msg, unpack)
        if not table.client_opens(session_id, comm_id, target_name):
            raise Refused("CommExists", f"comm {comm_id!r} is already open")
    elif not table.may_use(session_id, comm_id):
        raise Refused("UnknownComm", f"comm {comm_id!r} is not open on this connection")
    return comm_id
