"""Where the page's time goes: V8's CPU profile of pycomm's 4 MiB echoes in JupyterLab.

``python -m benchmarks.profile_page [--echoes 40]``: one JupyterLab server with the
extension, its notebook page in Chromium set up as figure 8 sets it up, then figure 8's
4 MiB echoes (two in flight) under DevTools' ``Profiler`` (a sampling profile; no domain
that copies websocket frames is enabled). Prints the self time per function, per echo, and
each Chromium process's CPU per echo. Profiling slows the page: read shares, not the rate.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tests.support.harness import start_browser_server
from tests.support.ui import INIT_SCRIPT

from .browser_cdp import Chromium, LoopThread, cpu_seconds, processes
from .browser_setup import ALL, PYCOMM, Route, attach, open_page
from .config import MB, MIB
from .fig_browser import BIG_TIMEOUT, tear_down
from .kernel_code import ECHO_TARGET
from .servers import COMMON_ARGS

SAMPLING_US = 200
SHOWN = 12


def pycomm_route(chromium: Chromium, root: Path, stack: list[Callable[[], None]]) -> Route:
    from playwright.sync_api import sync_playwright

    server = start_browser_server("lab", root / "ext", "/", COMMON_ARGS)
    stack.append(server.stop)
    with sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(chromium.endpoint)
        context = browser.contexts[0]
        context.add_init_script(INIT_SCRIPT)
        route = Route("pycomm", PYCOMM, *open_page(context, server, "ext"), ALL)
        route.url = route.ui.page.url
        route.open(ECHO_TARGET)
        browser.close()
    return route


def self_times(profile: dict[str, Any]) -> collections.Counter[str]:
    """Microseconds of samples per function (``name file:line``) where it was on top."""
    frames = {node["id"]: node["callFrame"] for node in profile["nodes"]}
    times: collections.Counter[str] = collections.Counter()
    for node_id, delta in zip(profile["samples"][1:], profile["timeDeltas"][1:], strict=True):
        frame = frames[node_id]
        where = (
            f"{frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1}" if frame["url"] else ""
        )
        times[f"{frame['functionName'] or '(anonymous)'} {where}".strip()] += delta
    return times


def profile(route: Route, echoes: int) -> list[str]:
    assert route.cdp is not None
    arg = {"id": route.channels[ECHO_TARGET], "size": 4 * MIB, "count": echoes, "window": 2}
    arg["timeout"] = BIG_TIMEOUT * 1000
    route.call("bigEcho", arg | {"count": 4}, BIG_TIMEOUT)  # warm
    chromium = processes(route.browser_pid)
    before = {p.pid: cpu_seconds(p) for p in chromium}
    route.cdp.call("Profiler.enable", {}, 10)
    route.cdp.call("Profiler.setSamplingInterval", {"interval": SAMPLING_US}, 10)
    route.cdp.call("Profiler.start", {}, 10)
    got = route.call("bigEcho", arg, 2 * BIG_TIMEOUT)
    result = route.cdp.call("Profiler.stop", {}, 60)["profile"]
    times = self_times(result)
    total = sum(times.values())
    lines = [f"{echoes} echoes, {got['bytes'] / MB / (got['ms'] / 1000):.1f} MB/s (profiled)"]
    for name, us in times.most_common(SHOWN):
        lines.append(f"  {us / 1000 / echoes:7.2f} ms/echo {100 * us / total:5.1f} %  {name}")
    lines.append("Chromium processes, CPU ms per echo:")
    for process in chromium:
        spent = (cpu_seconds(process) - before[process.pid]) / echoes * 1000
        try:
            kind = [a for a in process.cmdline() if a.startswith(("--type", "--utility-sub"))]
        except psutil.Error:  # a renderer that ended meanwhile
            continue
        if spent >= 0.5:
            lines.append(f"  {spent:7.2f}  {' '.join(kind) or 'browser'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--echoes", type=int, default=40)
    echoes = parser.parse_args().echoes
    with tempfile.TemporaryDirectory(prefix="comm-bridge-profile-") as tmp:
        loop = LoopThread()
        stack: list[Callable[[], None]] = [loop.stop]
        try:
            chromium = Chromium(Path(tmp) / "chromium")
            stack.append(chromium.stop)
            route = pycomm_route(chromium, Path(tmp), stack)
            stack += [page.close for page in attach([route], chromium, loop)]
            print("\n".join(profile(route, echoes)))
        finally:
            tear_down(stack)


if __name__ == "__main__":
    main()
