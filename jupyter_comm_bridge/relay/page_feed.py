"""A relay's view of the page's own kernel connection (``api/kernels/{id}/channels``).

The page's connection tells the relay about the kernel's comm messages on their way to
the page (the relay says which the page must not get), and about the page's own
``comm_close`` messages (the relay keeps those of bridge comms from the kernel), and
remembers the executions that displayed classic-Notebook code. Until the
relay's own iopub subscription is live, and a moment after, the page's copy of a comm
message is routed too, so comms the kernel opened before the relay existed are not lost.
"""

from __future__ import annotations

from collections.abc import Callable

from tornado.ioloop import IOLoop

from ..wire.bounded import RecentKeys
from ..wire.message import WireMessage
from .state import RelayState
from .to_clients import KernelRouting

#: How long after the relay's iopub is live the page's copies are still routed.
GRACE = 2.0
#: How many executions with classic-Notebook code are remembered (see ``classic_runs``).
CLASSIC_RUNS = 64


class PageFeed:
    """The page's connection, as one relay sees it."""

    def __init__(self, state: RelayState, routing: KernelRouting) -> None:
        self.table, self.link = state.table, state.link
        self.unpack, self.log = state.unpack, state.log
        self.routing = routing
        #: Executions (parent msg_ids) whose outputs ran code written for the classic
        #: Notebook: their HTML outputs keep their source for it (injection.with_html_source).
        self.classic_runs: RecentKeys[str] = RecentKeys(CLASSIC_RUNS)

    def hides(self, msg: WireMessage, own_manager: bool = False) -> bool:
        """A comm message on its way to the page; True if the page must not get it.
        ``own_manager``: the page has a widget manager of its own, so widgets' comms are its too."""
        comm_id = msg.comm_id(self.unpack)
        if comm_id is None:
            return False
        target_name = msg.target_name(self.unpack) if msg.msg_type == "comm_open" else None
        hide = self.table.hides_from_page(msg, comm_id, target_name, own_manager)
        if self._routes_copies():
            self.routing.route_comm(msg)
        return hide

    def captured(self, msg: WireMessage) -> None:
        """An output this page's Output widgets capture (the page does not get it); routed
        from this copy too as long as comm messages are."""
        if self._routes_copies():
            self.routing.route_output(msg)

    def _routes_copies(self) -> bool:
        """Whether the page's copies of kernel messages are routed: not while the relay's
        own iopub has been live for a while."""
        live = self.link.live_since
        return live is None or IOLoop.current().time() - live < GRACE

    def sent_by_bridge(self, msg_id: object) -> bool:
        """Whether ``msg_id`` is a request the relay sent (its own or a client's)."""
        return self.link.sent(msg_id)

    def page_closes(
        self, comm_id: str, forward: Callable[[], None], own_manager: bool = False
    ) -> bool:
        """The page closes ``comm_id``; True if the bridge keeps it from the kernel. A page
        with a widget manager of its own closes widgets as on a stock server."""
        if own_manager and self.table.of_owned_target(comm_id):
            return False
        if comm_id in self.table.comms:
            self.log.debug("comm-bridge: dropping page comm_close of bridge comm %s", comm_id)
            return True
        return self.table.hold_page_close(comm_id, forward)
