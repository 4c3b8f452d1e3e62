"""Widget libraries with frontend code of their own render from the kernel's environment, with
no widget frontend in the server (issue 27): ipympl, bqplot, ipyleaflet, ipycanvas, ipydatagrid,
ipytree, ipyvuetify (AMD nbextensions in the kernel's venv) and ipyevents (a federated
labextension only), all from PyPI in the ``python-widget-libs`` venv (scripts/install-kernels),
in real JupyterLab 4 and Notebook 7 pages. Each test checks what the page shows and what the
kernel got, both ways.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.cdn import npm_package
from support.harness import BrowserServer
from support.kernel_cells import kernel_until
from support.servers import Gateway, free_port
from support.ui import NotebookPage

pytestmark = pytest.mark.browser

LIBRARIES_KERNEL = {
    "kernelspec": {
        "name": "python-widget-libs",
        "display_name": "Python (widget libraries)",
        "language": "python",
    }
}
#: Tiles of the map's default basemap: there is no network here, and the test says so at once.
TILES = re.compile(r"^https://tile\.openstreetmap\.org/")

#: How many pixels of a canvas in the output are not white (nor transparent), and whether one
#: at (x, y) is (r, g, b).
INKED = """(canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let inked = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240)) inked++;
  }
  return inked;
}"""
PIXEL = """(canvas, [x, y]) => Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data)"""
#: The number of pixels that are mostly red in a canvas.
REDS = """(canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let reds = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] > 200 && data[i + 1] < 80 && data[i + 2] < 80 && data[i + 3] > 200) reds++;
  }
  return reds;
}"""


def libraries_notebook(server: BrowserServer, name: str, cells: list[str]) -> str:
    return server.write_notebook(name, cells, metadata=LIBRARIES_KERNEL)


def assert_clean(nb: NotebookPage) -> None:
    """No dialog, no page error, no console error of ours or of a widget's loading."""
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))
    ours = [
        c
        for c in nb.console_messages("error")
        if ("pycomm" in c.text or "widget" in c.text.lower()) and not TILES.search(c.url)
    ]
    assert not ours, "\n".join(map(str, ours))


def until_js(nb: NotebookPage, index: int, selector: str, function: str, check: Any) -> Any:
    """Evaluate ``function`` on the first ``selector`` of cell ``index``'s output until
    ``check(value)`` holds (bounded: a canvas draws with no DOM event to wait for)."""
    locator = nb.output(index, selector).first
    locator.wait_for(timeout=60_000)
    value = None
    for _ in range(100):
        value = locator.evaluate(function)
        if check(value):
            return value
        nb.page.wait_for_timeout(100)
    nb.fail(f"cell {index} {selector}: {function[:40]}... gave {value!r}")


def drag(
    nb: NotebookPage,
    index: int,
    selector: str,
    start: tuple[float, float],
    end: tuple[float, float],
) -> None:
    """Drag with the mouse over the first ``selector`` of cell ``index``'s output, from and to
    fractions of its box."""
    target = nb.output(index, selector).first
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None, f"{selector} is not shown"
    at = lambda f: (box["x"] + box["width"] * f[0], box["y"] + box["height"] * f[1])  # noqa: E731
    mouse = nb.page.mouse
    mouse.move(*at(start))
    mouse.down()
    mouse.move(*at(end), steps=10)
    mouse.up()


# -- ipympl: %matplotlib widget -------------------------------------------------------------------

MPL = """%matplotlib widget
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
ax.plot([0, 1, 2], [0, 1, 4], color="tab:blue")
ax.set_xlim(0, 2); ax.set_ylim(0, 4)
fig.canvas.toolbar_visible = True
fig.canvas.header_visible = False
clicks = []
fig.canvas.mpl_connect("button_press_event", lambda e: clicks.append([e.xdata, e.ydata]))
plt.show()"""

