"""The extension's registry of kernel relays: one per kernel, found by kernel id."""

from __future__ import annotations

import logging
from typing import Protocol

from ..internals.activity import activity_by_reference
from ..kernel.managers import MultiKernelManager
from ..wire.protocol import CLOSE_GOING_AWAY, CLOSE_KERNEL_GONE
from .relay import KernelRelay, RelaySettings


class BridgeSettings(RelaySettings, Protocol):
    """The extension's configuration, as its handlers and relays read it."""

    ping_interval: float
    ping_timeout: float


class RelayRegistry:
    """Creates a relay the first time a kernel is used through the bridge.

    A relay's connection to its kernel lives while it has clients; the relay
    itself (its comm table) lives until the kernel goes, so that comms the
    kernel opens just before a client registers their target can be claimed.
    """

    def __init__(
        self,
        multi_kernel_manager: MultiKernelManager,
        settings: BridgeSettings,
        log: logging.Logger,
    ) -> None:
        self.multi_kernel_manager = multi_kernel_manager
        self.settings = settings
        self.log = log
        self.relays: dict[str, KernelRelay] = {}
        #: Open bridge websockets per kernel, as counted in the kernel model's ``connections``.
        self.connections: dict[str, int] = {}

    def get(self, kernel_id: str) -> KernelRelay | None:
        return self.relays.get(kernel_id)

    def relay(self, kernel_id: str) -> KernelRelay:
        """The relay of a running kernel, created on first use (KeyError if unknown)."""
        relay = self.relays.get(kernel_id)
        if relay is None:
            kernel = self.multi_kernel_manager.get_kernel(kernel_id)
            relay = KernelRelay(
                kernel_id,
                kernel,
                self.settings,
                self._allowed_types,
                self.log,
                on_dead=lambda reason="the kernel died": self.kernel_gone(kernel_id, reason),
            )
            self.relays[kernel_id] = relay
            activity_by_reference(self.multi_kernel_manager, kernel, relay.tap)
        return relay

    def count_connection(self, kernel_id: str, opened: bool) -> None:
        """Count a bridge websocket where jupyter_server counts the page's connections, so
        that ``GET api/kernels`` and the idle culler see bridge clients too."""
        count = self.connections.get(kernel_id, 0) + (1 if opened else -1)
        if count > 0:
            self.connections[kernel_id] = count
        else:
            self.connections.pop(kernel_id, None)
        if opened:
            self.multi_kernel_manager.notify_connect(kernel_id)
        else:
            self.multi_kernel_manager.notify_disconnect(kernel_id)

    def _allowed_types(self) -> list[str]:
        return list(getattr(self.multi_kernel_manager, "allowed_message_types", None) or [])

    def kernel_gone(self, kernel_id: str, reason: str, code: int = CLOSE_KERNEL_GONE) -> None:
        relay = self.relays.pop(kernel_id, None)
        if relay is not None:
            self.log.info("comm-bridge: kernel %s gone (%s)", kernel_id, reason)
            relay.close(reason, code)

    def kernel_restarted(self, kernel_id: str) -> None:
        relay = self.relays.get(kernel_id)
        if relay is not None:
            # first: the restart may have replaced the activity stream the relay listens to
            manager = self.multi_kernel_manager
            activity_by_reference(manager, manager.get_kernel(kernel_id), relay.tap)
            relay.kernel_restarted()

    def close_all(self, reason: str) -> None:
        """The server is stopping: clients may come back to the next one (1001)."""
        for kernel_id in list(self.relays):
            self.kernel_gone(kernel_id, reason, CLOSE_GOING_AWAY)
