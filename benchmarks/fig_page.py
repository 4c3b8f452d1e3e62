"""Figure 3: what the extension costs the page's own kernel connection.

A JupyterLab-like client on ``api/kernels/{id}/channels`` runs a cell with many
stream and HTML outputs, on a fresh kernel of each server, and times it from
``execute_request`` until the reply, ``idle`` and every output have arrived.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.servers import Server

from .endpoints import BenchError, Request, WsEndpoint, execute_content
from .harness import Bench, rotated
from .kernel_code import ECHO_TARGET, IOPUB_HWM, TARGETS, UNLIMITED_IOPUB, output_cell
from .stats import median, median_ratio

CELL_TIMEOUT = 600.0
#: After the reply, this long without a message means outputs were lost.
QUIET = 15.0
STOCK, EXTENSION = "stock", "extension"
Runs = dict[str, list[tuple[float, int]]]


async def finished(request: Request, expected: tuple[int, int], label: str) -> None:
    """Wait for the request, failing fast (with counts) if outputs went missing."""
    deadline = time.perf_counter() + CELL_TIMEOUT
    seen, since = -1, time.perf_counter()
    while not request.done.is_set():
        if request.received != seen:
            seen, since = request.received, time.perf_counter()
        quiet = request.reply is not None and time.perf_counter() - since > QUIET
        if quiet or time.perf_counter() > deadline:
            got = (request.counts.get("stream", 0), request.counts.get("display_data", 0))
            raise BenchError(f"{label} lost outputs: got {got} of {expected}, idle={request.idle}")
        try:
            await asyncio.wait_for(request.done.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


async def timed_cell(page: WsEndpoint, code: str, expected: tuple[int, int]) -> tuple[float, int]:
    """Seconds until everything arrived, and the characters of HTML the page got."""
    started = time.perf_counter()
    request = await page.start_request("execute_request", execute_content(code))
    await finished(request, expected, page.label)
    elapsed = time.perf_counter() - started
    got = (request.counts.get("stream", 0), request.counts.get("display_data", 0))
    if got != expected or request.reply is None or request.reply.content["status"] != "ok":
        raise BenchError(f"{page.label}: got {got} (stream, display_data) outputs of {expected}")
    return elapsed, request.html_chars


async def fresh_page(bench: Bench, server: Server) -> tuple[str, WsEndpoint]:
    """A new kernel, and a page whose iopub subscription the kernel will not drop from.

    The lift goes through the page itself: libzmq applies a new high-water mark to
    existing subscriptions only (later ones keep the one from bind time).
    """
    kernel_id = await asyncio.to_thread(server.start_kernel)
    page = await bench.page(server, kernel_id)
    await page.execute(TARGETS + UNLIMITED_IOPUB + output_cell(10, 2, True))  # and warm up
    hwm = (await page.execute(IOPUB_HWM)).text.strip()
    if hwm != "0":
        raise BenchError(f"could not lift the kernel's iopub high-water mark ({hwm!r})")
    return kernel_id, page


async def measure(pages: dict[str, WsEndpoint], bench: Bench, pycomm: bool, runs: int) -> Runs:
    """Seconds and HTML characters per run, per server, runs interleaved."""
    size = bench.size
    code = output_cell(size.page_streams, size.page_htmls, pycomm)
    results: Runs = {server: [] for server in pages}
    for run in range(runs):
        for server in rotated(list(pages), run):
            expected = (size.page_streams, size.page_htmls)
            results[server].append(await timed_cell(pages[server], code, expected))
    return results


def page_row(variant: str, ext: Runs, stock: Runs) -> dict[str, Any]:
    ext_s = [t for t, _ in ext[EXTENSION]]
    stock_s = [t for t, _ in stock[STOCK]][: len(ext_s)]
    ratio = median_ratio(ext_s, stock_s)
    return {
        "variant": variant,
        "stock_s": round(median(stock_s), 3),
        "extension_s": round(median(ext_s), 3),
        "ratio": round(ratio, 4),
        "overhead_pct": round((ratio - 1) * 100, 2),
        "html_chars_stock": stock[STOCK][0][1],
        "html_chars_extension": ext[EXTENSION][0][1],
    }


async def page_connection(bench: Bench) -> dict[str, Any]:
    # Fresh kernels: the bridge has never been used on this one, so only the page
    # wrapper runs (a kernel used through the bridge also has the relay subscribed).
    (ext_kernel, ext_page), (stock_kernel, stock_page) = await asyncio.gather(
        fresh_page(bench, bench.bridge_server), fresh_page(bench, bench.stock_server)
    )
    pages = {EXTENSION: ext_page, STOCK: stock_page}
    size = bench.size
    try:
        plain = await measure(pages, bench, pycomm=False, runs=size.page_runs)
        pycomm = await measure(pages, bench, pycomm=True, runs=size.page_variant_runs)
        check_injection(plain, pycomm)
        attached = await measure_with_bridge(bench, ext_kernel, ext_page, size.page_variant_runs)
    finally:
        for page in pages.values():
            await page.close()
        for server, kid in ((bench.bridge_server, ext_kernel), (bench.stock_server, stock_kernel)):
            await asyncio.to_thread(server.api, "DELETE", f"api/kernels/{kid}")
    rows = [
        page_row("plain HTML", plain, plain),
        page_row("HTML mentioning pycomm", pycomm, pycomm),
        # Against the stock runs of the plain variant, run for run: saves a third of the time.
        page_row("plain HTML, bridge client attached", attached, plain),
    ]
    return {"rows": rows}


async def measure_with_bridge(bench: Bench, kernel_id: str, page: WsEndpoint, runs: int) -> Runs:
    """Once a bridge client uses the kernel: the relay then reads its iopub too."""
    client = await bench.bridge_client(kernel_id)
    try:
        comm_id = await client.open_comm(ECHO_TARGET)
        await client.echo(comm_id, {"hello": True})
        return await measure({EXTENSION: page}, bench, pycomm=False, runs=runs)
    finally:
        await client.close()


def check_injection(plain: Runs, pycomm: Runs) -> None:
    """Plain outputs must reach the page unchanged; pycomm ones with the bootstrap."""
    if plain[STOCK][0][1] != plain[EXTENSION][0][1]:
        raise BenchError("the extension changed HTML outputs that do not mention pycomm")
    if pycomm[EXTENSION][0][1] <= pycomm[STOCK][0][1]:
        raise BenchError("the extension did not inject its bootstrap into pycomm outputs")
