"""window.pycomm in real JupyterLab 4 and Notebook 7 pages, cells run through the real UI.

Every scenario asserts on what the page shows and on what the kernel received.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from support.harness import BrowserServer, html_result
from support.ui import JupyterUI, NotebookPage

pytestmark = pytest.mark.browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OpenNotebook = Callable[..., NotebookPage]
NotebookName = Callable[[str], str]

ECHO_TARGET = """
from comm import get_comm_manager
received = []
def target_func(comm, open_msg):
    @comm.on_msg
    def _recv(msg):
        received.append(msg["content"]["data"])
        comm.send({"echo": msg["content"]["data"]})
get_comm_manager().register_target("my_comm_target", target_func)
"""

# The snippet of the README, as a user would paste it.
PING_HTML = '''from IPython.display import HTML
HTML("""
<button id="b">ping</button> <span id="out"></span>
<script>
const comm = pycomm.new_comm("my_comm_target", {foo: 6});
comm.on_msg(msg => { document.getElementById("out").textContent = JSON.stringify(msg.content.data); });
document.getElementById("b").onclick = () => comm.send({foo: 7});
</script>
""")'''

SHOW = "import json; print(json.dumps({}))"


def kernel_value(nb: NotebookPage, expression: str, expected: object) -> None:
    """Run a cell printing ``expression`` as JSON and wait for ``expected``."""
    index = nb.add_cell(SHOW.format(expression))
    nb.run_cell(index)
    nb.wait_for_output(index, text=json.dumps(expected))


def assert_clean(nb: NotebookPage) -> None:
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))


def ping_scenario(server: BrowserServer, open_notebook: OpenNotebook, name: str) -> None:
    path = server.write_notebook(name, [ECHO_TARGET, PING_HTML])
    nb = open_notebook(server, path)
    nb.run_all()
    nb.wait_for_output(1, "#b", "ping")
    nb.click_in_output(1, "#b")
    nb.wait_for_output(1, "#out", '{"echo":{"foo":7}}')
    kernel_value(nb, "received", [{"foo": 7}])
    assert_clean(nb)


def test_1_page_opened_comm_in_jupyterlab(lab_server, open_notebook, notebook_name):
    ping_scenario(lab_server, open_notebook, notebook_name("ping"))


def test_8_page_opened_comm_in_notebook_7(notebook_server, open_notebook, notebook_name):
    ping_scenario(notebook_server, open_notebook, notebook_name("ping"))


REGISTER_HTML = '''from IPython.display import HTML, display
display(HTML("""
<div class="got">nothing yet</div>
<script>
{
  const here = document.currentScript.parentElement, got = [];
  const show = data => { got.push(data); here.querySelector(".got").textContent = JSON.stringify(got); };
  pycomm.register_target("my_comm_target", (comm, msg) => {
    show(msg.content.data);
    comm.on_msg(m => { show(m.content.data); if (!("ack" in m.content.data)) comm.send({reply: m.content.data}); });
  });
}
</script>
"""))'''

KERNEL_OPENS = """from ipykernel.comm import Comm
replies = []
c = Comm(target_name="my_comm_target", data={"foo": 1})
@c.on_msg
def _got(msg):
    replies.append(msg["content"]["data"])
    c.send({"ack": len(replies)})