#: The figure's image (the first canvas) and where its mouse events go (the canvas above it).
FIGURE = ".jupyter-matplotlib-canvas-div canvas"
FIGURE_EVENTS = ".jupyter-matplotlib-canvas-div"


def test_ipympl_draws_clicks_zooms_redraws_and_resizes(
    lab_server, open_notebook, notebook_name
) -> None:
    nb = open_notebook(lab_server, libraries_notebook(lab_server, notebook_name("mpl"), [MPL]))
    nb.run_all(timeout=120)
    until_js(nb, 0, FIGURE, INKED, lambda inked: inked > 1000)  # the figure drew
    # a click reaches mpl_connect with data coordinates
    nb.output(0, FIGURE_EVENTS).first.click(position={"x": 200, "y": 150})
    kernel_until(
        nb,
        "clicks",
        "[round(v, 0) for v in clicks[0]] if clicks and None not in clicks[0] else clicks",
        [1.0, 2.0],
    )
    # the toolbar's zoom changes the axes' limits in the kernel, and home brings them back
    nb.click_in_output(0, "button[title^='Zoom to rectangle']")
    drag(nb, 0, FIGURE_EVENTS, (0.3, 0.3), (0.6, 0.6))
    kernel_until(nb, "ax.get_xlim() != (0.0, 2.0)", "ax.get_xlim() != (0.0, 2.0)", True)
    nb.click_in_output(0, "button[title='Reset original view']")
    kernel_until(nb, "ax.get_xlim() == (0.0, 2.0)", "list(ax.get_xlim())", [0.0, 2.0])
    # a new line from the kernel redraws the figure
    nb.run_cell(
        nb.add_cell('ax.plot([0, 2], [4, 0], color="red", linewidth=4)\nfig.canvas.draw_idle()')
    )
    until_js(nb, 0, FIGURE, REDS, lambda reds: reds > 200)
    # and a new size from the kernel resizes it
    nb.run_cell(nb.add_cell("fig.set_size_inches(6, 2)\nfig.canvas.draw_idle()"))
    until_js(nb, 0, FIGURE, "(c) => c.getBoundingClientRect().width", lambda w: 590 <= w <= 610)
    assert_clean(nb)


# -- bqplot, ipyleaflet, ipycanvas ----------------------------------------------------------------

BQPLOT = """import bqplot as bq
xs, ys = bq.LinearScale(), bq.LinearScale()
line = bq.Lines(x=[0, 1, 2], y=[0, 1, 4], scales={"x": xs, "y": ys})
panzoom = bq.interacts.PanZoom(scales={"x": [xs], "y": [ys]})
bfig = bq.Figure(marks=[line], axes=[bq.Axis(scale=xs), bq.Axis(scale=ys, orientation="vertical")],
                 interaction=panzoom, layout={"width": "400px", "height": "300px"})
bfig"""

LEAFLET = """from ipyleaflet import Map, Marker
lmap = Map(center=(52.0, 0.0), zoom=5, layout={"width": "400px", "height": "300px"})
lmap"""

CANVAS = """from ipycanvas import Canvas
canvas = Canvas(width=120, height=80)
canvas.fill_style = "red"
canvas.fill_rect(10, 10, 40, 30)
downs = []
canvas.on_mouse_down(lambda x, y: downs.append([round(x), round(y)]))
canvas"""

LINE_PATH = "svg .line path, svg path.line"


def line_d(nb: NotebookPage, index: int) -> str:
    return str(nb.output(index, LINE_PATH).first.get_attribute("d") or "")


