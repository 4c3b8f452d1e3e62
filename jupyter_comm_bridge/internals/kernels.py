"""The kernel manager's count of a kernel's page connections.

Part of :mod:`jupyter_comm_bridge.internals`: what the extension relies on in jupyter_server
and tornado beyond their public APIs. Each helper names the internal it touches; the tests
marked ``server_internals`` run against the oldest and the newest jupyter_server admitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def uncounted(multi_kernel_manager: Any, kernel_id: str, count: int) -> Iterator[None]:
    """Leave ``count`` connections out of a kernel's ``_kernel_connections`` meanwhile.

    ``ZMQChannelsWebsocketConnection.disconnect`` starts buffering the page's messages
    when that count is 0 after its own connection is gone.
    """
    counts = getattr(multi_kernel_manager, "_kernel_connections", None)
    if not count or not isinstance(counts, dict) or kernel_id not in counts:
        yield
        return
    counts[kernel_id] -= count
    try:
        yield
    finally:
        if kernel_id in counts:
            counts[kernel_id] += count


def launch_env(kernel: Any) -> dict[str, str]:
    """The environment a kernel was started with (jupyter_client's private ``_launch_args``;
    empty where it has none)."""
    args = getattr(kernel, "_launch_args", None)
    env = args.get("env") if isinstance(args, dict) else None
    return env if isinstance(env, dict) else {}
