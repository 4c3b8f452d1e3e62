"""The widget bundle in Chromium against a fake bridge and kernel (js/widgets/test/smoke.py):
the manager's own checks, which a real kernel cannot provoke on demand (the throttle on idle,
elements that leave and come back, an unknown model, a close with a reason)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SMOKE = Path(__file__).resolve().parents[2] / "js" / "widgets" / "test" / "smoke.py"


def test_the_widget_bundle_passes_its_smoke_checks() -> None:
    # its own process: it drives Chromium with a Playwright of its own
    proc = subprocess.run([sys.executable, str(SMOKE)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 failed" in proc.stdout, proc.stdout
