"""window.pycomm on the classic Notebook UI (``jupyter nbclassic``), cells run through the page.

The classic UI inserts HTML outputs with jQuery, which runs their scripts from a temporary
``<script>`` in ``<head>``: the HTML here finds its elements by id, never through
``document.currentScript``. Each test asserts what the page shows, which kernel the output's
``pycomm`` is bound to, and what the kernel received.
"""

from __future__ import annotations

import re

import pytest

from support.classic_page import UNKNOWN_COMM_LOG, ClassicNotebook

pytestmark = pytest.mark.browser

ECHO_TARGET = """from comm import get_comm_manager
opened, received = [], []
def echo(comm, open_msg):
    opened.append(open_msg["content"]["data"])
    @comm.on_msg
    def _recv(msg):
        received.append(msg["content"]["data"])
        comm.send({"echo": msg["content"]["data"]})
get_comm_manager().register_target("echo", echo)"""

# #ping sends on a comm the script keeps; #shared calls pycomm.send from the click handler
# (pycomm finds its kernel from the event there).
PING_HTML = '''from IPython.display import HTML
HTML("""
<button id="ping">ping</button> <button id="shared">shared</button>
<span id="out"></span> <span id="shared-out"></span> <span id="kid"></span>
<script>
{
  const comm = pycomm.new_comm("echo", {foo: 6});
  document.getElementById("kid").textContent = pycomm.kernel().kernel_id;
  comm.on_msg(msg => {
    document.getElementById("out").textContent = JSON.stringify(msg.content.data);
  });
  document.getElementById("ping").onclick = () => comm.send({foo: 7});
  pycomm.on("echo", data => {
    if (data.echo && "shared" in data.echo)
      document.getElementById("shared-out").textContent = JSON.stringify(data);
  });
  document.getElementById("shared").onclick = () => pycomm.send("echo", {shared: 1});
}
</script>
""")'''


def test_classic_page_opened_comm_echo(classic_server, open_classic, notebook_name):
    path = classic_server.write_notebook(notebook_name("ping"), [ECHO_TARGET, PING_HTML])
    nb: ClassicNotebook = open_classic(classic_server, path)
    kernel_id = nb.kernel_id()
    assert kernel_id == nb.kernel_id_from_api()
    nb.run_all()
    # The output's script got pycomm bound to the notebook's kernel.
    nb.wait_for_output(1, "#kid", kernel_id)
    nb.click_in_output(1, "#ping")
    nb.wait_for_output(1, "#out", '{"echo":{"foo":7}}')
    nb.click_in_output(1, "#shared")
    nb.wait_for_output(1, "#shared-out", '{"echo":{"shared":1}}')
    nb.kernel_value("[opened[0], received]", [{"foo": 6}, [{"foo": 7}, {"shared": 1}]])
    # One bridge connection, to this kernel; classic pages have no token in their config, so
    # it is authenticated by the login cookie the ?token= page load set.
    bridge = nb.ui.js(
        "() => { const b = window.__pycomm_boot; return {token: b.config.token,"
        " base: b.config.baseUrl, kernels: [...b.impl.connections.keys()]}; }"
    )
    assert bridge == {"token": "", "base": classic_server.base_url, "kernels": [kernel_id]}
    # The bootstrap marked an element with the kernel id. jQuery runs the output's scripts
    # from a temporary <script> in <head>, so that element is <head>, not the output.
    marked = nb.ui.js(
        "() => [...document.querySelectorAll('[data-pycomm-kernel]')]"
        ".map(e => [e.tagName, e.getAttribute('data-pycomm-kernel')])"
    )
    assert marked and all(k == kernel_id for _, k in marked), marked
    pycomm_errors = [c for c in nb.pycomm_messages() if c.type in ("error", "warning")]
    assert not pycomm_errors, "\n".join(map(str, pycomm_errors))
    nb.assert_clean()