c.send({"foo": 2})"""

KERNEL_OPENED_SEEN = '[{"foo":1},{"foo":2},{"ack":1}]'


def test_2_kernel_opened_comm_from_a_later_cell(lab_server, open_notebook, notebook_name):
    path = lab_server.write_notebook(notebook_name("kernel-opens"), [REGISTER_HTML, KERNEL_OPENS])
    nb = open_notebook(lab_server, path)
    nb.run_all()
    nb.wait_for_output(0, ".got", KERNEL_OPENED_SEEN)
    kernel_value(nb, "[replies, c._closed]", [[{"reply": {"foo": 2}}], False])
    assert_clean(nb)


def test_2_kernel_opened_comm_in_the_same_cell_as_the_registration(
    lab_server, open_notebook, notebook_name
):
    # The kernel opens the comm before the page has even loaded the client: the race.
    path = lab_server.write_notebook(notebook_name("race"), [REGISTER_HTML + "\n" + KERNEL_OPENS])
    nb = open_notebook(lab_server, path)
    nb.run_all()
    nb.wait_for_output(0, ".got", KERNEL_OPENED_SEEN)
    # Past the claim window (5 s) the page's automatic comm_close would have reached the kernel.
    late = nb.add_cell("import time; time.sleep(6); c.send({'foo': 3})")
    nb.run_cell(late)
    nb.wait_for_output(0, ".got", KERNEL_OPENED_SEEN[:-1] + ',{"foo":3},{"ack":2}]')
    kernel_value(nb, "[len(replies), c._closed]", [2, False])
    assert_clean(nb)


FALSY_HTML = '''from IPython.display import HTML
HTML("""
<div class="log"></div>
<script>
{
  const here = document.currentScript.parentElement, seen = [];
  const comm = pycomm.new_comm("echo");
  comm.on_msg(m => { seen.push(m.content.data.echo); here.querySelector(".log").textContent = JSON.stringify(seen); });
  for (const v of [0, "", false, null, {a: [0, {b: null}], s: "\u00e9"}, [[], {}]]) comm.send(v);
}
</script>
""")'''

PLAIN_ECHO = """from comm import get_comm_manager
received = []
def echo(comm, open_msg):
    @comm.on_msg
    def _r(msg):
        received.append(msg["content"]["data"])
        # wrapped: the comm package sends None as {}
        comm.send({"echo": msg["content"]["data"]})
get_comm_manager().register_target("echo", echo)"""


def test_3_echo_with_falsy_and_nested_values(lab_server, open_notebook, notebook_name):
    values = [0, "", False, None, {"a": [0, {"b": None}], "s": "é"}, [[], {}]]
    path = lab_server.write_notebook(notebook_name("falsy"), [PLAIN_ECHO, FALSY_HTML])
    nb = open_notebook(lab_server, path)
    nb.run_all()
    nb.wait_for_output(1, ".log", json.dumps(values, separators=(",", ":"), ensure_ascii=False))
    kernel_value(nb, "received", values)
    assert_clean(nb)


def test_javascript_output_gets_its_kernel(lab_server, open_notebook, notebook_name):
    js = '''from IPython.display import Javascript
Javascript("""
pycomm.on("echo", data => { element.textContent = "js got " + JSON.stringify(data); });
pycomm.send("echo", {from_js: [1, 2]});
""")'''
    path = lab_server.write_notebook(notebook_name("js"), [PLAIN_ECHO, js])
    nb = open_notebook(lab_server, path)
    nb.run_all()
    nb.wait_for_output(1, text='js got {"echo":{"from_js":[1,2]}}')
    kernel_value(nb, "received", [{"from_js": [1, 2]}])
    assert_clean(nb)


# The examples start with a markdown cell: the page's output is in cell 2.
SLIDER = CANVAS = PING = 2


def example(server: BrowserServer, name: str, path: str) -> str:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    (server.notebook_dir / path).write_text(text, encoding="utf-8")
    return path


def test_4_slider_bound_both_ways(lab_server, open_notebook, notebook_name):
    nb = open_notebook(lab_server, example(lab_server, "slider.ipynb", notebook_name("slider")))
    nb.run_all()
    slider = nb.output(SLIDER, ".slider")
    nb.wait_for_output(SLIDER, ".kernel", "kernel: 75")  # set_value(75) ran in a later cell
    assert slider.input_value() == "75"
    slider.fill("30")  # what dragging does: input events
    nb.wait_for_output(SLIDER, ".kernel", "kernel: 30")
    kernel_value(nb, "value", 30)
    set_again = nb.add_cell("set_value(12)")
    nb.run_cell(set_again)
    nb.wait_for_output(SLIDER, ".kernel", "kernel: 12")
    assert slider.input_value() == "12"
    assert_clean(nb)


# examples/index.ipynb: a markdown intro, the echo target, then the demo's output.
INDEX_DEMO = 2


def test_index_notebook_runs_top_to_bottom(lab_server, open_notebook, notebook_name):
    """The landing notebook the README's quick start opens: its demo works on Run All."""
    nb = open_notebook(lab_server, example(lab_server, "index.ipynb", notebook_name("index")))
    nb.run_all()
    nb.wait_for_output(INDEX_DEMO, ".out", '{"echo":{"ping":1}}')  # sent once the output ran
    nb.click_in_output(INDEX_DEMO, ".ping")
    nb.wait_for_output(INDEX_DEMO, ".out", '{"echo":{"ping":2}}')
    kernel_value(nb, "received", [{"ping": 1}, {"ping": 2}])
    # relative links, which JupyterLab resolves to files/<name> next to the notebook
    links = nb.cell(0).locator(".jp-RenderedMarkdown a[href*='.ipynb']")
    hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    others = sorted(p.name for p in EXAMPLES.glob("*.ipynb") if p.name != "index.ipynb")
    linked = sorted(re.sub(r"\?.*", "", h).rsplit("/files/", 1)[-1] for h in hrefs)
    assert linked == others, f"the intro links {hrefs}, not every other example ({others})"
    assert_clean(nb)


