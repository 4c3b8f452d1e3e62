"""The browser client and the server agree on the bridge protocol's words and numbers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from jupyter_comm_bridge.wire import protocol

JS = Path(__file__).resolve().parents[2] / "js"


def test_js_protocol_block_matches_the_server() -> None:
    script = (
        f"import * as p from {json.dumps((JS / 'protocol.js').as_uri())};"
        "console.log(JSON.stringify(p));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    exported = json.loads(out.stdout)
    shared = {name: exported.get(name) for name in protocol.SHARED}
    assert shared == protocol.SHARED
    assert set(exported) - set(protocol.SHARED) <= {"BACKOFF", "CONNECT_TIMEOUT", "OPEN_CHECK"}


def test_the_close_codes_a_client_acts_on_are_the_servers() -> None:
    assert set(protocol.FINAL_CLOSE_CODES) == {protocol.CLOSE_REPLACED, protocol.CLOSE_KERNEL_GONE}
    assert set(protocol.CLIENT_END_CODES) == {protocol.CLOSE_TOO_SLOW, protocol.CLOSE_EXPIRED}
