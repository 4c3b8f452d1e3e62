"""Widgets in Chromium: the bridge's widget manager against JupyterLab's own (issue 14).

Two real ``jupyter lab`` servers, the same ``python-widgets`` kernel (ipywidgets and anywidget
in a venv of their own), headless Chromium through Playwright:

- ``bridge``: this package installed, no widget frontend in the server: the widgets run on
  the bundle the bridge serves (``js/widgets``), their comms over the bridge;
- ``stock``: the extension turned off, and jupyterlab_widgets and anywidget's labextension
  found through ``JUPYTER_PATH``: JupyterLab's own widget manager, comms over the page's
  kernel connection (``api/kernels/{id}/channels``).

Figures, per server: the time from running a cell to its first widget painted (the first
widget of the page, which loads the widget code, and then warm), and the page -> kernel ->
page round trip of a slider step (keyboard on the slider's handle; a kernel ``observe`` copies
the value to an ``IntText``; timed until that text shows it).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from tests.support.harness import BrowserServer, launch_chromium, start_browser_server
from tests.support.ui import JupyterUI, NotebookPage

WIDGETS_VENV = Path("/usr/local/share/jupyter/venvs/python-widgets")
KERNELSPEC = {"name": "python-widgets", "display_name": "Python (widgets)", "language": "python"}

SLIDER_CELL = """import ipywidgets as w
s = w.IntSlider(value=0, min=0, max=1_000_000)
t = w.IntText(value=0)
s.observe(lambda change: setattr(t, "value", change["new"]), "value")
w.HBox([s, t])"""
PAINT_CELL = "w.IntSlider(value={n})"

#: In the page: run the active cell and resolve, in ms, once its widget is painted.
TIME_TO_PAINT = """async ([index, timeout]) => {
  const cells = () => document.querySelectorAll(".jp-Notebook .jp-Cell");
  const start = performance.now();
  await window.jupyterapp.commands.execute("notebook:run-cell");
  while (true) {
    const cell = cells()[index];
    if (cell && cell.querySelector(".jp-OutputArea .widget-slider")) break;
    if (performance.now() - start > timeout) throw new Error("no widget within " + timeout + " ms");
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  await new Promise((resolve) => requestAnimationFrame(resolve));  // painted
  return performance.now() - start;
}"""

#: In the page: step the slider ``count`` times; each round trip in ms.
ROUND_TRIPS = """async ([index, count, timeout]) => {
  const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[index];
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


def stock_env() -> dict[str, str]:
    """JupyterLab finds jupyterlab_widgets (and anywidget's labextension) in the kernel's venv."""
    return {"JUPYTER_PATH": str(WIDGETS_VENV / "share" / "jupyter")}


def start_servers(root: Path) -> dict[str, BrowserServer]:
    bridge = start_browser_server("lab", root / "bridge")
    stock = start_browser_server(
        "lab",
        root / "stock",
        extra_args=['--ServerApp.jpserver_extensions={"jupyter_comm_bridge": False}'],
        env=stock_env(),
    )
    return {"bridge": bridge, "stock": stock}


def measure(ui: JupyterUI, server: BrowserServer, paints: int, steps: int) -> dict[str, Any]:
    path = server.write_notebook(
        "widgets-bench.ipynb", [SLIDER_CELL], metadata={"kernelspec": KERNELSPEC}
    )
    nb: NotebookPage = ui.goto_notebook(path)
    nb.cell(0).click()
    first = ui.page.evaluate(TIME_TO_PAINT, [0, 60_000])
    round_trips = ui.page.evaluate(ROUND_TRIPS, [0, steps, 30_000])
    warm = []
    for n in range(paints):
        index = nb.add_cell(PAINT_CELL.format(n=n))
        nb.cell(index).click()
        warm.append(ui.page.evaluate(TIME_TO_PAINT, [index, 30_000]))
    return {
        "first_widget_ms": round(first, 1),
        "warm_widget_p50_ms": round(statistics.median(warm), 1),
        "slider_round_trip_p50_ms": round(statistics.median(round_trips), 2),
        "slider_round_trip_p99_ms": round(percentile(round_trips, 99), 2),
        "steps": len(round_trips),
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def widgets_figure(paints: int = 5, steps: int = 50) -> dict[str, Any]:
    """Both servers, measured in one run; ratios bridge / stock."""
    from playwright.sync_api import sync_playwright

    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="comm-bridge-widgets-") as tmp:
        servers = start_servers(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                for label, server in servers.items():
                    ui = JupyterUI.new(browser, server, name=f"bench-{label}")
                    try:
                        rows[label] = measure(ui, server, paints, steps)
                    finally:
                        ui.close()
                browser.close()
        finally:
            for server in servers.values():
                server.stop()
    ratios = {
        key: round(rows["bridge"][key] / rows["stock"][key], 2)
        for key in rows["bridge"]
        if key.endswith("_ms") and rows["stock"][key]
    }
    table = [{"manager": label, **row} for label, row in rows.items()]
    table.append({"manager": "bridge/stock", **ratios})
    return {"rows": table, "ratios": ratios}