def test_bqplot_ipyleaflet_and_ipycanvas_both_ways(lab_server, jupyter_ui, notebook_name) -> None:
    path = libraries_notebook(lab_server, notebook_name("three"), [BQPLOT, LEAFLET, CANVAS])
    ui = jupyter_ui(lab_server)
    ui.page.route(TILES, lambda route: route.abort())  # no tile server reachable
    nb = ui.goto_notebook(path)
    nb.run_all(timeout=120)
    # bqplot: a line; the kernel's new data shows; a pan reaches the kernel's scales
    nb.output(0, LINE_PATH).first.wait_for(timeout=60_000)
    before = line_d(nb, 0)
    assert before.count(",") >= 3, before
    nb.run_cell(nb.add_cell("line.y = [4, 1, 0]"))
    nb.page.wait_for_function(
        "([sel, d]) => document.querySelector(sel)?.getAttribute('d') !== d",
        arg=[f".jp-Cell:first-child {LINE_PATH.split(',')[0]}", before],
        timeout=30_000,
    )
    drag(nb, 0, "svg", (0.5, 0.5), (0.3, 0.5))
    kernel_until(nb, "xs.min is not None", "xs.min is not None and xs.min > 0", True)
    # ipyleaflet: the map, with no tiles; a marker from the kernel, its icon from the kernel's env
    nb.output(1, ".leaflet-container .leaflet-control-zoom").first.wait_for(timeout=60_000)
    nb.run_cell(nb.add_cell("lmap.add(Marker(location=(52.0, 0.0)));"))
    icon = nb.output(1, "img.leaflet-marker-icon").first
    icon.wait_for(timeout=30_000)
    nb.page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=icon.element_handle()
    )
    drag(nb, 1, ".leaflet-container", (0.5, 0.5), (0.2, 0.5))  # pan east
    kernel_until(nb, "lmap.center[1] > 1", "lmap.center[1] > 1", True)
    # ipycanvas: the kernel's rectangle as pixels; a mouse event to the kernel
    canvas = nb.output(2, "canvas").first
    until_js(nb, 2, "canvas", f"(c) => ({PIXEL})(c, [20, 20])", lambda p: p == [255, 0, 0, 255])
    canvas.click(position={"x": 30, "y": 20})
    kernel_until(nb, "downs", "downs", [[30, 20]])
    assert_clean(nb)


# -- ipydatagrid, ipytree, ipyvuetify, ipyevents --------------------------------------------------

DATAGRID = """import pandas as pd
from ipydatagrid import DataGrid
grid = DataGrid(pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]}), selection_mode="cell",
                layout={"height": "150px"})
grid"""

TREE = """from ipytree import Tree, Node
tree = Tree(multiple_selection=False)
for name in ("one", "two"):
    tree.add_node(Node(name))
tree"""

VUETIFY = """import ipyvuetify as v
presses = []
button = v.Btn(children=["press me"])
button.on_event("click", lambda *args: presses.append(1))
button"""

EVENTS = """from ipywidgets import Label
from ipyevents import Event
watched = Label("watch me")
seen = []
Event(source=watched, watched_events=["click"]).on_dom_event(lambda e: seen.append(e["type"]))
watched"""


def test_datagrid_tree_vuetify_and_events_reach_the_kernel(
    any_server, open_notebook, notebook_name
) -> None:
    server: BrowserServer = any_server
    cells = [DATAGRID, TREE, VUETIFY, EVENTS]
    nb = open_notebook(server, libraries_notebook(server, notebook_name("four"), cells))
    nb.run_all(timeout=120)
    # ipydatagrid: its cells drawn on its canvas; a click selects one, in the kernel
    until_js(nb, 0, ".lm-DataGrid-viewport canvas", INKED, lambda inked: inked > 200)
    nb.output(0, ".lm-DataGrid-viewport").first.click(position={"x": 100, "y": 40})
    kernel_until(nb, "grid.selections", "len(grid.selections)", 1)
    # ipytree: a node selected in the page is selected in the kernel
    nb.click_in_output(1, ".jstree-anchor >> text=two")
    kernel_until(nb, "tree.selected_nodes", "[n.name for n in tree.selected_nodes]", ["two"])
    # ipyvuetify: a button's click event
    nb.click_in_output(2, ".v-btn")
    kernel_until(nb, "presses", "presses", [1])
    # ipyevents (a labextension only): a DOM event on the watched widget
    nb.click_in_output(3, ".widget-label >> text=watch me")
    kernel_until(nb, "seen", "seen", ["click"])
    assert_clean(nb)


