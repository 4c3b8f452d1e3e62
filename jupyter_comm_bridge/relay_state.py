"""What the parts of one relay share (``relay.py`` wires them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from jupyter_client.session import Session

from .bounded import Recent
from .client_table import ClientTable
from .comms import CommTable, SessionId
from .link import KernelLink
from .wire import Unpack, WireMessage

Deliver = Callable[[SessionId, WireMessage], None]


@dataclass(slots=True)
class RelayState:
    """One kernel's comm table, clients and link, the client requests awaiting the kernel's
    reply, and how to deliver a message to a client."""

    table: CommTable
    clients: ClientTable
    link: KernelLink
    #: msg_id of a client's request -> the client, to route the kernel's reply.
    requests: Recent[str, SessionId]
    deliver: Deliver
    log: logging.Logger

    @property
    def session(self) -> Session:
        return self.clients.session

    @property
    def unpack(self) -> Unpack:
        return self.clients.session.unpack
