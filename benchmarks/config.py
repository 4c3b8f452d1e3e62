"""The two sizes of the benchmark: ``tiny`` (CI keeps it working) and ``full`` (issue 7)."""

from __future__ import annotations

from dataclasses import dataclass

KB = 1000
MB = 1000 * 1000
MIB = 1024 * 1024


@dataclass(frozen=True)
class Size:
    name: str
    #: Repeated runs of each figure; every figure is the median over them.
    runs: int
    #: (payload bytes, round trips per run) for the echo latency figure.
    latency_payloads: tuple[tuple[int, int], ...]
    throughput_runs: int
    one_way_messages: int
    echo_messages: int
    echo_window: int
    #: (4 MiB buffer round trips per run, in flight at once).
    big_echoes: tuple[int, int]
    page_streams: int
    page_htmls: int
    #: Runs of the judged variant (plain HTML); the other two variants get page_variant_runs.
    page_runs: int
    page_variant_runs: int
    scale_clients: tuple[int, ...]
    scale_echoes: int
    scale_runs: int
    float64_count: int
    float64_runs: int
    busy_seconds: float
    busy_runs: int
    #: Widgets figure: widgets painted after the first; slider round trips.
    widget_paints: int = 3
    widget_steps: int = 20
    #: Browser figure (``--browser``): runs (each path once per run, order rotated);
    #: (payload bytes, sequential round trips per run) of the echo figure;
    browser_runs: int = 1
    browser_echoes: tuple[tuple[int, int], ...] = ((100, 30), (10 * KB, 15))
    #: (4 MiB buffer echoes per run, in flight at once);
    browser_big_echoes: tuple[int, int] = (4, 2)
    #: seconds of the kernel -> page stream of 1 MiB frames;
    browser_stream_seconds: float = 1.5
    #: seconds of each phase (echo, stream) of the raw websocket path (``raw_ws.py``).
    browser_raw_seconds: float = 1.0


TINY = Size(
    name="tiny",
    runs=2,
    latency_payloads=((100, 10), (10 * KB, 5), (1 * MB, 3)),
    throughput_runs=2,
    one_way_messages=60,
    echo_messages=60,
    echo_window=16,
    big_echoes=(2, 2),
    page_streams=500,
    page_htmls=50,
    page_runs=2,
    page_variant_runs=2,
    scale_clients=(1, 10),
    scale_echoes=5,
    scale_runs=1,
    float64_count=250_000,
    float64_runs=1,
    busy_seconds=1.0,
    busy_runs=1,
)

FULL = Size(
    name="full",
    runs=5,
    latency_payloads=((100, 80), (10 * KB, 40), (1 * MB, 12)),
    throughput_runs=3,
    one_way_messages=2000,
    echo_messages=1000,
    echo_window=32,
    big_echoes=(8, 2),
    page_streams=20_000,
    page_htmls=2_000,
    page_runs=5,
    page_variant_runs=3,
    scale_clients=(1, 10, 100),
    scale_echoes=30,
    scale_runs=3,
    float64_count=1_000_000,
    float64_runs=3,
    busy_seconds=3.0,
    busy_runs=3,
    widget_paints=10,
    widget_steps=200,
    browser_runs=3,
    browser_echoes=((100, 300), (10 * KB, 150)),
    browser_big_echoes=(48, 2),
    browser_stream_seconds=10.0,
    browser_raw_seconds=4.0,
)

SIZES = {"tiny": TINY, "full": FULL}
