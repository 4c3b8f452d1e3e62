"""Who may see which comm: the routing table of one kernel, without I/O.

A comm belongs either to the bridge client that opened it, or (opened by the
kernel) to every client that had registered its ``target_name`` when it opened.
A kernel-opened comm whose target nobody has registered yet is *pending* for a
short window: its messages are kept, and the page's automatic ``comm_close`` is
held back, so a client that registers the target a moment later still gets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..wire.bounded import RecentKeys
from ..wire.message import WireMessage

CLOSED_LIMIT = 1024

#: A bridge client, by its session_id.
ClientId = str


@dataclass(slots=True)
class CommRecord:
    comm_id: str
    target_name: str
    #: The client that opened the comm, or None when the kernel opened it.
    opened_by: ClientId | None
    clients: set[ClientId]


@dataclass(slots=True)
class PendingComm:
    comm_id: str
    target_name: str
    deadline: float
    messages: list[WireMessage] = field(default_factory=list)
    size: int = 0
    closed: bool = False
    #: Forwarders of page ``comm_close`` messages held back for this comm.
    held: list[Callable[[], None]] = field(default_factory=list)


class CommTable:
    """The comms and registered targets of one kernel."""

    def __init__(self, pending_limit: int, owned_targets: frozenset[str] = frozenset()) -> None:
        self.targets: dict[str, set[ClientId]] = {}
        #: Targets whose kernel-opened comms the bridge owns: kept from the page for as long
        #: as the kernel has them, whoever registers the target and when (widgets).
        self.owned_targets = owned_targets
        self.comms: dict[str, CommRecord] = {}
        self.pending: dict[str, PendingComm] = {}
        self.pending_limit = pending_limit
        self._pending_size = 0
        #: Messages of owned comms sent while nobody had registered their target (unclaimed),
        #: in order:
        #: the first client to register it gets them (kernels without a way to send a
        #: widget's state again, such as Deno's and R's, need the comm_open itself).
        self._unclaimed: list[tuple[str, WireMessage]] = []
        #: Bridge comms the kernel closed lately: the page's copy of the close, which may come
        #: after the relay's, is hidden too.
        self._closed: RecentKeys[str] = RecentKeys(CLOSED_LIMIT)
        #: Those of them of owned targets (shared with pages that have a manager of their own).
        self._closed_owned: RecentKeys[str] = RecentKeys(CLOSED_LIMIT)

    # --- what clients do -------------------------------------------------

    def register(self, session_id: ClientId, target_name: str) -> list[WireMessage]:
        """Register a target for a client; returns the kernel's messages the client now gets,
        in order: those of the pending comms it claims (their held page closes are dropped),
        and of an owned target's comms that nobody had registered yet.

        An owned target's comms that the kernel already opened are the client's at once.
        """
        self.targets.setdefault(target_name, set()).add(session_id)
        messages: list[WireMessage] = []
        if target_name in self.owned_targets:
            for record in self.comms.values():
                if record.opened_by is None and record.target_name == target_name:
                    record.clients.add(session_id)
            messages += self._take_unclaimed(target_name)
        claimed = [p for p in self.pending.values() if p.target_name == target_name]
        for pending in claimed:
            self._drop_pending(pending.comm_id)
            pending.held.clear()  # the page's automatic comm_close must not reach the kernel
            messages += pending.messages
            if not pending.closed:
                self.comms[pending.comm_id] = CommRecord(
                    pending.comm_id, target_name, None, {session_id}
                )
        return messages

    def unregister(self, session_id: ClientId, target_name: str) -> None:
        clients = self.targets.get(target_name)
        if clients is not None:
            clients.discard(session_id)
            if not clients:
                del self.targets[target_name]

    def client_opens(self, session_id: ClientId, comm_id: str, target_name: str) -> bool:
        """Record a comm a client opens; False when the comm_id is taken."""
        if comm_id in self.comms or comm_id in self.pending:
            return False
        self.comms[comm_id] = CommRecord(comm_id, target_name, session_id, {session_id})
        return True

    def may_use(self, session_id: ClientId, comm_id: str) -> bool:
        record = self.comms.get(comm_id)
        return record is not None and session_id in record.clients

    def client_closes(self, session_id: ClientId, comm_id: str) -> set[ClientId]:
        """Forget a comm a client closes; returns the other clients that shared it."""
        record = self.comms.pop(comm_id, None)
        return set() if record is None else record.clients - {session_id}

    def forget_client(self, session_id: ClientId) -> list[str]:
        """Forget a client; returns the comms nobody is left to use, to close in the kernel."""
        for target_name in [t for t, c in self.targets.items() if session_id in c]:
            self.unregister(session_id, target_name)
        orphans = []
        for comm_id, record in list(self.comms.items()):
            record.clients.discard(session_id)
            if not record.clients and not self._owned(record):
                del self.comms[comm_id]
                orphans.append(comm_id)
        return orphans

    def comm_info_for(self, session_id: ClientId, content: dict[str, Any]) -> dict[str, Any]:
        """A kernel's ``comm_info_reply`` content as that client may see it: only its comms.

        Rebuilt rather than copied, so nothing else of the reply passes; IRkernel's
        reply, nested one level down, is read too.
        """
        comms = content.get("comms")
        nested = content.get("content")
        if not comms and isinstance(nested, dict):
            comms = nested.get("comms")
        visible = {
            comm_id: info
            for comm_id, info in (comms.items() if isinstance(comms, dict) else ())
            if isinstance(info, dict)
            and self.visible(session_id, comm_id, str(info.get("target_name", "")))
        }
        return {"status": content.get("status", "ok"), "comms": visible}

    def visible(self, session_id: ClientId, comm_id: str, target_name: str) -> bool:
        """May this client see (and from now on use) a comm listed by ``comm_info_reply``?

        Kernel-opened comms of a registered target are adopted, including ones
        opened before the bridge saw them.
        """
        record = self.comms.get(comm_id)
        if record is None:
            if session_id not in self.targets.get(target_name, ()) or comm_id in self.pending:
                return False
            self.comms[comm_id] = CommRecord(comm_id, target_name, None, {session_id})
            return True
        if session_id in record.clients:
            return True
        if record.opened_by is None and session_id in self.targets.get(record.target_name, ()):
            record.clients.add(session_id)
            return True
        return False

    # --- what the kernel does --------------------------------------------

    def route_kernel_message(
        self, msg: WireMessage, comm_id: str, target_name: str | None, now: float, window: float
    ) -> set[ClientId]:
        """Route a comm message from the kernel; returns the clients that get it.

        Messages of pending comms are kept (returned set is empty).
        """
        if msg.msg_type == "comm_open":
            clients = set(self.targets.get(target_name or "", ()))
            if clients or target_name in self.owned_targets:
                self.comms[comm_id] = CommRecord(comm_id, target_name or "", None, clients)
                if not clients:
                    self._keep_unclaimed(target_name or "", msg)
            elif window > 0 and comm_id not in self.pending:
                self.pending[comm_id] = PendingComm(comm_id, target_name or "", now + window)
                self._keep(self.pending[comm_id], msg)
            return clients
        record = self.comms.get(comm_id)
        if record is not None:
            if msg.msg_type == "comm_close":
                del self.comms[comm_id]
                self._closed.note(comm_id)  # the page's copy of this close is the bridge's too
                if record.target_name in self.owned_targets:
                    self._closed_owned.note(comm_id)
            if not record.clients and self._owned(record):
                self._keep_unclaimed(record.target_name, msg)
            return set(record.clients)
        pending = self.pending.get(comm_id)
        if pending is not None and not pending.closed:
            pending.closed = msg.msg_type == "comm_close"
            self._keep(pending, msg)
        return set()

    def hides_from_page(
        self, msg: WireMessage, comm_id: str, target_name: str | None, shares_owned: bool = False
    ) -> bool:
        """Is this kernel message bridge traffic the page must not see? With ``shares_owned``
        (the page has a widget manager of its own), comms of owned targets are the page's too."""
        if shares_owned and self.of_owned_target(comm_id, target_name):
            return False
        if msg.msg_type == "comm_open":
            return bool(self.targets.get(target_name or "")) or target_name in self.owned_targets
        return comm_id in self.comms or comm_id in self._closed

    def of_owned_target(self, comm_id: str, target_name: str | None = None) -> bool:
        """Whether ``comm_id`` (opened on ``target_name``, if known) is, or lately was, a comm
        of an owned target."""
        if target_name is not None:
            return target_name in self.owned_targets
        record = self.comms.get(comm_id)
        if record is not None:
            return record.target_name in self.owned_targets
        return comm_id in self._closed_owned

    def closed_by_kernel(self, comm_id: str) -> bool:
        """Did the kernel close this bridge comm lately (a client's close may cross it)?"""
        return comm_id in self._closed and comm_id not in self.comms

    def keep_captured(self, comm_id: str, msg: WireMessage) -> bool:
        """An output that an owned comm's widget captured (an Output widget's ``with out:``)
        while nobody had registered its target: kept with the comm's messages, in order, for
        the first client to register it (only a frontend keeps what an Output widget shows).
        False when the comm has clients, who get it now."""
        record = self.comms.get(comm_id)
        if record is None or record.clients or not self._owned(record):
            return False
        self._keep_unclaimed(record.target_name, msg)
        return True

    def forget_comms(self) -> None:
        """The kernel process is gone, and its comms with it (targets stay registered)."""
        self.comms.clear()
        self._pending_size -= sum(msg.size for _, msg in self._unclaimed)
        self._unclaimed.clear()

    def _keep_unclaimed(self, target_name: str, msg: WireMessage) -> None:
        self._unclaimed.append((target_name, msg))
        self._pending_size += msg.size
        while self._pending_size > self.pending_limit and self._unclaimed:
            self._pending_size -= self._unclaimed.pop(0)[1].size  # the oldest go first

    def _take_unclaimed(self, target_name: str) -> list[WireMessage]:
        taken = [msg for target, msg in self._unclaimed if target == target_name]
        self._unclaimed = [(t, m) for t, m in self._unclaimed if t != target_name]
        self._pending_size -= sum(msg.size for msg in taken)
        return taken

    def _owned(self, record: CommRecord) -> bool:
        return record.opened_by is None and record.target_name in self.owned_targets

    # --- pending comms ---------------------------------------------------

    def hold_page_close(self, comm_id: str, forward: Callable[[], None]) -> bool:
        """Hold back a page's comm_close of a pending comm; False if not pending."""
        pending = self.pending.get(comm_id)
        if pending is None:
            return False
        pending.held.append(forward)
        return True

    def expire(self, now: float) -> list[PendingComm]:
        """Pending comms whose window has passed; their held closes should go on."""
        expired = [p for p in self.pending.values() if p.deadline <= now]
        for pending in expired:
            self._drop_pending(pending.comm_id)
        return expired

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self.pending.values()), default=None)

    def _keep(self, pending: PendingComm, msg: WireMessage) -> None:
        size = msg.size
        pending.messages.append(msg)
        pending.size += size
        self._pending_size += size

    def _drop_pending(self, comm_id: str) -> PendingComm | None:
        pending = self.pending.pop(comm_id, None)
        if pending is not None:
            self._pending_size -= pending.size
        return pending

    def over_limit(self) -> list[PendingComm]:
        """Evict the oldest pending comms until their kept messages fit the limit."""
        evicted = []
        for comm_id in list(self.pending):
            if self._pending_size <= self.pending_limit:
                break
            evicted.append(self._drop_pending(comm_id))
        return [p for p in evicted if p is not None]