# -- a module the kernel's environment does not have in the version asked for ---------------------

TOO_NEW = """import ipywidgets as widgets, traitlets
from ipympl.backend_nbagg import Canvas

class Future(widgets.DOMWidget):
    _model_name = traitlets.Unicode("MPLCanvasModel").tag(sync=True)
    _model_module = traitlets.Unicode("jupyter-matplotlib").tag(sync=True)
    _model_module_version = traitlets.Unicode("^99.0.0").tag(sync=True)
    _view_name = traitlets.Unicode("MPLCanvasView").tag(sync=True)
    _view_module = traitlets.Unicode("jupyter-matplotlib").tag(sync=True)
    _view_module_version = traitlets.Unicode("^99.0.0").tag(sync=True)

Future()"""

STILL_WORKS = """import ipywidgets as widgets
fine = widgets.IntSlider(value=3, description="fine")
fine"""


def test_a_version_the_kernel_does_not_have_says_so_and_the_rest_works(
    lab_server, open_notebook, notebook_name
) -> None:
    path = libraries_notebook(lab_server, notebook_name("version"), [TOO_NEW, STILL_WORKS, CANVAS])
    nb = open_notebook(lab_server, path)
    nb.run_all(timeout=120)
    message = nb.wait_for_output(
        0, ".pycomm-widget-message", re.compile(r"jupyter-matplotlib.*\^99\.0\.0"), timeout=60
    ).inner_text()
    assert "0.12.0" in message, message  # what it found
    assert "kernel" in message and "widget_cdn" in message, (
        message
    )  # where it looked, and what to do
    nb.wait_for_output(1, ".widget-readout", "3")
    until_js(nb, 2, "canvas", f"(c) => ({PIXEL})(c, [20, 20])", lambda p: p == [255, 0, 0, 255])
    nb.assert_no_dialogs()
    assert not nb.unexpected_page_errors()


# -- a library found only through widget_cdn, for a kernel behind a kernel gateway -----------------


def test_a_library_only_on_the_cdn_renders_for_a_kernel_behind_a_gateway(
    server_factory, jupyter_ui, notebook_name, tmp_path
) -> None:
    # the real npm package of ipympl's frontend, from the registry, on a local "CDN"
    npm_package(tmp_path / "cdn", "jupyter-matplotlib", "0.12.0")
    port = free_port()
    log = (tmp_path / "cdn.log").open("w")
    tests = Path(__file__).resolve().parents[1]
    cdn = subprocess.Popen(
        [sys.executable, "-m", "support.cdn", str(tmp_path / "cdn"), str(port)],
        cwd=tests,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    (tmp_path / "gw").mkdir()
    gateway = Gateway(tmp_path / "gw").start()
    try:
        widget_cdn = f"--CommBridgeApp.widget_cdn=http://127.0.0.1:{port}/"
        server: BrowserServer = server_factory(
            "lab", extra_args=[*gateway.server_args(), widget_cdn]
        )
        ui = jupyter_ui(server)
        nb = ui.goto_notebook(libraries_notebook(server, notebook_name("cdn"), [MPL]))
        nb.run_all(timeout=120)
        until_js(nb, 0, FIGURE, INKED, lambda inked: inked > 1000)
        nb.output(0, FIGURE_EVENTS).first.click(position={"x": 200, "y": 150})
        kernel_until(nb, "clicks", "len(clicks)", 1)
        fetched = (tmp_path / "cdn.log").read_text()
        assert "GET /jupyter-matplotlib@" in fetched, fetched  # the server went to the CDN...
        loaded = ui.js("() => performance.getEntriesByType('resource').map((e) => e.name)")
        assert not [url for url in loaded if f":{port}/" in url], loaded  # ...the page never did
        assert_clean(nb)
    finally:
        gateway.stop()
        cdn.terminate()
        cdn.wait(10)
        log.close()
