"""Voila dashboards (voila 0.5 from PyPI in the server's environment), in real Chromium.

``examples/voila_dashboard.ipynb`` on the ``python-widgets`` kernel (ipywidgets and anywidget
in a venv of their own, none in the server's): a pycomm canvas (an echo with buffers, a comm
the kernel opens to a target the page registered) and widgets (a slider the kernel moves when
a button is clicked, anywidget's counter), in both ways a server with this extension runs
Voila: ``/voila/render/<notebook>``, and the dashboard as an app of its own (``jupyter server
--ServerApp.default_url=/voila/render/<notebook>``, what the docs give instead of the
standalone ``voila`` app, which loads no server extension). Then the same dashboard on a server
that has jupyterlab_widgets, where Voila's own manager renders the widgets; code written for
the classic Notebook in Voila; and, on one server, a JupyterLab page whose widgets are the
bridge's next to a client that speaks the widget protocol itself, as VS Code does.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from support.harness import BrowserServer
from support.kernel_cells import kernel_until
from support.kernelws import Page
from support.ui import JupyterUI

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "voila_dashboard.ipynb"
WIDGETS_KERNEL = {
    "name": "python-widgets",
    "display_name": "Python (widgets)",
    "language": "python",
}
VENV_JUPYTER = "/usr/local/share/jupyter/venvs/python-widgets/share/jupyter"
#: Voila executes every cell before it sends the page.
VOILA_TIMEOUT = 90.0

T = TypeVar("T")


def dashboard(server: BrowserServer, path: str) -> str:
    nb = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    nb["metadata"]["kernelspec"] = WIDGETS_KERNEL
    (server.notebook_dir / path).write_text(json.dumps(nb), encoding="utf-8")
    return path


def open_voila(ui: JupyterUI, url: str) -> dict[str, Any]:
    """Open a Voila page; returns its page config once Voila has rendered the outputs."""
    ui.page.goto(url, timeout=VOILA_TIMEOUT * 1000)
    ui.wait_js("() => !!window.jupyterapp", timeout=VOILA_TIMEOUT, what="Voila's app")
    ui.js_async("await app.started; return true;", what="Voila's app started")
    config: dict[str, Any] = ui.js(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
    )
    return config


def text(ui: JupyterUI, selector: str, expected: str, timeout: float = 30.0) -> None:
    ui.wait_js(
        "([sel, want]) => [...document.querySelectorAll(sel)]"
        ".some(e => e.textContent.trim() === want)",
        arg=[selector, expected],
        timeout=timeout,
        what=f"{selector} showing {expected!r}",
    )


def check_dashboard(ui: JupyterUI) -> None:
    """What the example shows and does, kernel side included."""
    text(ui, ".dashboard-stats", "4 values, sum 10")  # an echo with buffers, both ways
    ui.wait_js(
        "() => { const c = document.querySelector('.dashboard-canvas');"
        " return c && c.getContext('2d').getImageData(31, 31, 1, 1).data[3] === 255; }",
        what="the canvas drawn from the kernel's image buffer",
    )
    text(ui, ".dashboard-news", "the kernel says hello")  # a comm the kernel opened
    text(ui, ".widget-slider .widget-readout", "10")
    ui.page.get_by_role("button", name="Jump to 42").click()  # reaches the kernel...
    text(ui, ".widget-slider .widget-readout", "42")  # ...whose `slider.value =` moves it
    text(ui, ".widget-label", "clicked, level 42")
    counter = ui.page.locator(".dashboard-counter")
    counter.click()
    counter.click()
    text(ui, ".dashboard-counter", "count is 2")
    text(ui, ".widget-label", "the kernel has 2")


def assert_clean(ui: JupyterUI) -> None:
    errors = ui.console_messages("error")
    ours = [c for c in errors if "pycomm" in c.text or "comm-bridge" in c.text]
    assert not ours, "\n".join(map(str, ours))


@pytest.fixture
def voila_kernels() -> Iterator[list[tuple[BrowserServer, str]]]:
    """Kernels of Voila pages, shut down after the test (a page's beacon may not make it)."""
    kernels: list[tuple[BrowserServer, str]] = []
    yield kernels
    for server, kernel_id in kernels:
        try:
            server.api("DELETE", f"api/kernels/{kernel_id}")
        except Exception:
            pass  # gone already


@pytest.mark.parametrize("mode", ["render", "app"])
def test_a_voila_dashboard_on_the_bridge(
    mode, lab_server, server_factory, jupyter_ui, notebook_name, voila_kernels
):
    path = notebook_name("dashboard")
    if mode == "render":
        server: BrowserServer = lab_server
        url = f"{server.url}voila/render/{path}?token={server.token}"
    else:
        # the dashboard as an app of its own: the server's root is the dashboard
        args = [f"--ServerApp.default_url=/voila/render/{path}"]
        server = server_factory("server", extra_args=args)
        url = f"{server.url}?token={server.token}"
    dashboard(server, path)
    ui = jupyter_ui(server)
    config = open_voila(ui, url)
    voila_kernels.append((server, config["kernelId"]))
    assert config["commBridge"] == {"widgets": True}
    assert ui.js("() => window.jupyterapp.widgetManager") is None  # Voila's is kept off
    check_dashboard(ui)
    assert ui.page.locator(".pycomm-widget .widget-slider").count() == 1  # the bridge's view
    assert_clean(ui)


def test_voila_keeps_its_own_manager_where_the_server_has_jupyterlab_widgets(
    server_factory, jupyter_ui, notebook_name, voila_kernels
):
    server: BrowserServer = server_factory("lab", env={"JUPYTER_PATH": VENV_JUPYTER})
    path = dashboard(server, notebook_name("stock-widgets"))
    ui = jupyter_ui(server)
    config = open_voila(ui, f"{server.url}voila/render/{path}?token={server.token}")
    voila_kernels.append((server, config["kernelId"]))
    assert config["commBridge"] == {"widgets": False}
    ui.js_async("await app.widgetManagerPromise.promise; return true;", what="Voila's manager")
    check_dashboard(ui)  # pycomm through the bridge, the widgets through Voila's manager
    assert ui.page.locator(".pycomm-widget").count() == 0
    assert_clean(ui)


MPL_CELLS = [
    "%matplotlib notebook\nimport matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([1, 3, 2])",
]


def test_classic_notebook_code_in_voila(lab_server, jupyter_ui, notebook_name, voila_kernels):
    """``%matplotlib notebook`` (nbagg: written for the classic Notebook's comm API) draws its
    figure in a Voila page, and the figure is live: the kernel answers a mouse move on it."""
    server: BrowserServer = lab_server
    path = server.write_notebook(notebook_name("nbagg"), MPL_CELLS)
    ui = jupyter_ui(server)
    config = open_voila(ui, f"{server.url}voila/render/{path}?token={server.token}")
    voila_kernels.append((server, config["kernelId"]))
    canvas = ui.page.locator("canvas.mpl-canvas").first
    canvas.wait_for(timeout=30_000)
    ui.wait_js(
        "() => { const c = document.querySelector('canvas.mpl-canvas');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 3; i < d.length; i += 4) if (d[i] && d[i - 1] < 200) return true;"
        " return false; }",
        what="the figure drawn on its canvas",
    )
    box = canvas.bounding_box()
    assert box is not None
    ui.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    ui.page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2)
    ui.wait_js(
        "() => /\\(x, y\\) = \\(/.test(document.body.innerText)",
        what="the kernel's answer to a mouse move (mpl's (x, y) = ... message)",
    )
    assert_clean(ui)


