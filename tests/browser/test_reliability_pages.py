"""The real client through drops, reloads and restarts, in real JupyterLab pages."""

from __future__ import annotations

import os
import signal
import time

import pytest

from support.harness import BrowserServer

pytestmark = pytest.mark.browser

FAST = ["--CommBridgeApp.heartbeat_interval=0.5", "--CommBridgeApp.reconnect_window=3"]

STREAM_TARGET = """
import threading, time
from comm import get_comm_manager
got = []
def stream_target(comm, open_msg):
    def run():
        for i in range(200):
            comm.send({"i": i})
            time.sleep(0.02)
    threading.Thread(target=run, daemon=True).start()
    @comm.on_msg
    def _r(msg):
        got.append(msg["content"]["data"]["j"])
get_comm_manager().register_target("stream", stream_target)
"""

STREAM_HTML = '''from IPython.display import HTML
HTML("""
<div class="state">starting</div><div class="status"></div><div class="sent"></div>
<script>
{
  const here = document.currentScript.parentElement, statuses = [];
  const show = (cls, text) => { here.querySelector(cls).textContent = text; };
  const comm = pycomm.new_comm("stream");
  let next = 0, bad = null, j = 0;
  pycomm.on_status(s => { statuses.push(s); show(".status", statuses.join(",")); });
  comm.on_msg(m => {
    const i = m.content.data.i;
    if (i !== next && !bad) bad = "expected " + next + " got " + i;
    next = i + 1;
    show(".state", bad ? "bad: " + bad : "ok " + next);
  });
  const timer = setInterval(() => {
    if (j < 100) { comm.send({j: j++}); show(".sent", "sent " + j); } else clearInterval(timer);
  }, 40);
}
</script>
""")'''

WAIT_FOR = """import asyncio
for _ in range(300):
    if {condition}:
        break
    await asyncio.sleep(0.1)
print(({result}))"""


def test_a_network_drop_resumes_with_nothing_lost_or_duplicated(
    server_factory, open_notebook, notebook_name
):
    server: BrowserServer = server_factory("lab", extra_args=FAST)
    path = server.write_notebook(notebook_name("drop"), [STREAM_TARGET, STREAM_HTML])
    nb = open_notebook(server, path)
    nb.run_all()
    nb.wait_for_output(1, ".state", __import__("re").compile(r"^ok ([2-9]\d|1\d\d)$"))
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)  # the server goes silent: the client must notice
    try:
        nb.wait_for_output(1, ".status", "connected,disconnected,connecting", timeout=15)
    finally:
        time.sleep(0.5)  # keep it stopped a moment longer, so the kernel piles up messages
        os.kill(server.proc.pid, signal.SIGCONT)
    nb.wait_for_output(1, ".state", "ok 200", timeout=60)
    nb.wait_for_output(1, ".sent", "sent 100")
    nb.wait_for_output(1, ".status", "connected,disconnected,connecting,connected")
    index = nb.add_cell(
        WAIT_FOR.format(condition="len(got) >= 100", result="got == list(range(100)), len(got)")
    )
    nb.run_cell(index)
    nb.wait_for_output(index, text="(True, 100)")


RELOAD_TARGET = """
from comm import get_comm_manager
opened, closed = [], []
def target(comm, open_msg):
    opened.append(comm.comm_id)
    comm.on_close(lambda msg: closed.append(comm.comm_id))
    comm.send("hello")
get_comm_manager().register_target("reload", target)
"""
RELOAD_HTML = '''from IPython.display import HTML
HTML("""<span class="got">waiting</span><script>
{ const got = document.currentScript.parentElement.querySelector(".got");
  pycomm.new_comm("reload").on_msg(m => { got.textContent = m.content.data; }); }
</script>""")'''


def test_page_reload_closes_its_comms_in_the_kernel_after_the_window(
    server_factory, jupyter_ui, notebook_name
):
    server: BrowserServer = server_factory("lab", extra_args=FAST)
    path = server.write_notebook(notebook_name("reload"), [RELOAD_TARGET, RELOAD_HTML])
    ui = jupyter_ui(server)
    nb = ui.goto_notebook(path)
    kernel_id = nb.kernel_id()
    nb.run_all()
    nb.wait_for_output(1, ".got", "hello")
    ui.page.reload()  # the old page's bridge client waits 3 s, then its comm is closed
    ui.wait_app()
    nb = ui.notebook(path)
    assert nb.wait_ready() == kernel_id
    index = nb.add_cell(WAIT_FOR.format(condition="closed", result="closed == opened, len(opened)"))
    nb.run_cell(index, timeout=40)
    nb.wait_for_output(index, text="(True, 1)")


def test_after_a_server_restart_a_gone_kernel_ends_the_client_clearly(
    server_factory, open_notebook, notebook_name
):
    server: BrowserServer = server_factory("lab", extra_args=FAST)
    path = server.write_notebook(notebook_name("restart"), [RELOAD_TARGET, RELOAD_HTML])
    nb = open_notebook(server, path)
    kernel_id = nb.kernel_id()
    nb.run_all()
    nb.wait_for_output(1, ".got", "hello")
    server.stop()
    server.start()  # same port and token; the kernel died with the old server
    nb.wait_for_console(f"kernel {kernel_id} does not exist", timeout=60)
    status = nb.ui.js(f"() => window.pycomm.kernel('{kernel_id}').status")
    assert status == "disconnected"
