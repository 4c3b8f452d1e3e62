"""Widgets in Chromium: the bridge's widget manager against JupyterLab's own (issues 14, 27).

Two real ``jupyter lab`` servers, the same ``python-widget-libs`` kernel (ipywidgets, anywidget
and widget libraries in a venv of their own: scripts/install-kernels), one headless Chromium:

- ``bridge``: this package installed, no widget frontend in the server: the widgets run on the
  bundle the bridge serves, a library's code comes from the kernel's environment, the comms
  go over the bridge;
- ``stock``: the extension turned off, and the kernel venv's ``share/jupyter`` on
  ``JUPYTER_PATH``: JupyterLab with jupyterlab_widgets and every library's labextension (ipympl's
  among them) in the server, as a user with the frontends installed has them.

Each figure is timed on a page of its own, a fresh notebook page in the same browser (its
HTTP cache kept: the widget code is loaded once a browser session, as users see it), through a
bare DevTools connection (``Runtime.evaluate`` only: with Playwright attached, Chromium copies
every websocket frame into DevTools events), the page brought to the front:

- ``first_widget_ms``: from running a cell to its slider painted, on a fresh page (the page's
  first widget: the bridge loads the widget code then; the stock manager came with the page);
  in the first run the browser has not loaded the widget code yet (``cold``), in later runs it
  has it in its cache;
- ``warm_widget_p50_ms``: further sliders on that page; ``slider_round_trip_*``: a keydown on a
  slider's handle until a kernel ``observe`` shows its value in an ``IntText``;
- ``first_ipympl_ms``: from running ``%matplotlib widget`` and a figure to the figure drawn
  (ink on its canvas), on a fresh page; ``ipympl_cached``: whether the library's files came
  from the browser's cache on a later page (the bridge; stock's come with the page).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.harness import BrowserServer, start_browser_server
from tests.support.ui import INIT_SCRIPT, JupyterUI

from .browser_cdp import CdpPage, Chromium, LoopThread

LIBS_VENV = Path("/usr/local/share/jupyter/venvs/python-widget-libs")
KERNELSPEC = {
    "name": "python-widget-libs",
    "display_name": "Python (widget libraries)",
    "language": "python",
}
STEP_TIMEOUT = 120.0

SLIDER_CELL = """import ipywidgets as w
s = w.IntSlider(value=0, min=0, max=1_000_000)
t = w.IntText(value=0)
s.observe(lambda change: setattr(t, "value", change["new"]), "value")
w.HBox([s, t])"""
PAINT_CELL = "w.IntSlider(value={n})"
IPYMPL_CELL = """%matplotlib widget
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3))
ax.plot([0, 1, 2], [0, 1, 4])
plt.show()"""

#: In the page: put ``source`` in cell ``index`` (a new one at the end), make it the active
#: cell, run it, and resolve, in ms from the run, once ``done(cell)`` holds (checked every
#: animation frame; then one more frame: painted).
RUN_UNTIL = """async ({path, index, source, done, timeout}) => {
  const panel = window.__harness.panel(path);
  const notebook = panel.content;
  if (index >= notebook.widgets.length) {
    notebook.model.sharedModel.insertCell(index, { cell_type: "code", source });
  }
  notebook.activeCellIndex = index;
  const check = new Function("cell", "return (" + done + ")(cell);");
  const start = performance.now();
  await window.jupyterapp.commands.execute("notebook:run-cell");
  while (true) {
    const cell = notebook.widgets[index]?.node;
    if (cell && check(cell)) break;
    if (performance.now() - start > timeout) throw new Error("not done within " + timeout + " ms");
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  await new Promise((resolve) => requestAnimationFrame(resolve));
  return performance.now() - start;
}"""
SLIDER_SHOWN = "(cell) => cell.querySelector('.jp-OutputArea .widget-slider .noUi-handle')"
FIGURE_DRAWN = """(cell) => {
  const canvas = cell.querySelector(".jupyter-matplotlib-canvas-div canvas");
  if (!canvas || !canvas.width) return false;
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < data.length; i += 4 * 97) if (data[i + 3] && data[i] < 200) return true;
  return false;
}"""

#: In the page: step the slider of cell ``index`` ``count`` times; each round trip in ms.
ROUND_TRIPS = """async ({path, index, count, timeout}) => {
  const cell = window.__harness.panel(path).content.widgets[index].node;
  const handle = cell.querySelector(".noUi-handle");
  const text = cell.querySelector(".widget-inline-hbox input[type=number], .widget-text input");
  const times = [];
  for (let i = 0; i < count; i++) {
    const want = String(Number(text.value) + 1);
    const start = performance.now();
    handle.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    while (text.value !== want) {
      if (performance.now() - start > timeout) throw new Error("no echo of " + want);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    times.push(performance.now() - start);
  }
  return times;
}"""

#: In the page: whether every file of the ipympl library it loaded came from the HTTP cache.
LIBRARY_CACHED = """() => {
  const files = performance.getEntriesByType("resource")
    .filter((e) => e.name.includes("/comm-bridge/widgets/files/"));
  return files.length ? files.every((e) => e.transferSize === 0) : null;
}"""


def stock_env() -> dict[str, str]:
    """JupyterLab finds jupyterlab_widgets and every library's labextension in the kernel's venv,
    as if they were installed in the server's environment."""
    return {"JUPYTER_PATH": str(LIBS_VENV / "share" / "jupyter")}


def start_servers(root: Path) -> dict[str, BrowserServer]:
    bridge = start_browser_server("lab", root / "bridge")
    stock = start_browser_server(
        "lab",
        root / "stock",
        extra_args=['--ServerApp.jpserver_extensions={"jupyter_comm_bridge": False}'],
        env=stock_env(),
    )
    return {"bridge": bridge, "stock": stock}


class Pages:
    """Fresh notebook pages in one bare Chromium, each timed through its own DevTools
    connection once Playwright, which opened it, has let go of the browser."""

    def __init__(self, chromium: Chromium, loop: LoopThread) -> None:
        self.chromium, self.loop = chromium, loop
        self.opened: list[CdpPage] = []
        self.count = 0

    def open(self, server: BrowserServer, cells: list[str]) -> tuple[CdpPage, str]:
        """A new page with a notebook of ``cells`` open, its kernel idle, brought to the front."""
        from playwright.sync_api import sync_playwright

        self.count += 1
        path = server.write_notebook(
            f"widgets-bench-{self.count}.ipynb", cells, metadata={"kernelspec": KERNELSPEC}
        )
        with sync_playwright() as pw:
            browser = pw.chromium.connect_over_cdp(self.chromium.endpoint)
            context = browser.contexts[0]
            context.set_default_timeout(STEP_TIMEOUT * 1000)
            context.add_init_script(INIT_SCRIPT)
            ui = JupyterUI(context, server, name=f"widgets-bench-{self.count}")
            ui.goto_notebook(path)
            url = ui.page.url
            browser.close()
        page = CdpPage.connect(self.chromium.page_target(url), self.loop)
        self.opened.append(page)
        page.call("Page.bringToFront", {}, STEP_TIMEOUT)
        return page, path

    def close(self) -> None:
        for page in self.opened:
            page.close()


def run_until(page: CdpPage, path: str, index: int, source: str, done: str) -> float:
    arg = {"path": path, "index": index, "source": source, "done": done}
    arg["timeout"] = STEP_TIMEOUT * 1000
    expression = f"({RUN_UNTIL})({_json(arg)})"
    return float(page.evaluate(expression, STEP_TIMEOUT + 10))


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def measure_sliders(pages: Pages, server: BrowserServer, paints: int, steps: int) -> dict[str, Any]:
    page, path = pages.open(server, [SLIDER_CELL])
    first = run_until(page, path, 0, SLIDER_CELL, SLIDER_SHOWN)
    arg = {"path": path, "index": 0, "count": steps, "timeout": 30_000}
    trips: list[float] = page.evaluate(f"({ROUND_TRIPS})({_json(arg)})", STEP_TIMEOUT)
    warm = [
        run_until(page, path, 1 + n, PAINT_CELL.format(n=n), SLIDER_SHOWN) for n in range(paints)
    ]
    return {
        "first_widget_ms": round(first, 1),
        "warm_widget_p50_ms": round(statistics.median(warm), 1),
        "slider_round_trip_p50_ms": round(statistics.median(trips), 2),
        "slider_round_trip_p99_ms": round(percentile(trips, 99), 2),
    }


def measure_ipympl(pages: Pages, server: BrowserServer) -> dict[str, Any]:
    page, path = pages.open(server, [IPYMPL_CELL])
    first = run_until(page, path, 0, IPYMPL_CELL, FIGURE_DRAWN)
    cached = page.evaluate(f"({LIBRARY_CACHED})()", STEP_TIMEOUT)
    return {"first_ipympl_ms": round(first, 1), "ipympl_cached": cached}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def widgets_figure(
    paints: int = 5, steps: int = 50, runs: int = 1, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Both servers, each run measuring each on fresh pages, in an order rotated run by run;
    medians over runs; the first run's first widget also reported alone (the browser's cache
    empty of the bridge's widget code)."""
    per_run: dict[str, list[dict[str, Any]]] = {"bridge": [], "stock": []}
    with tempfile.TemporaryDirectory(prefix="comm-bridge-widgets-") as tmp:
        root = Path(tmp)
        loop = LoopThread()
        servers = start_servers(root)
        chromium = Chromium(root / "chromium")
        pages = Pages(chromium, loop)
        try:
            for run in range(runs):
                order = list(servers) if run % 2 == 0 else list(servers)[::-1]
                for label in order:
                    progress(f"widgets run {run + 1}/{runs}: {label}")
                    row = measure_sliders(pages, servers[label], paints, steps)
                    row |= measure_ipympl(pages, servers[label])
                    per_run[label].append(row)
        finally:
            pages.close()
            chromium.stop()
            for server in servers.values():
                server.stop()
            loop.stop()
    rows = {label: summary(runs_of) for label, runs_of in per_run.items()}
    ratios = {
        key: round(rows["bridge"][key] / rows["stock"][key], 2)
        for key in rows["bridge"]
        if key.endswith("_ms") and rows["stock"].get(key)
    }
    table = [{"manager": label, **row} for label, row in rows.items()]
    table.append({"manager": "bridge/stock", **ratios})
    return {"rows": table, "ratios": ratios, "runs": per_run}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs; ``first_widget_cold_ms``: the first run's; ``ipympl_cached``: whether
    the library came from the cache on every page after the first."""
    row: dict[str, Any] = {"first_widget_cold_ms": runs[0]["first_widget_ms"]}
    for key in runs[0]:
        if key.endswith("_ms"):
            row[key] = round(statistics.median(run[key] for run in runs), 2)
    later = [run["ipympl_cached"] for run in runs[1:] if run["ipympl_cached"] is not None]
    row["ipympl_cached"] = all(later) if later else None
    return row
