"""jupyter_comm_bridge: comms between notebook-output JavaScript and any kernel."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CommBridgeApp

    return [{"module": "jupyter_comm_bridge", "app": CommBridgeApp}]