def test_4_r_slider_bound_both_ways(lab_server, open_notebook, notebook_name):
    """The same output JavaScript on an R kernel (IRkernel; scripts/install-kernels)."""
    nb = open_notebook(lab_server, example(lab_server, "slider_r.ipynb", notebook_name("rslider")))
    nb.run_all()
    slider = nb.output(SLIDER, ".slider")
    nb.wait_for_output(SLIDER, ".kernel", "kernel: 75")
    assert slider.input_value() == "75"
    slider.fill("30")
    nb.wait_for_output(SLIDER, ".kernel", "kernel: 30")
    shown = nb.add_cell("cat(value)")
    nb.run_cell(shown)
    nb.wait_for_output(shown, text="30")  # what the R kernel holds
    set_again = nb.add_cell("set_value(12)")
    nb.run_cell(set_again)
    nb.wait_for_output(SLIDER, ".kernel", "kernel: 12")
    assert slider.input_value() == "12"
    assert_clean(nb)


def test_4b_slider_updates_the_kernel_while_a_cell_runs(
    server_factory, open_notebook, notebook_name
):
    """With comm_subshells "per-target" (the default, "off", waits for the cell)."""
    server = server_factory("lab", extra_args=["--CommBridgeApp.comm_subshells=per-target"])
    nb = open_notebook(server, example(server, "slider.ipynb", notebook_name("busy")))
    nb.run_all()
    nb.wait_for_output(SLIDER, ".kernel", "kernel: 75")
    long_cell = nb.add_cell('import time\nprint("sleeping", flush=True)\ntime.sleep(8)\nvalue')
    nb.start_cell(long_cell)
    nb.wait_for_output(long_cell, text="sleeping")
    slider = nb.output(SLIDER, ".slider")
    for value in ("20", "40", "60"):
        slider.fill(value)
        # acknowledged from a subshell while the main shell sleeps
        nb.wait_for_output(SLIDER, ".kernel", f"kernel: {value}", timeout=3)
    assert "60" not in nb.output_text(long_cell), "the long cell had already finished"
    # and the cell saw the new value
    nb.wait_for_output(
        long_cell, ".jp-OutputArea-executeResult .jp-OutputArea-output", "60", timeout=30
    )
    assert_clean(nb)


def test_5_binary_buffers_both_ways(lab_server, open_notebook, notebook_name):
    nb = open_notebook(
        lab_server, example(lab_server, "binary_canvas.ipynb", notebook_name("binary"))
    )
    nb.run_all()
    nb.wait_for_output(CANVAS, ".stats", f"n=1000000 sum={sum(range(1000000))} max=999999")
    kernel_value(nb, "got", {"nbytes": 8000000, "n": 1000000})
    pixel = nb.ui.js(
        "() => Array.from(document.querySelector('.canvas').getContext('2d').getImageData(10, 20, 1, 1).data)"
    )
    assert pixel == [40, 80, 128, 255]
    assert_clean(nb)


TAGGED_ECHO = PLAIN_ECHO.replace('comm.send({"echo": ', 'comm.send({"kernel": NAME, "data": ')
ONE_LINERS_HTML = '''from IPython.display import HTML
HTML("""
<button class="go">go</button> <span class="answer"></span>
<script>
{
  const here = document.currentScript.parentElement;
  pycomm.on("echo", data => { here.querySelector(".answer").textContent = JSON.stringify(data); });
  // resolved when clicked: the kernel of this output, not of the output rendered last
  here.querySelector(".go").onclick = () => pycomm.send("echo", NAME_JS);
}
</script>
""")'''