IPYMPL_CELLS = [
    """%matplotlib widget
import ipywidgets as widgets
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
ax.plot([0, 1, 2], [0, 1, 4], color="tab:blue")
ax.set_xlim(0, 2); ax.set_ylim(0, 4)
fig.canvas.header_visible = False
said = widgets.Label("no click")
fig.canvas.mpl_connect("button_press_event", lambda e: setattr(said, "value", f"x={e.xdata:.0f}"))
display(said)
plt.show()""",
]
INKED = """() => {
  const canvas = document.querySelector(".jupyter-matplotlib-canvas-div canvas");
  if (!canvas) return false;
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let inked = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] && data[i + 2] < 240) inked++;
  return inked > 1000;
}"""


def test_a_widget_library_from_the_kernels_environment_in_voila(
    lab_server, jupyter_ui, notebook_name, voila_kernels
):
    """ipympl (``%matplotlib widget``), only in the kernel's venv: its frontend comes from
    there, as in JupyterLab; the figure draws and a click reaches ``mpl_connect``."""
    server: BrowserServer = lab_server
    metadata = {
        "kernelspec": {
            "name": "python-widget-libs",
            "display_name": "Python (widget libraries)",
            "language": "python",
        }
    }
    path = server.write_notebook(notebook_name("ipympl"), IPYMPL_CELLS, metadata=metadata)
    ui = jupyter_ui(server)
    config = open_voila(ui, f"{server.url}voila/render/{path}?token={server.token}")
    voila_kernels.append((server, config["kernelId"]))
    ui.wait_js(INKED, timeout=60, what="ipympl's figure drawn")
    figure = ui.page.locator(".jupyter-matplotlib-canvas-div").first
    figure.click(position={"x": 200, "y": 150})
    text(ui, ".widget-label", "x=1")
    assert_clean(ui)