REGISTER_HTML = '''from IPython.display import HTML, display
display(HTML("""
<div id="got">nothing yet</div>
<script>
{
  const got = [];
  const show = data => {
    got.push(data);
    document.getElementById("got").textContent = JSON.stringify(got);
  };
  pycomm.register_target("page_target", (comm, msg) => {
    show(msg.content.data);
    comm.on_msg(m => {
      show(m.content.data);
      if (!("ack" in m.content.data)) comm.send({reply: m.content.data});
    });
  });
}
</script>
"""))'''

KERNEL_OPENS = """from comm import create_comm
replies = []
c = create_comm(target_name="page_target", data={"foo": 1})
@c.on_msg
def _got(msg):
    replies.append(msg["content"]["data"])
    c.send({"ack": len(replies)})
c.send({"foo": 2})"""

KERNEL_OPENED_SEEN = '[{"foo":1},{"foo":2},{"ack":1}]'


def test_classic_kernel_opened_comm_from_a_later_cell(classic_server, open_classic, notebook_name):
    path = classic_server.write_notebook(notebook_name("kopen"), [REGISTER_HTML, KERNEL_OPENS])
    nb: ClassicNotebook = open_classic(classic_server, path)
    nb.run_cell(0)
    nb.wait_for_output(0, "#got", "nothing yet")
    # The registration reached the bridge before the kernel opens the comm.
    nb.ui.js_async(
        "await window.pycomm.kernel(arg).ready;"
        " const info = await window.pycomm.kernel(arg).comm_info(); return info;",
        nb.kernel_id(),
        what="pycomm ready",
    )
    nb.run_cell(1)
    nb.wait_for_output(0, "#got", KERNEL_OPENED_SEEN)
    nb.kernel_value("[replies, c._closed]", [[{"reply": {"foo": 2}}], False])
    # The page's own connection never saw the comm (the bridge client's target): the classic
    # UI logged nothing about an unknown target.
    assert not [c for c in nb.ui.console if UNKNOWN_COMM_LOG.search(c.text)], nb.ui.console_text()
    nb.assert_clean()


def test_classic_kernel_opened_comm_in_the_same_cell_as_the_registration(
    classic_server, open_classic, notebook_name
):
    # The kernel opens the comm before the page has loaded the client: the bridge keeps it
    # pending and hands it over when the target is registered.
    path = classic_server.write_notebook(
        notebook_name("race"), [REGISTER_HTML + "\n" + KERNEL_OPENS]
    )
    nb: ClassicNotebook = open_classic(classic_server, path)
    nb.run_all()
    nb.wait_for_output(0, "#got", KERNEL_OPENED_SEEN)
    nb.kernel_value("[replies, c._closed]", [[{"reply": {"foo": 2}}], False])
    # The page's own connection may have seen the comm_open before the target was registered;
    # the classic UI then only logs (it sends no comm_close).
    nb.assert_clean(allow=UNKNOWN_COMM_LOG)


# JupyterHub keeps "@" unescaped in user URLs (usernames are often e-mail addresses); the
# classic page writes its base URL into <body data-base-url> URL-encoded ("%40").
HUB_BASE_URL = "/user/alice@example.org/"


def test_classic_page_under_a_hub_user_url(server_factory, open_classic, notebook_name):
    server = server_factory("nbclassic", base_url=HUB_BASE_URL)
    path = server.write_notebook(notebook_name("hub"), [ECHO_TARGET, PING_HTML])
    nb: ClassicNotebook = open_classic(server, path)
    kernel_id = nb.kernel_id()
    nb.run_all()
    nb.wait_for_output(1, "#kid", kernel_id)
    # Rejects at once ("the client did not load") when the client module is not found.
    nb.ui.js_async("await window.pycomm.kernel(arg).ready;", kernel_id, what="pycomm.ready")
    nb.click_in_output(1, "#ping")
    nb.wait_for_output(1, "#out", '{"echo":{"foo":7}}')
    nb.kernel_value("received", [{"foo": 7}])
    origin = f"http://127.0.0.1:{server.port}"
    resources = nb.ui.js("() => performance.getEntriesByType('resource').map(e => e.name)")
    client = re.compile(re.escape(f"{origin}{HUB_BASE_URL}comm-bridge/client/") + r"[0-9a-f]+/")
    assert [u for u in resources if client.match(u)], resources
    nb.assert_clean()