def test_6_two_notebooks_on_two_kernels_in_one_page(lab_server, jupyter_ui, notebook_name):
    ui: JupyterUI = jupyter_ui(lab_server)
    paths, pages = [], []
    for name in ("A", "B"):
        cells = [
            f"NAME = {name!r}\n" + TAGGED_ECHO,
            ONE_LINERS_HTML.replace("NAME_JS", f"'{name}'"),
        ]
        paths.append(lab_server.write_notebook(notebook_name(name), cells))
    pages.append(ui.goto_notebook(paths[0]))
    pages.append(ui.open_notebook(paths[1], mode="split-right"))
    a, b = pages
    assert a.kernel_id() != b.kernel_id()
    a.run_all()
    b.run_all()  # rendered last: a's handlers must still reach a's kernel
    a.wait_for_output(1, ".go", "go")
    b.wait_for_output(1, ".go", "go")
    a.click_in_output(1, ".go")
    a.wait_for_output(1, ".answer", '{"kernel":"A","data":"A"}')
    b.click_in_output(1, ".go")
    b.wait_for_output(1, ".answer", '{"kernel":"B","data":"B"}')
    a.click_in_output(1, ".go")
    kernel_value(a, "received", ["A", "A"])
    kernel_value(b, "received", ["B"])
    assert b.output(1, ".answer").inner_text() == '{"kernel":"B","data":"B"}'
    assert_clean(a)


def test_two_tabs_on_the_same_notebook_each_work(lab_server, jupyter_ui, notebook_name):
    path = example(lab_server, "echo.ipynb", notebook_name("tabs"))
    first = jupyter_ui(lab_server).goto_notebook(path)
    first.run_all()
    first.wait_for_output(PING, ".ping", "ping")
    first.save()  # saved outputs, signed: trusted in the second tab, and bound to the live kernel
    second = jupyter_ui(lab_server).goto_notebook(path)
    assert second.kernel_id() == first.kernel_id()
    for tab, n in ((second, 1), (first, 2)):
        tab.click_in_output(PING, ".ping")
        tab.wait_for_output(PING, ".out", '{"echo":{"foo":7}}')
        kernel_value(tab, "len(received)", n)
    assert_clean(first)
    assert_clean(second)


def bootstrapped(html: str, kernel_id: str) -> str:
    """The HTML of an output as the server injects it, for a given kernel id."""
    from jupyter_comm_bridge.assets import Assets, asset_dirs
    from jupyter_comm_bridge.page.injection import Injector

    injector = Injector.from_assets(Assets(asset_dirs()))
    content = injector.inject(kernel_id, {"data": {"text/html": html}})
    return content["data"]["text/html"]


SAVED_HTML = (
    '<span class="state">static</span><script>{const state = document.currentScript.parentElement'
    '.querySelector(".state"); pycomm.ready.then(() => { state.textContent = "connected"; },'
    ' e => { state.textContent = "failed: " + e.message; });}</script>'
)


def test_7_untrusted_notebook_with_saved_pycomm_outputs(lab_server, open_notebook, notebook_name):
    saved = bootstrapped(SAVED_HTML, "5e0a1b2c-0000-4000-8000-000000000000")
    path = lab_server.write_notebook(
        notebook_name("untrusted"), ["HTML(...)"], outputs=[[html_result(saved)]]
    )
    nb = open_notebook(lab_server, path)
    nb.wait_for_output(0, "span", "static")
    assert not nb.is_trusted(0)
    assert nb.ui.js("() => typeof window.pycomm") == "undefined"
    assert not any("pycomm" in c.text for c in nb.console_messages())
    # nothing broken: the notebook still runs
    index = nb.add_cell("1 + 1")
    nb.run_cell(index)
    nb.wait_for_output(index, text="2")
    assert_clean(nb)


def test_saved_bootstrap_of_a_gone_kernel_ends_disconnected(
    lab_server, open_notebook, notebook_name
):
    gone = "5e0a1b2c-0000-4000-8000-000000000001"
    saved = bootstrapped(SAVED_HTML, gone)
    path = lab_server.write_notebook(
        notebook_name("gone"), ["HTML(...)"], outputs=[[html_result(saved)]], trusted=True
    )
    nb = open_notebook(lab_server, path)
    assert nb.is_trusted(0)
    nb.wait_for_console(f"kernel {gone} does not exist")
    status = nb.ui.wait_js(
        f"() => window.pycomm && window.pycomm.kernel('{gone}').status === 'disconnected' && 'ok'"
    )
    assert status == "ok"
    nb.wait_for_output(0, ".state", re.compile(f"^failed: pycomm: kernel {gone} does not exist"))
    assert_clean(nb)
