"""One client's messages in the order it sent them, across kernel subshells.

Each shell (the main one, each subshell) handles its messages first in, first
out, but different shells run at the same time. A client whose messages go to
two shells could otherwise see a reply (``comm_info_reply``) that misses a
``comm_open`` it sent before the request, or a comm handler run before the
handler of a message sent earlier. So a message waits while an earlier message
of the same client may still be unhandled on another shell: the relay sends a
*fence* there (a ``comm_info_request`` of its own, for no target), whose reply
means that everything before it on that shell was handled. Messages to the same
shell as the previous ones go at once.

A shell is named by its subshell key (see :mod:`.subshells`): None is the main
shell. ipykernel routes a comm's later messages to the shell that last
published on it ("sticky" routing), so a comm message counts for that shell as
well as for the one it was sent to.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

#: The target of fence requests: none is registered under it, so the reply is tiny.
FENCE_TARGET = "comm_bridge.fence"

Shell = str | None
#: Sends a fence to a shell; returns its msg_id.
SendFence = Callable[[Shell], str]


@dataclass(slots=True)
class _Waiting:
    send: Callable[[], None]
    #: The shell the kernel handles it on.
    shell: Shell
    #: Other shells it may be handled on, counted too for the messages after it.
    also: tuple[Shell, ...]


@dataclass(slots=True)
class _ClientOrder:
    #: The number of this client's messages sent so far.
    sent: int = 0
    #: shell -> count at the last message sent there (its messages up to it may be unhandled).
    last_sent: dict[Shell, int] = field(default_factory=dict)
    #: shell -> count up to which a fence's reply showed everything handled there.
    handled: dict[Shell, int] = field(default_factory=dict)
    #: shell -> count the fence in flight there covers.
    fencing: dict[Shell, int] = field(default_factory=dict)
    waiting: deque[_Waiting] = field(default_factory=deque)


class Ordering:
    """Per-client order of the messages a relay sends to one kernel process."""

    def __init__(self, send_fence: SendFence, log: logging.Logger) -> None:
        self._send_fence = send_fence
        self.log = log
        self._clients: dict[str, _ClientOrder] = {}
        #: fence msg_id -> (session_id, shell, count covered)
        self._fences: dict[str, tuple[str, Shell, int]] = {}

    def send(
        self,
        session_id: str,
        send: Callable[[], None],
        shell: Shell,
        also: tuple[Shell, ...] = (),
    ) -> None:
        """Call ``send`` (a message for ``shell``) once the client's earlier messages on other
        shells are handled."""
        order = self._clients.setdefault(session_id, _ClientOrder())
        item = _Waiting(send, shell, tuple(s for s in also if s != shell))
        if order.waiting or not self._try_send(session_id, order, item):
            order.waiting.append(item)

    def _try_send(self, session_id: str, order: _ClientOrder, item: _Waiting) -> bool:
        """Send ``item`` unless something earlier may be unhandled on another shell; then fence
        that shell (once) and return False."""
        blocking = [
            (shell, last)
            for shell, last in order.last_sent.items()
            if shell != item.shell and last > order.handled.get(shell, 0)
        ]
        for shell, last in blocking:
            if order.fencing.get(shell, -1) < last:
                order.fencing[shell] = last
                self._fences[self._send_fence(shell)] = (session_id, shell, last)
        if blocking:
            return False
        item.send()
        order.sent += 1
        for shell in (item.shell, *item.also):
            order.last_sent[shell] = order.sent
        return True

    def fence_replied(self, parent_id: str) -> bool:
        """A reply from the kernel: True if it answers one of our fences (then it is ours)."""
        fence = self._fences.pop(parent_id, None)
        if fence is None:
            return False
        session_id, shell, covered = fence
        order = self._clients.get(session_id)
        if order is None:
            return True
        order.handled[shell] = max(order.handled.get(shell, 0), covered)
        if order.fencing.get(shell) == covered:
            del order.fencing[shell]
        while order.waiting and self._try_send(session_id, order, order.waiting[0]):
            order.waiting.popleft()
        return True

    def forget(self, session_id: str) -> None:
        """The client is gone: what it had waiting is dropped."""
        order = self._clients.pop(session_id, None)
        if order is not None and order.waiting:
            self.log.info(
                "comm-bridge: %d message(s) of %s not sent: the client ended",
                len(order.waiting),
                session_id,
            )