@dataclass
class StandaloneVoila(BrowserServer):
    """``voila <notebook>``: Voila's own tornado application, no jupyter_server extension."""

    notebook: str = ""

    @property
    def args(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "voila",
            self.notebook,
            "--no-browser",
            "--Voila.ip=127.0.0.1",
            f"--port={self.port}",
            f"--Voila.root_dir={self.notebook_dir}",
        ]

    def answer(self) -> None:
        with urllib.request.urlopen(f"{self.url}voila/static/voila.js", timeout=5):
            pass


def test_the_standalone_voila_app_has_no_bridge_and_says_what_to_run(
    tmp_path, jupyter_ui, notebook_name
):
    """``voila notebook.ipynb`` is a tornado application of its own: it loads no jupyter_server
    extension, so its pages have no bridge to talk to. The dashboard renders as it would
    without this package, and the console says which command gives the bridge."""
    server = StandaloneVoila("voila", tmp_path, notebook="")
    server.notebook_dir.mkdir(parents=True)
    server.notebook = str(server.notebook_dir / dashboard(server, notebook_name("standalone")))
    server.start()
    try:
        ui = jupyter_ui(server)
        config = open_voila(ui, server.url)
        assert "commBridge" not in config
        ui.wait_for_console(r"pycomm: this Voila has no comm bridge .*--ServerApp\.default_url")
        text(ui, ".dashboard-stats", "waiting for the kernel")  # the output's own text
        status = ui.js(
            "async (id) => (await fetch(`/comm-bridge/kernels/${id}/outputs`)).status",
            config["kernelId"],
        )
        assert status >= 400  # no such route: Voila answers 403
    finally:
        server.stop()


# -- one server, a page whose widgets are the bridge's and a client with its own manager ---------


class LoopThread:
    """An asyncio loop in a thread, for a websocket client beside Playwright's sync API."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


def test_a_client_with_its_own_widget_manager_next_to_a_bridge_page(
    lab_server, open_notebook, notebook_name, loop_thread
):
    """The JupyterLab page renders the slider through the bridge; a client connected to the
    same kernel as VS Code is (no browser page: no Origin), whose manager handles
    ``jupyter.widget`` itself, gets the slider's comm_open and syncs it both ways."""
    server: BrowserServer = lab_server
    path = server.write_notebook(
        notebook_name("two-managers"),
        ["import ipywidgets as widgets\ns = widgets.IntSlider(value=3)\ns"],
        metadata={"kernelspec": WIDGETS_KERNEL},
    )
    nb = open_notebook(server, path)
    kernel_id = nb.kernel_id()
    path_parts = ("api", "kernels", kernel_id, "channels")
    client: Page = loop_thread.run(Page.connect(server.ws_fetch, *path_parts))
    client.known_targets.add("jupyter.widget")
    nb.run_cell(0)
    nb.wait_for_output(0, ".widget-readout", "3")
    opened = loop_thread.run(
        client.wait_for(
            lambda m: (
                m["header"]["msg_type"] == "comm_open"
                and m["content"]["data"]["state"].get("_model_name") == "IntSliderModel"
            )
        )
    )
    comm_id = opened["content"]["comm_id"]
    update = {"method": "update", "state": {"value": 7}, "buffer_paths": []}
    loop_thread.run(client.send("comm_msg", {"comm_id": comm_id, "data": update}))
    nb.wait_for_output(0, ".widget-readout", "7")  # the client's change, in the page
    kernel_until(nb, "s.value == 7", "s.value", 7)
    handle = nb.output(0, ".noUi-handle").first
    handle.click()
    handle.press("End")  # the page's change, at the client
    loop_thread.run(
        client.wait_for(
            lambda m: (
                m["header"]["msg_type"] == "comm_msg"
                and m["content"]["comm_id"] == comm_id
                and m["content"]["data"].get("state", {}).get("value") == 100
            )
        )
    )
    kernel_until(nb, "s.value == 100", "s.value", 100)
    loop_thread.run(client.close())
