"""jupyter_server's kernel managers and the relay's upstreams, as the bridge uses them.

Small Protocols instead of ``Any``: what the bridge calls on jupyter_server's
``MappingKernelManager`` (``multi_kernel_manager``, jupyter_server's own name) and on one
kernel's ``KernelManager`` (``kernel_manager``), and the interface shared by the relay's two
upstreams (ZMQ sockets to a local kernel, a websocket to a kernel gateway) with what they
share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import zmq
from jupyter_client.session import Session

from ..wire.bounded import RecentKeys
from ..wire.message import WireMessage

#: msg_ids of recent requests sent through an upstream, to know their iopub status.
SENT_LIMIT = 4096


class KernelManager(Protocol):
    """One kernel (jupyter_client's ``KernelManager``, or jupyter_server's gateway one)."""

    kernel_id: str | None
    session: Session


@runtime_checkable
class LocalKernelManager(KernelManager, Protocol):
    """A kernel on this machine: its ZMQ sockets and restarter."""

    context: zmq.Context[Any]

    def get_connection_info(self, session: bool = False) -> dict[str, Any]: ...

    def connect_shell(self, identity: bytes | None = None) -> Any: ...

    def connect_control(self, identity: bytes | None = None) -> Any: ...

    def add_restart_callback(
        self, callback: Callable[..., Any], event: str = "restart"
    ) -> None: ...

    def remove_restart_callback(
        self, callback: Callable[..., Any], event: str = "restart"
    ) -> None: ...


class MultiKernelManager(Protocol):
    """jupyter_server's ``MappingKernelManager`` (``ServerApp.kernel_manager``)."""

    allowed_message_types: list[str]

    def get_kernel(self, kernel_id: str) -> KernelManager: ...

    def __contains__(self, kernel_id: str) -> bool: ...

    def notify_connect(self, kernel_id: str) -> None: ...

    def notify_disconnect(self, kernel_id: str) -> None: ...


class Upstream(Protocol):
    """The relay's own connection to one kernel process."""

    #: The content of the kernel's first kernel_info_reply ({} if none came in time).
    kernel_info: dict[str, Any]

    @property
    def connected(self) -> bool: ...

    async def connect(self, timeout: float) -> None:
        """Connect; return once messages from the kernel reach ``on_message``."""

    def send_raw(self, channel: str, parts: list[Any]) -> None:
        """Send ``[header, parent, metadata, content, *buffers]`` (signed by the upstream)."""

    def send_new(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        """Build and send a message of the relay's own; returns its msg_id."""

    def note_sent(self, msg_id: str) -> None: ...

    def sent(self, msg_id: object) -> bool:
        """Whether ``msg_id`` is a recent request sent through this upstream."""

    def close(self) -> None: ...


OnKernelMessage = Callable[[WireMessage], None]


class UpstreamError(RuntimeError):
    """The kernel could not be reached; the text says why."""


class SentRequests:
    """The msg_ids of recent requests sent to the kernel, to tell their iopub ``status`` apart."""

    def __init__(self) -> None:
        self._sent: RecentKeys[str] = RecentKeys(SENT_LIMIT)

    def note_sent(self, msg_id: str) -> None:
        self._sent.add(msg_id, None)

    def sent(self, msg_id: object) -> bool:
        """Whether ``msg_id`` is a recent request of ours (the relay's or a client's)."""
        return msg_id in self._sent
