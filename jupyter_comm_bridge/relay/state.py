"""What the parts of one relay share (``relay.py`` wires them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from jupyter_client.session import Session

from ..bridge.clients import ClientTable
from ..kernel.link import KernelLink
from ..wire.bounded import Recent
from ..wire.message import Unpack, WireMessage
from .comms import ClientId, CommTable

Deliver = Callable[[ClientId, WireMessage], None]
#: Messages whose status is watched and not idle yet, per relay.
STATUS_LIMIT = 4096


@dataclass(slots=True)
class RelayState:
    """One kernel's comm table, clients and link, the client requests awaiting the kernel's
    reply, and how to deliver a message to a client."""

    table: CommTable
    clients: ClientTable
    link: KernelLink
    #: msg_id of a client's request -> the client, to route the kernel's reply.
    requests: Recent[str, ClientId]
    deliver: Deliver
    log: logging.Logger
    #: msg_id of a message of a client that watches its status -> the client.
    status_watched: Recent[str, ClientId] = field(default_factory=lambda: Recent(STATUS_LIMIT))

    @property
    def session(self) -> Session:
        return self.clients.session

    @property
    def unpack(self) -> Unpack:
        return self.clients.session.unpack
