"""Cells that browser tests add to a notebook to ask its kernel what it holds."""

from __future__ import annotations

import json

from support.ui import NotebookPage

#: A cell that waits (bounded, in the kernel: comm messages are handled while it awaits)
#: until ``condition`` holds, then prints ``result`` as JSON.
KERNEL_WAIT = """import asyncio as _asyncio, json as _json
for _ in range(200):
    if {condition}:
        break
    await _asyncio.sleep(0.05)
print(_json.dumps({result}, sort_keys=True))"""


def kernel_until(nb: NotebookPage, condition: str, result: str, expected: object) -> None:
    """Run a cell that waits up to 10 s for ``condition`` in the kernel; its printed
    ``result`` must be ``expected``."""
    index = nb.add_cell(KERNEL_WAIT.format(condition=condition, result=result))
    nb.run_cell(index)
    nb.wait_for_output(index, text=json.dumps(expected, sort_keys=True))
