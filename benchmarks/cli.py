"""``python benchmarks/run.py [--size tiny|full] [--json FILE] [--strict] [--widgets|--browser
[--client-at REV]]``.

Exit status: 0 when every figure was measured (targets missed or not), 1 when
``--strict`` and a target failed, 2 on an error (a lost or foreign message, a
server or kernel that failed): CI runs the tiny size to keep the harness working.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from . import fig_browser, fig_busy, fig_comm, fig_page, fig_scale, fig_widgets
from .config import SIZES, Size
from .harness import Bench, setup, teardown
from .report import evaluate, render
from .servers import check_extension, jupyter_server

Figure = Callable[[Bench], Awaitable[dict[str, Any]]]
#: Measured in this order. The page figure first, while both servers are fresh: later
#: figures leave the extension's server with more state (100 clients' sessions, ...).
FIGURES: list[tuple[str, Figure]] = [
    ("page_connection", fig_page.page_connection),
    ("echo_latency", fig_comm.echo_latency),
    ("throughput", fig_comm.throughput),
    ("binary_vs_json", fig_comm.binary_vs_json),
    ("busy_cell", fig_busy.busy_cell_echo),
    ("scale", fig_scale.scale),
]
PACKAGES = (
    "jupyter_comm_bridge",
    "jupyter_server",
    "jupyter_client",
    "ipykernel",
    "tornado",
    "pyzmq",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    alone = parser.add_mutually_exclusive_group()
    alone.add_argument(
        "--widgets",
        action="store_true",
        help="only the widgets figure, in Chromium (JupyterLab servers, the python-widgets kernel)",
    )
    alone.add_argument(
        "--browser",
        action="store_true",
        help="only the comm speed figure in Chromium (pycomm, JupyterLab's connection, gateway)",
    )
    parser.add_argument(
        "--client-at",
        metavar="REV",
        help="with --browser: also measure the pycomm client of git revision REV, in a page of "
        "its own on the same server (path pycomm@REV): before and after in one run",
    )
    args = parser.parse_args(argv)
    if args.client_at and not args.browser:
        parser.error("--client-at needs --browser")
    return args


def progress(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def meta(size: Size) -> dict[str, Any]:
    return {
        "size": size.name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_start": load(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in PACKAGES},
    }


async def run_figures(bench: Bench, results: dict[str, Any]) -> None:
    progress("starting kernels, registering comm targets")
    await setup(bench)
    try:
        for key, figure in FIGURES:
            progress(f"figure {key}")
            started = time.perf_counter()
            results["figures"][key] = await figure(bench)
            results["figures"][key]["seconds"] = round(time.perf_counter() - started, 2)
    finally:
        await teardown(bench)


def run(size: Size, results: dict[str, Any]) -> None:
    """Everything that needs the servers, which are stopped whatever happens."""
    with tempfile.TemporaryDirectory(prefix="comm-bridge-bench-") as tmp:
        root = Path(tmp)
        servers = [jupyter_server("bridge", root, True), jupyter_server("stock", root, False)]
        results["meta"]["server_args"] = {s.label: s.args for s in servers}
        try:
            progress("starting a server with the extension and one without")
            for server in servers:
                server.spawn()
            for server in servers:
                server.wait_ready()
                check_extension(server, server.extension is not False)
            bench = Bench(size, root, servers[0], servers[1])
            asyncio.run(run_figures(bench, results))
        except Exception as e:
            results["errors"].append(f"{type(e).__name__}: {e}")
            traceback.print_exc()
            for server in servers:
                print(f"--- log of server {server.label}:\n{server.log_tail()}", file=sys.stderr)
        finally:
            for server in servers:
                server.stop()


def run_browser(size: Size, results: dict[str, Any], client_at: str | None = None) -> None:
    """The browser figure; a stream that lost or duplicated frames is an error (exit 2)."""
    try:
        figure = fig_browser.browser_figure(size, progress, client_at)
        results["figures"]["browser"] = figure
        results["errors"] += figure["problems"]
    except Exception as e:
        results["errors"].append(f"{type(e).__name__}: {e}")
        traceback.print_exc()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = SIZES[args.size]
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": meta(size), "figures": {}, "errors": []}
    if args.widgets:
        progress("widgets figure: two JupyterLab servers, Chromium")
        try:
            figure = fig_widgets.widgets_figure(
                size.widget_paints, size.widget_steps, size.browser_runs, progress
            )
            results["figures"]["widgets"] = figure
        except Exception as e:
            results["errors"].append(f"{type(e).__name__}: {e}")
            traceback.print_exc()
    elif args.browser:
        run_browser(size, results, args.client_at)
    else:
        run(size, results)
    results["meta"]["load_end"] = load()
    results["meta"]["duration_s"] = round(time.perf_counter() - started, 1)
    results["targets"] = evaluate(results["figures"]) if not results["errors"] else []
    scale = results["figures"].get("scale")
    results["isolation"] = scale["isolation"] if scale else {"passed": False}
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if results["errors"]:
        return 2
    if args.strict and not all(t["passed"] for t in results["targets"]):
        return 1
    return 0
