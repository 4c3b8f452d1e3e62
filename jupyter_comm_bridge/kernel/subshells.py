"""Kernel subshells (JEP 91) for bridge traffic: comms that answer while a cell runs.

A kernel handles shell messages one at a time, so a comm message waits behind a
running cell. Kernels that list ``"kernel subshells"`` in
``kernel_info_reply.supported_features`` (ipykernel >= 7) can run other shell
loops beside the main one. :class:`Subshells` creates them with
``create_subshell_request`` on the control channel and stamps ``subshell_id``
into the header of each comm message it forwards, one subshell per comm target
by default (as JupyterLab's ``commsOverSubshells`` does).

One :class:`Subshells` lives exactly as long as one connection to one kernel
process, so a subshell id is never reused after a restart. Messages for a key
whose subshell is being created wait (in order) for the reply; if the kernel
cannot make one, everything goes to the main shell, logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from tornado.ioloop import IOLoop

from ..widgets.mode import MAIN_SHELL_TARGETS
from ..wire.bounded import Recent, RecentKeys
from ..wire.message import WireMessage

SubshellMode = Literal["off", "per-target", "per-comm"]
SUBSHELL_MODES: tuple[SubshellMode, ...] = ("off", "per-target", "per-comm")
FEATURE = "kernel subshells"
#: Bytes of forwarded messages kept to send again after an "unknown subshell" reply.
RESEND_BYTES = 8 * 1024 * 1024
RESEND_COUNT = 65536
#: Messages resent once, not again.
RESENT_LIMIT = 1024
#: Comms whose last kernel-side publish is remembered (for ipykernel's sticky routing).
PUBLISHED_LIMIT = 4096

Parts = list[Any]
SendShell = Callable[[Parts], None]
SendControl = Callable[[str, dict[str, Any]], str]


def supports_subshells(kernel_info: dict[str, Any] | None) -> bool:
    """Whether a ``kernel_info_reply`` content announces subshells.

    Detect by the feature list: ipykernel 7 still says protocol_version 5.3.
    """
    features = (kernel_info or {}).get("supported_features")
    return isinstance(features, list) and FEATURE in features


class Subshells:
    """Which shell each forwarded comm message goes to, for one kernel process."""

    def __init__(
        self,
        mode: SubshellMode,
        send_shell: SendShell,
        send_control: SendControl,
        pack: Callable[[Any], bytes],
        log: logging.Logger,
        create_timeout: float,
    ) -> None:
        self.mode = mode
        self._send_shell = send_shell
        self._send_control = send_control
        self._pack = pack
        self.log = log
        self.create_timeout = create_timeout
        #: key (target_name or comm_id) -> subshell_id
        self.ids: dict[str, str] = {}
        #: create_subshell_request msg_id -> key
        self._creating: dict[str, str] = {}
        #: key -> messages waiting for its subshell, in order
        self._waiting: dict[str, list[WireMessage]] = {}
        #: msg_id -> (key, message, subshell_id) of recent stamped messages, to resend
        self._sent: Recent[str, tuple[str, WireMessage, str]] = Recent(
            RESEND_COUNT, size=lambda sent: sent[1].size, max_size=RESEND_BYTES
        )
        self._resent: RecentKeys[str] = RecentKeys(RESENT_LIMIT)
        #: comm_id -> key of the shell the kernel last published on the comm from
        self._published_from: Recent[str, str | None] = Recent(PUBLISHED_LIMIT)

    def key_for(self, target_name: str | None, comm_id: str | None) -> str | None:
        """The subshell key of a comm message; None for the main shell."""
        if target_name in MAIN_SHELL_TARGETS:
            return None  # widgets: their kernel code is not thread-safe
        if self.mode == "per-target":
            return target_name or None
        if self.mode == "per-comm":
            return comm_id
        return None

    def published(self, comm_id: str, subshell_id: object) -> None:
        """The kernel published on a comm while handling a message of ``subshell_id`` (None:
        the main shell). ipykernel sends the comm's next messages to that shell ("sticky")."""
        key: str | None = None
        if subshell_id is not None:
            ours = {v: k for k, v in self.ids.items()}
            if subshell_id not in ours:
                return  # not one of ours: nothing we could fence
            key = ours[subshell_id]
        self._published_from.add(comm_id, key)

    def handled_on(self, key: str | None, comm_id: str | None) -> str | None:
        """The shell the kernel handles a comm message sent to ``key`` on."""
        if comm_id is None or comm_id not in self._published_from:
            return key
        return self._published_from.get(comm_id)

    def forget_comm(self, comm_id: str) -> None:
        self._published_from.pop(comm_id, None)

    def send(self, key: str | None, msg: WireMessage) -> None:
        """Send a client's shell message to the subshell of ``key`` (None: main shell)."""
        if key is None or self.mode == "off":
            self._send_shell(msg.parts)
        elif key in self.ids:
            self._send_stamped(key, msg)
        elif key in self._waiting:
            self._waiting[key].append(msg)
        else:
            self._waiting[key] = [msg]
            self._create(key)

    def _create(self, key: str) -> None:
        request_id = self._send_control("create_subshell_request", {})
        self._creating[request_id] = key
        IOLoop.current().call_later(self.create_timeout, self._timed_out, request_id)

    def _timed_out(self, request_id: str) -> None:
        key = self._creating.pop(request_id, None)
        if key is None:
            return
        try:
            self._give_up(f"no create_subshell_reply within {self.create_timeout:g}s")
        except Exception:
            self.log.exception("comm-bridge: could not send what waited for subshell of %s", key)

    def on_control_reply(self, msg_type: str, parent_id: str, content: dict[str, Any]) -> bool:
        """A control reply from the kernel; True if it was for us."""
        if msg_type == "delete_subshell_reply":
            return True
        key = self._creating.pop(parent_id, None) if msg_type == "create_subshell_reply" else None
        if key is None:
            return False
        subshell_id = content.get("subshell_id")
        if content.get("status", "ok") != "ok" or not isinstance(subshell_id, str):
            self._give_up(f"create_subshell_request failed: {content.get('evalue', content)}")
            return True
        self.ids[key] = subshell_id
        self.log.debug("comm-bridge: subshell %s for %s", subshell_id, key)
        for msg in self._waiting.pop(key, []):
            self._send_stamped(key, msg)
        return True

    def on_unknown_subshell(self, parent_id: str) -> bool:
        """The kernel does not know a subshell we used: make a new one and resend."""
        sent = self._sent.pop(parent_id, None)
        if sent is None:
            return False
        key, msg, lost = sent
        if self._resent.note(parent_id):
            return False  # once only: the kernel may route the comm to the lost one anyway
        if self.ids.get(key) == lost:
            self.log.info("comm-bridge: the kernel lost subshell %s; creating another", lost)
            del self.ids[key]
        self.send(key, msg)
        return True

    def _give_up(self, why: str) -> None:
        """Fall back to the main shell for good, sending what waits, in order."""
        self.log.warning("comm-bridge: kernel subshells not used (%s); using the main shell", why)
        self.mode = "off"
        self._creating.clear()
        for waiting in self._waiting.values():
            for msg in waiting:
                self._send_shell(msg.parts)
        self._waiting.clear()

    def _send_stamped(self, key: str, msg: WireMessage) -> None:
        header = dict(msg.header)  # parsed already; the client's own header is not changed
        header["subshell_id"] = subshell_id = self.ids[key]
        self._sent.add(msg.msg_id, (key, msg, subshell_id))
        self._send_shell([self._pack(header), *msg.parts[1:]])

    def delete_all(self) -> None:
        """Delete the subshells we made (the relay is going away)."""
        for subshell_id in set(self.ids.values()):
            self._send_control("delete_subshell_request", {"subshell_id": subshell_id})
        self.ids.clear()
