"""``pip install`` is the whole installation: every Jupyter app loads the extension."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from support.kernelws import Bridge, Page
from support.servers import Server
from support.snippets import ECHO_TARGET


def test_extension_list_shows_it_enabled_and_ok(tmp_path):
    env = Server("server", tmp_path).env()
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert re.search(r"^\s*jupyter_comm_bridge enabled$", text, re.M), text
    assert re.search(r"^\s*jupyter_comm_bridge [0-9.]+ OK$", text, re.M), text


@pytest.mark.parametrize("app", ["server", "lab", "notebook"])
async def test_each_app_serves_the_bridge_with_no_other_step(app, tmp_path):
    server = Server(app, tmp_path, base_url="/user/alice/").start()
    try:
        kernel_id = server.start_kernel()
        page = await Page.connect(server.ws_fetch, "api", "kernels", kernel_id, "channels")
        await page.execute(ECHO_TARGET)
        client = await Bridge.connect(
            server.ws_fetch, "comm-bridge", "kernels", kernel_id, "channels"
        )
        comm_id = await client.open_comm("echo")
        await client.comm_msg(comm_id, {"app": app}, buffers=[b"\x00\x01"])
        echo = await client.next_on_comm(comm_id)
        assert echo["content"]["data"] == {"app": app}
        assert echo["buffers"] == [b"\x00\x01"]
        await client.close()
        await page.close()
    finally:
        server.stop()
    assert "jupyter_comm_bridge | extension was successfully loaded" in server.log_path.read_text()
