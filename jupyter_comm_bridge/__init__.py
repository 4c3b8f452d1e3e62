"""jupyter_comm_bridge: comms between notebook-output JavaScript and any kernel.

A Jupyter Server extension: a comm-only websocket per kernel
(``{base_url}comm-bridge/kernels/{kernel_id}/channels``), a wrapper of the page's own kernel
connection, and the browser client ``window.pycomm``. The rooms (``wire``, ``internals``,
``widgets``, ``kernel``, ``bridge``, ``relay``, ``page``), the data path both ways, and the
glossary of the words used throughout are in ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
#: The server extension's name: also its key in the server's settings.
EXTENSION_NAME = "jupyter_comm_bridge"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CommBridgeApp

    return [{"module": "jupyter_comm_bridge", "app": CommBridgeApp}]
