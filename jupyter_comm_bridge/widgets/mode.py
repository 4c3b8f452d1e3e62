"""Whether the bridge serves widgets, and the widget protocol's comm targets.

When the server has no widget frontend of its own (no jupyterlab_widgets), the bridge
takes the widgets' comms: their ``comm_open`` on ``jupyter.widget`` never reaches the page
(which would close it), and a widget-view output gets HTML that mounts the real widget code
in the page (``js/widgets``), over the bridge (:mod:`.views`). Output widgets capture what
a cell prints (:mod:`.captures`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from jupyter_core.paths import jupyter_path

WidgetsMode = Literal["auto", "on", "off"]
WIDGETS_MODES: tuple[WidgetsMode, ...] = ("auto", "on", "off")

WIDGET_TARGET = "jupyter.widget"
CONTROL_TARGET = "jupyter.widget.control"
#: Targets whose handlers are not thread-safe in the kernel: always on its main shell.
MAIN_SHELL_TARGETS = frozenset({WIDGET_TARGET, CONTROL_TARGET})
#: Where a server's own widget frontend would be installed: JupyterLab / Notebook 7
#: (jupyterlab_widgets) and the classic Notebook (widgetsnbextension).
MANAGER_FILES = (
    ("labextensions", "@jupyter-widgets/jupyterlab-manager/package.json"),
    ("nbextensions", "jupyter-js-widgets/extension.js"),
)


def server_has_widget_manager() -> bool:
    """Whether this server's environment has a widget frontend (its pages then have one)."""
    for kind, relative in MANAGER_FILES:
        for directory in [*jupyter_path(kind), str(Path(sys.prefix) / "share" / "jupyter" / kind)]:
            if (Path(directory) / relative).is_file():
                return True
    return False


def widgets_enabled(mode: WidgetsMode) -> bool:
    return mode == "on" or (mode == "auto" and not server_has_widget_manager())
