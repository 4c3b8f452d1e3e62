"""The server extension: configuration, the relay registry, and the wiring."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, Unicode

from . import EXTENSION_NAME
from .assets import ASSETS_URL_PATTERN, AssetHandler, Assets, asset_dirs
from .bridge.handler import URL_PATTERN, BridgeWebsocketHandler
from .internals.gateway import LateSockets, is_gateway_connection
from .kernel.subshells import SUBSHELL_MODES
from .page.connection import PageConnectionMixin
from .page.gateway import GatewayPageMixin
from .page.injection import Injector
from .page.outputs import URL_PATTERN as OUTPUTS_URL_PATTERN
from .page.outputs import OutputsHandler
from .page.voila import configure_voila, is_dashboard_kernel
from .relay.registry import RelayRegistry
from .widgets.libraries.cdn import CdnSource, is_cdn_url
from .widgets.libraries.cdn_cache import DiskCache
from .widgets.libraries.environments import KernelEnvironments
from .widgets.libraries.extensions import Extensions
from .widgets.libraries.finder import ModuleFinder
from .widgets.libraries.handlers import (
    FILES_URL_PATTERN,
    MODULES_URL_PATTERN,
    WidgetFilesHandler,
    WidgetModulesHandler,
)
from .widgets.mode import WIDGETS_MODES, widgets_enabled

KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
#: Seconds a page's gateway connection waits for its predecessor's socket to close:
#: a gateway handshake takes milliseconds, and past this the page connects anyway.
LATE_SOCKET_TIMEOUT = 10.0


def page_connection_class(base: type) -> type:
    """A subclass of ``base`` (the server's kernel connection class) wired to the bridge."""
    mixins = (GatewayPageMixin,) if is_gateway_connection(base) else ()
    name = f"CommBridge{base.__name__}"
    return type(name, (*mixins, PageConnectionMixin, base), {"__module__": __name__})


class CommBridgeApp(ExtensionApp):
    """A comm-only websocket per kernel, for JavaScript in notebook outputs."""

    name = EXTENSION_NAME
    load_other_extensions = True

    claim_window = Float(
        5.0,
        config=True,
        help="""Seconds during which a comm the kernel opens for a target no bridge client
        has registered yet stays claimable: its messages are kept, and the page's automatic
        comm_close is held back. 0 turns this off.""",
    )
    dashboard_claim_window = Float(
        120.0,
        config=True,
        help="""claim_window for the kernels Voila starts for its pages: Voila runs every cell
        before the page loads, so a comm a cell opens (``%matplotlib notebook``'s figure) waits
        that long for the page to register its target.""",
    )
    pending_limit = Int(
        32 * 1024 * 1024,
        config=True,
        help="Bytes of messages kept per kernel for comms not claimed yet (oldest dropped first).",
    )
    connect_timeout = Float(
        30.0,
        config=True,
        help="Seconds the relay waits for a kernel's iopub to answer when it first connects.",
    )
    reconnect_window = Float(
        30.0,
        config=True,
        help="""Seconds a resumable client outlives its websocket: what the kernel sends on its
        comms meanwhile is kept and delivered, in order, when it reconnects. After that its comms
        are closed in the kernel. 0 ends a client with its websocket.""",
    )
    max_queued_bytes = Int(
        64 * 1024 * 1024,
        config=True,
        help="""Bytes sent to a client and not yet acknowledged by it (or kept while it is away)
        before the bridge gives up on it: the client is closed with a reason (code 4008).""",
    )
    max_message_size = Int(
        32 * 1024 * 1024,
        config=True,
        help="""Largest frame a client may send, in bytes. Bigger frames (up to twice this) are
        refused with an error; yet bigger ones close the connection (1009).""",
    )
    rate_limit = Float(
        10000.0,
        config=True,
        help="Messages a second a client may send on average (0: no limit); the excess is refused.",
    )
    rate_burst = Int(
        20000,
        config=True,
        help="Messages a client may send at once, before rate_limit applies.",
    )
    heartbeat_interval = Float(
        2.0,
        config=True,
        help="""Seconds between the server's acknowledgements to each client, which are also its
        heartbeat: a client that hears nothing for three intervals reconnects.""",
    )
    ping_interval = Float(
        2.0, config=True, help="Seconds between websocket pings to each bridge client."
    )
    ping_timeout = Float(
        6.0,
        config=True,
        help="Seconds without a pong after which a bridge client's websocket is closed.",
    )
    page_nodelay = Bool(
        True,
        config=True,
        help="""Set TCP_NODELAY on the page's own kernel websocket too, so small comm and
        status frames are not delayed by Nagle's algorithm.""",
    )

    comm_subshells = Enum(
        SUBSHELL_MODES,
        "off",
        config=True,
        help="""Kernel subshells for bridge comms, on kernels that support them (JEP 91):
        "off" (the default: comm handlers run on the kernel's main thread, between cells, as
        with every frontend before JupyterLab 4.4), "per-target" (one subshell per kernel and
        comm target, so comms answer while a cell runs, but their handlers then run beside
        cell code, on another thread) or "per-comm". A client's messages are handled in the
        order it sent them in every mode.""",
    )

    widgets = Enum(
        WIDGETS_MODES,
        "auto",
        config=True,
        help="""Widgets (ipywidgets, anywidget) for pages with no widget manager of their own:
        "auto" (on unless this server's environment has a widget frontend, jupyterlab_widgets
        or widgetsnbextension), "on" or "off". When on, the bridge keeps the widgets' comms
        from a browser page's kernel connection and renders its widget outputs, until that page
        shows a widget manager of its own (a comm_info_request for jupyter.widget or a comm_open
        on jupyter.widget.control); other clients (VS Code) get the stock protocol.""",
    )

    widget_cdn = Unicode(
        "",
        config=True,
        help="""A CDN or npm mirror that widget modules are loaded from when neither the
        kernel's environment nor the server's has them, laid out as jsDelivr's
        (https://cdn.jsdelivr.net/npm) or unpkg's (https://unpkg.com):
        {widget_cdn}/{module}@{range}/package.json and {widget_cdn}/{module}@{version}/{path}.
        The server fetches and caches the files and serves them itself, so pages never load
        code from another origin. Empty (the default): off.""",
    )
    widget_cdn_cache_dir = Unicode(
        "",
        config=True,
        help="""Where files fetched from widget_cdn are kept. Empty (the default):
        comm-bridge/widget-cdn in the server's runtime directory.""",
    )
    widget_cdn_cache_size = Int(
        512 * 1024 * 1024,
        config=True,
        help="Bytes of widget_cdn files kept on disk; the least recently used go first.",
    )
    widget_cdn_max_file = Int(
        64 * 1024 * 1024,
        config=True,
        help="The largest file fetched from widget_cdn, in bytes (bigger ones are refused).",
    )
    widget_env_timeout = Float(
        20.0,
        config=True,
        help="""Seconds a kernelspec's Python interpreter has to tell its Jupyter data paths
        (where the widget libraries of the kernel's environment are); it runs once per
        kernelspec.""",
    )

    registry: RelayRegistry
    injector: Injector
    #: The ``widgets`` mode, decided at start for this server.
    widgets_enabled: bool
    assets: Assets
    late_sockets: LateSockets
    widget_environments: KernelEnvironments
    widget_extensions: Extensions
    #: None while widget_cdn is off.
    widget_cdn_source: CdnSource | None
    module_finder: ModuleFinder

    def initialize_settings(self) -> None:
        assert self.serverapp is not None and self.serverapp.event_logger is not None
        self.widgets_enabled = widgets_enabled(self.widgets)
        self.log.info("comm-bridge: widgets %s", "on" if self.widgets_enabled else "off")
        self.registry = RelayRegistry(self.serverapp.kernel_manager, self, self.log)
        self.assets = Assets(asset_dirs())
        self.injector = Injector.from_assets(self.assets)
        self.late_sockets = LateSockets(LATE_SOCKET_TIMEOUT, self.log)
        self._initialize_widget_modules()
        base = self.settings["kernel_websocket_connection_class"]
        self.settings["kernel_websocket_connection_class"] = page_connection_class(base)
        if importlib.util.find_spec("voila") is not None:
            configure_voila(self.serverapp.config, self.widgets_enabled)
        self.serverapp.event_logger.add_listener(
            schema_id=KERNEL_ACTIONS, listener=self._on_kernel_action
        )

    def _initialize_widget_modules(self) -> None:
        """The sources of widget libraries' modules: the kernel's, the server's, the CDN."""
        assert self.serverapp is not None and self.serverapp.kernel_spec_manager is not None
        self.widget_environments = KernelEnvironments(
            self.serverapp.kernel_spec_manager, self.widget_env_timeout, self.log
        )
        self.widget_extensions = Extensions()
        self.widget_cdn_source = None
        if self.widget_cdn and not is_cdn_url(self.widget_cdn):
            self.log.error("comm-bridge: widget_cdn %r is not an http(s) URL: off", self.widget_cdn)
        elif self.widget_cdn:
            directory = self.widget_cdn_cache_dir or str(
                Path(self.serverapp.runtime_dir, "comm-bridge", "widget-cdn")
            )
            cache = DiskCache(Path(directory), self.widget_cdn_cache_size, self.log)
            self.widget_cdn_source = CdnSource(
                self.widget_cdn, cache, self.widget_cdn_max_file, self.log
            )
            self.log.info("comm-bridge: widget modules from %s too", self.widget_cdn)
        self.module_finder = ModuleFinder(
            self.widget_environments, self.widget_extensions, self.widget_cdn_source
        )

    def initialize_handlers(self) -> None:
        self.handlers.append((URL_PATTERN, BridgeWebsocketHandler, {"registry": self.registry}))
        self.handlers.append((ASSETS_URL_PATTERN, AssetHandler, {"assets": self.assets}))
        outputs = {"injector": self.injector, "registry": self.registry}
        self.handlers.append(
            (OUTPUTS_URL_PATTERN, OutputsHandler, {**outputs, "widgets": self.widgets_enabled})
        )
        self.handlers.append(
            (MODULES_URL_PATTERN, WidgetModulesHandler, {"finder": self.module_finder})
        )
        files = {
            "environments": self.widget_environments,
            "extensions": self.widget_extensions,
            "cdn": self.widget_cdn_source,
        }
        self.handlers.append((FILES_URL_PATTERN, WidgetFilesHandler, files))

    async def _on_kernel_action(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("status") != "success":
            return
        if data.get("action") == "shutdown":
            self.registry.kernel_gone(str(data.get("kernel_id")), "the kernel was shut down")
        elif data.get("action") == "restart":
            self.registry.kernel_restarted(str(data.get("kernel_id")))
        elif data.get("action") == "start":
            kernel_name = str(data.get("kernel_name") or "")
            await self._on_kernel_start(str(data.get("kernel_id")), kernel_name)

    async def _on_kernel_start(self, kernel_id: str, kernel_name: str) -> None:
        if self.widgets_enabled and kernel_name:
            self.widget_environments.warm(kernel_name)
        kernels = self.serverapp.kernel_manager if self.serverapp else None
        if kernels is None or kernel_id not in kernels:
            return
        if is_dashboard_kernel(kernels.get_kernel(kernel_id)):
            # listening from the start: the comms Voila's run opens are kept for its page
            relay = self.registry.relay(kernel_id)
            relay.routing.claim_window = self.dashboard_claim_window
            try:
                await relay.connect()
            except Exception:
                self.log.exception("comm-bridge: cannot listen to dashboard kernel %s", kernel_id)

    async def stop_extension(self) -> None:
        self.registry.close_all("the server is stopping")
        self.widget_environments.close()
        if self.widget_cdn_source is not None:
            self.widget_cdn_source.close()
