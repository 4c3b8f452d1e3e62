"""Voila's pages (``/voila/render/...`` of a server with this extension).

Voila runs the notebook on the server and writes the outputs into its page, so they never
pass through the page's kernel connection where the bootstrap goes in. Two things bring them
the bridge: the Voila labextension this package installs (``js/voila``, loaded by every Voila
page from ``share/jupyter/voila/labextensions``), which has the server inject the page's outputs
(:mod:`.outputs`) before Voila renders them; and a ``page_config_hook`` that tells that
extension the bridge is here and, when the bridge serves widgets, keeps Voila's own widget
managers off the page (they would fail to load the widget code the server doesn't have).

The standalone ``voila`` app is a tornado application of its own that loads no server
extension: its pages find no bridge, and the extension says so in the browser's console.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traitlets.config import Config

from ..internals.kernels import launch_env

#: What the page config tells the Voila labextension (absent: no bridge on this server).
PAGE_CONFIG_KEY = "commBridge"
#: Voila's widget managers, as its page config names them (ipywidgets 7 and 8).
VOILA_WIDGET_MANAGERS = frozenset(
    {"@voila-dashboards/widgets-manager7", "@voila-dashboards/widgets-manager8"}
)

#: Set by Voila in the environment of the kernels it starts for its pages.
VOILA_KERNEL_MARK = "VOILA_REQUEST_URL"

PageConfigHook = Callable[..., dict[str, Any]]


def is_dashboard_kernel(kernel: Any) -> bool:
    """Whether Voila started this kernel for a page: it runs every cell before the page loads,
    so the comms its cells open wait for a page that registers their targets later."""
    return VOILA_KERNEL_MARK in launch_env(kernel)


def page_config_hook(widgets: bool, before: PageConfigHook | None) -> PageConfigHook:
    """A Voila ``page_config_hook`` for this server (``widgets``: the bridge serves Voila's
    widgets), run after ``before``, one the user configured."""

    def hook(page_config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if before is not None:
            page_config = before(page_config, **kwargs)
        page_config = dict(page_config)
        page_config[PAGE_CONFIG_KEY] = {"widgets": widgets}
        if widgets:
            extensions = page_config.get("federated_extensions") or []
            page_config["federated_extensions"] = [
                x for x in extensions if x.get("name") not in VOILA_WIDGET_MANAGERS
            ]
        return page_config

    return hook


def configure_voila(config: Config, widgets: bool) -> None:
    """Set the hook in the server's config, for Voila's server extension, which loads after
    this one (jupyter_server loads extensions in the order of their names)."""
    voila = config.VoilaConfiguration
    before = voila.get("page_config_hook")
    voila.page_config_hook = page_config_hook(widgets, before if callable(before) else None)
