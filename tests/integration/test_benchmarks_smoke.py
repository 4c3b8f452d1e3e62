"""The benchmark harness keeps working: its tiny size runs and reports every figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
#: For each figure, the numbers every one of its rows must have, all positive.
FIGURES = {
    "echo_latency": ["payload_bytes", "p50_ms", "p99_ms", "ratio_p50", "ratio_p99"],
    "throughput": [
        "one_way_msgs_per_s",
        "echo_msgs_per_s",
        "buffer_4mib_echo_mib_per_s",
        "ratio_one_way",
        "ratio_echo",
        "ratio_buffer",
    ],
    "page_connection": ["stock_s", "extension_s", "ratio"],
    "scale": ["clients", "p50_ms", "zmq_p50_ms", "ratio_p50", "server_rss_mib", "bytes_per_client"],
    "binary_vs_json": ["array_bytes", "binary_ms", "json_ms", "speedup", "ratio_binary"],
    "busy_cell": ["first_echo_ms", "ratio_first_echo"],
}
PATHS = {"zmq", "stock-v1", "bridge-v1", "bridge-legacy"}


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def run_tiny(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    """``benchmarks/run.py --size tiny``; its JSON results and what it printed."""
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), *args, "--size", "tiny", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    results = json.loads(out.read_text())
    assert results["errors"] == []
    return results, proc.stdout


@pytest.mark.timeout(300)
def test_tiny_benchmark_reports_every_figure(tmp_path: Path) -> None:
    results, stdout = run_tiny(tmp_path)
    for figure, keys in FIGURES.items():
        rows = results["figures"][figure]["rows"]
        assert rows, figure
        for row in rows:
            bad = {k: row.get(k) for k in keys if not positive(row.get(k))}
            assert not bad, f"{figure} {row}: {bad}"
    measured = {row["path"] for row in results["figures"]["echo_latency"]["rows"]}
    assert PATHS <= measured
    assert results["figures"]["busy_cell"]["supported_features"] is not None
    assert positive(results["figures"]["scale"]["idle"]["idle_clients"])
    assert results["isolation"] == {"passed": True, "foreign": 0}
    assert {t["name"] for t in results["targets"]} and all(
        isinstance(t["passed"], bool) for t in results["targets"]
    )
    assert "Targets" in stdout


@pytest.mark.timeout(300)
def test_tiny_widgets_benchmark_reports_both_managers(tmp_path: Path) -> None:
    results, stdout = run_tiny(tmp_path, "--widgets")
    rows = {row["manager"]: row for row in results["figures"]["widgets"]["rows"]}
    assert set(rows) == {"bridge", "stock", "bridge/stock"}
    for label in ("bridge", "stock"):
        keys = ["first_widget_ms", "warm_widget_p50_ms", "slider_round_trip_p50_ms"]
        assert all(positive(rows[label][k]) for k in keys), rows[label]
    assert "Widgets in Chromium" in stdout


#: The browser figure's paths, and what each must have measured (all positive).
BROWSER_PATHS = {
    "zmq": ["p50_100_ms", "p99_100_ms", "p50_10000_json_ms", "buffer_4mib_echo_mb_per_s"],
    "python-bridge": ["p50_100_ms", "p50_10000_binary_ms", "buffer_4mib_echo_mb_per_s"],
    "python-bridge-gateway": ["p50_100_ms", "ratio_p50_100_local", "buffer_4mib_echo_mb_per_s"],
    "gateway-channel": ["p50_100_ms", "ratio_p50_100_local", "buffer_4mib_echo_mb_per_s"],
    "raw-websocket": ["buffer_4mib_echo_mb_per_s", "stream_fps", "cpu_ms_per_4mib_echo_server"],
    "pycomm": ["p50_100_ms", "p50_10000_binary_ms", "buffer_4mib_echo_mb_per_s", "stream_fps"],
    "lab-channel": ["p50_100_ms", "buffer_4mib_echo_mb_per_s", "stream_mb_per_s"],
    "stock-server": ["p50_100_ms", "buffer_4mib_echo_mb_per_s", "stream_fps"],
    "pycomm-gateway": ["p50_100_ms", "ratio_p50_100", "ratio_p50_100_local", "stream_sent"],
    "lab-channel-gateway": ["p50_100_ms", "p99_100_ms", "ratio_p50_100"],
}


@pytest.mark.timeout(300)
def test_tiny_browser_benchmark_reports_every_path(tmp_path: Path) -> None:
    results, stdout = run_tiny(tmp_path, "--browser")
    rows = {row["path"]: row for row in results["figures"]["browser"]["rows"]}
    assert set(rows) == set(BROWSER_PATHS)
    for path, keys in BROWSER_PATHS.items():
        numbers = {k: v for k, v in rows[path].items() if isinstance(v, int | float)}
        bad = {k: v for k, v in numbers.items() if not isinstance(v, bool) and not positive(v)}
        bad |= {k: rows[path].get(k) for k in keys if not positive(rows[path].get(k))}
        assert not bad, f"{path} {rows[path]}: {bad}"
        if "stream_sent" in rows[path]:
            assert rows[path]["stream_counts_equal"] is True, rows[path]
            assert rows[path]["stream_sent"] == rows[path]["stream_received"], rows[path]
    assert "Comm speed in Chromium" in stdout
    targets = {t["name"] for t in results["targets"]}
    assert {
        f"{p} 100 B echo p50 / local" for p in ("pycomm-gateway", "python-bridge-gateway")
    } <= targets
