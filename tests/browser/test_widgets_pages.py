"""Jupyter widgets with no frontend extension, end to end: real ipywidgets 8 and anywidget in
the kernel's own environment (the ``python-widgets`` kernelspec: scripts/install-kernels), none
in the server's, real JupyterLab 4 and Notebook 7 pages driven through their UI.

Every test asserts on what the page shows and on what the kernel holds, and ends with no
unexpected page error and no dialog.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from support.harness import BrowserServer
from support.kernel_cells import kernel_until
from support.ui import JupyterUI, NotebookPage

pytestmark = pytest.mark.browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: The kernel with ipywidgets 8.1.9 and anywidget 0.11.0 (a venv of its own).
WIDGETS_KERNEL = {
    "kernelspec": {
        "name": "python-widgets",
        "display_name": "Python (widgets)",
        "language": "python",
    }
}
#: Where that venv installed its JupyterLab extensions (jupyterlab_widgets', anywidget's).
VENV_JUPYTER = "/usr/local/share/jupyter/venvs/python-widgets/share/jupyter"

# -- helpers -------------------------------------------------------------------------------------


def kernel_value(nb: NotebookPage, expression: str, expected: object) -> None:
    """What the kernel holds now (what the page sent has been handled: the same shell)."""
    kernel_until(nb, "True", expression, expected)


def assert_clean(nb: NotebookPage) -> None:
    """No dialog, no unexpected page error, no error of pycomm's on the console."""
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))
    ours = [c for c in nb.console_messages("error") if "pycomm" in c.text or "widget" in c.text]
    assert not ours, "\n".join(map(str, ours))


def widget_notebook(server: BrowserServer, name: str, cells: list[str], **kw: Any) -> str:
    return server.write_notebook(name, cells, metadata=WIDGETS_KERNEL, **kw)


def example(server: BrowserServer, name: str, path: str, kernel: str = "python-widgets") -> str:
    """Copy ``examples/name`` to the server as ``path``, its kernelspec set to ``kernel``
    (the examples name the kernel a user has, ``python3``)."""
    nb = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    if kernel == "python-widgets":
        nb["metadata"]["kernelspec"] = WIDGETS_KERNEL["kernelspec"]
    (server.notebook_dir / path).write_text(json.dumps(nb), encoding="utf-8")
    return path


def computed(nb: NotebookPage, index: int, selector: str, prop: str) -> str:
    """A computed style property of the first ``selector`` in cell ``index``'s output."""
    return str(
        nb.output(index, selector).first.evaluate("(el, p) => getComputedStyle(el)[p]", prop)
    )


def press_on_slider(nb: NotebookPage, index: int, key: str, nth: int = 0) -> None:
    """Focus a slider's handle (a click on it) and press ``key`` (noUiSlider's keyboard)."""
    handle = nb.output(index, ".noUi-handle").nth(nth)
    handle.click()
    handle.press(key)


def drag_slider(nb: NotebookPage, index: int, dx: float, nth: int = 0) -> None:
    """Drag a slider's handle ``dx`` pixels with the mouse."""
    handle = nb.output(index, ".noUi-handle").nth(nth)
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None, "the slider's handle is not shown"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    mouse = nb.page.mouse
    mouse.move(x, y)
    mouse.down()
    mouse.move(x + dx, y, steps=8)
    mouse.up()


def expect_value(nb: NotebookPage, index: int, selector: str, value: str) -> None:
    """Wait (10 s at most) until the input ``selector`` in cell ``index``'s output has
    ``value``."""
    try:
        expect(nb.output(index, selector).first).to_have_value(value, timeout=10000)
    except AssertionError as e:
        nb.fail(f"cell {index} {selector!r}: {e}")


def widget_requests(ui: JupyterUI) -> list[str]:
    """The URLs of the widget bundle and the client's modules the page fetched so far."""
    urls = ui.js("() => performance.getEntriesByType('resource').map(e => e.name)")
    return [u for u in urls if "comm-bridge/client" in u]


# -- 1. core controls, boxes, styles, jslink, interact -----------------------------------------

CONTROLS = """import ipywidgets as widgets
from ipywidgets import interact

changes = []
def record(change):
    changes.append([change["owner"].description, change["new"]])

islider = widgets.IntSlider(value=3, min=0, max=10, description="int")
fslider = widgets.FloatSlider(value=1.0, min=0, max=10, step=0.5, description="float")
text = widgets.Text(value="hello", description="text", style={"description_width": "150px"})
check = widgets.Checkbox(value=False, description="check")
drop = widgets.Dropdown(options=["red", "green", "blue"], value="red", description="drop")
button = widgets.Button(description="press", layout=widgets.Layout(width="321px"))
button.style.button_color = "rgb(255, 0, 0)"
clicks = []
button.on_click(lambda b: clicks.append(len(clicks) + 1))
for w in (islider, fslider, text, check, drop):
    w.observe(record, "value")
widgets.VBox([widgets.HBox([islider, fslider]), text, check, drop, button])"""

JSLINK = """mirror = widgets.IntText(description="mirror")
widgets.jslink((islider, "value"), (mirror, "value"))
mirror"""

INTERACT = """def f(x):
    print(f"f got {x}")
interact(f, x=(0, 10));"""


def test_core_controls_boxes_styles_jslink_and_interact(any_server, open_notebook, notebook_name):
    server: BrowserServer = any_server
    nb = open_notebook(
        server, widget_notebook(server, notebook_name("controls"), [CONTROLS, JSLINK, INTERACT])
    )
    nb.run_all()
    readouts = nb.output(0, ".widget-readout")
    nb.wait_for_output(0, ".widget-readout >> nth=0", "3")
    nb.wait_for_output(0, ".widget-readout >> nth=1", "1.00")  # readout_format .2f
    nb.wait_for_output(2, ".widget-output", "f got 5")  # interact's Output widget
    # the traits of Layout and Style, as the page computed them
    assert computed(nb, 0, ".widget-button", "width") == "321px"
    assert computed(nb, 0, ".widget-button", "backgroundColor") == "rgb(255, 0, 0)"
    assert computed(nb, 0, ".widget-text .widget-label", "width") == "150px"
    assert nb.output(0, ".widget-hbox .widget-slider").count() == 2  # the HBox in the VBox

    press_on_slider(nb, 0, "End")  # the keyboard, on the int slider: to its max
    nb.wait_for_output(0, ".widget-readout >> nth=0", "10")
    expect_value(nb, 1, "input", "10")  # jslink: the mirror follows in the page
    drag_slider(nb, 0, 60, nth=1)  # the mouse, on the float slider
    nb.page.wait_for_function(
        "el => Number(el.textContent) > 1", arg=readouts.nth(1).element_handle(), timeout=10000
    )
    dragged = float(readouts.nth(1).inner_text())
    nb.output(0, ".widget-text input").fill("world")
    nb.output(0, ".widget-text input").press("Enter")
    nb.output(0, ".widget-checkbox input").click()
    nb.output(0, ".widget-dropdown select").select_option("blue")
    nb.output(0, ".widget-button").click()
    nb.output(0, ".widget-button").click()
    # interact's slider, one step: f runs again. Notebook 7 runs its shortcuts before the
    # page's own key handlers, and its ArrowRight (notebook:move-cursor-heading-below-or-
    # expand) takes the key from a focused slider, as it would with any widget manager:
    # there PageUp (5 steps), which it leaves alone.
    x = 6 if server.ui == "lab" else 10
    press_on_slider(nb, 2, "ArrowRight" if server.ui == "lab" else "PageUp")
    nb.wait_for_output(2, ".widget-output", f"f got {x}")

    # the kernel: the traits, the observe callbacks, the clicks, the jslinked widget
    kernel_until(
        nb,
        "len(clicks) == 2 and drop.value == 'blue'",
        "[islider.value, fslider.value, text.value, check.value, drop.value, mirror.value, clicks]",
        [10, dragged, "world", True, "blue", 10, [1, 2]],
    )
    # what observe recorded, in order: every change of the int slider, the last of each other
    kernel_value(
        nb,
        "[[v for d, v in changes if d == 'int'], {d: v for d, v in changes if d != 'int'}]",
        [[10], {"float": dragged, "text": "world", "check": True, "drop": "blue"}],
    )

    # kernel-side values move the views (and jslink the mirror)
    index = nb.add_cell("islider.value = 7\ntext.value = 'from the kernel'")
    nb.run_cell(index)
    nb.wait_for_output(0, ".widget-readout >> nth=0", "7")
    expect_value(nb, 1, "input", "7")
    expect_value(nb, 0, ".widget-text input", "from the kernel")
    kernel_value(nb, "mirror.value", 7)
    assert_clean(nb)


# -- 2. the anywidget counter of anywidget's README, two views -------------------------------

#: anywidget's README (anywidget 0.11.0, "Usage"), as it is.
COUNTER = '''import anywidget
import traitlets

class CounterWidget(anywidget.AnyWidget):
    # Widget front-end JavaScript code
    _esm = """
    function render({ model, el }) {
      let button = document.createElement("button");
      button.innerHTML = `count is ${model.get("value")}`;
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", () => {
        button.innerHTML = `count is ${model.get("value")}`;
      });
      el.appendChild(button);
    }
    export default { render };
    """
    # Stateful property that can be accessed by JavaScript & Python
    value = traitlets.Int(0).tag(sync=True)'''

#: The same counter with a stylesheet (`_css`), as a subclass: the README's class stays as it is.
STYLED = """class StyledCounter(CounterWidget):
    _css = ".counter-styled button { border-radius: 7px; }  :root { --counter-css: loaded; }"

w = CounterWidget()
display(w)
display(w)  # the same widget twice: two views of one model
styled = StyledCounter()
styled.add_class("counter-styled")
styled"""


def test_anywidget_counter_from_the_readme_in_two_views(any_server, open_notebook, notebook_name):
    server: BrowserServer = any_server
    nb = open_notebook(server, widget_notebook(server, notebook_name("counter"), [COUNTER, STYLED]))
    nb.run_all()
    first, second = (f"button >> nth={i}" for i in (0, 1))
    nb.wait_for_output(1, first, "count is 0")
    nb.wait_for_output(1, second, "count is 0")
    nb.click_in_output(1, second)  # a click in one view...
    nb.wait_for_output(1, first, "count is 1")  # ...shows in both
    nb.wait_for_output(1, second, "count is 1")
    nb.click_in_output(1, first)
    nb.wait_for_output(1, second, "count is 2")
    kernel_until(nb, "w.value == 2", "w.value", 2)
    index = nb.add_cell("w.value = 100")
    nb.run_cell(index)
    nb.wait_for_output(1, first, "count is 100")
    nb.wait_for_output(1, second, "count is 100")
    # the subclass's _css is in the page, and applies to its view only
    styled = nb.output(1, ".counter-styled button")
    assert styled.count() == 1 and styled.inner_text() == "count is 0"
    assert computed(nb, 1, ".counter-styled button", "borderTopLeftRadius") == "7px"
    assert computed(nb, 1, first, "borderTopLeftRadius") != "7px"
    root_css = "getComputedStyle(document.documentElement).getPropertyValue('--counter-css')"
    assert nb.ui.js(f"() => {root_css}.trim()") == "loaded"
    nb.click_in_output(1, ".counter-styled button")
    kernel_until(nb, "styled.value == 1", "[w.value, styled.value]", [100, 1])
    assert nb.output(1, first).inner_text() == "count is 100"
    assert_clean(nb)


# -- 3. binary buffers both ways, and a Bytes trait ---------------------------------------------

PIPE = '''import array
import anywidget
import traitlets

class Pipe(anywidget.AnyWidget):
    """The page sends a million float64 values as one buffer; the kernel answers with an
    RGBA image made from them, as a buffer; `blob` is a Bytes trait."""
    _esm = """
    export default { render({ model, el }) {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 100;
      const info = document.createElement("div"), blob = document.createElement("div");
      info.className = "info"; blob.className = "blob";
      el.append(canvas, info, blob);
      model.on("msg:custom", (msg, buffers) => {
        const [image] = buffers;
        const pixels = new Uint8ClampedArray(image.buffer, image.byteOffset, image.byteLength);
        canvas.getContext("2d").putImageData(new ImageData(pixels.slice(), 100, 100), 0, 0);
        info.textContent = `drawn: n=${msg.n} sum=${msg.sum}`;
      });
      const showBlob = () => {
        const v = model.get("blob");
        const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        blob.textContent = `blob: ${bytes.length} bytes, sum ${bytes.reduce((a, b) => a + b, 0)}`;
      };
      model.on("change:blob", showBlob);
      showBlob();
      const values = new Float64Array(1000000);
      for (let i = 0; i < values.length; i++) values[i] = i;
      model.send({ kind: "values" }, undefined, [values.buffer]);
    } };
    """
    blob = traitlets.Bytes(b"").tag(sync=True)

got = {}
pipe = Pipe()

@pipe.on_msg
def _values(widget, content, buffers):
    raw = bytes(buffers[0])
    values = array.array("d")
    values.frombytes(raw)
    got.update(kind=content["kind"], nbytes=len(raw), n=len(values), sum=sum(values))
    # pixel k (row-major) is the value at k * 100, in red (mod 256)
    image = b"".join(bytes((int(values[k * 100]) // 100 % 256, 80, 128, 255)) for k in range(10000))
    widget.send({"n": len(values), "sum": sum(values)}, buffers=[image])

pipe'''


def test_binary_buffers_both_ways_and_a_bytes_trait(lab_server, open_notebook, notebook_name):
    nb = open_notebook(lab_server, widget_notebook(lab_server, notebook_name("pipe"), [PIPE]))
    nb.run_all()
    nb.wait_for_output(0, ".info", f"drawn: n=1000000 sum={sum(range(1000000))}")
    kernel_value(
        nb, "got", {"kind": "values", "nbytes": 8000000, "n": 1000000, "sum": 499999500000.0}
    )
    pixel = nb.output(0, "canvas").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(10, 20, 1, 1).data)"
    )
    assert pixel == [2010 % 256, 80, 128, 255]  # pixel k = 20 * 100 + 10
    nb.wait_for_output(0, ".blob", "blob: 0 bytes, sum 0")
    index = nb.add_cell("pipe.blob = bytes(range(256)) * 1000")
    nb.run_cell(index)
    nb.wait_for_output(0, ".blob", f"blob: 256000 bytes, sum {sum(range(256)) * 1000}")
    assert_clean(nb)


# -- 4. the Output widget -------------------------------------------------------------------------

OUTPUT = """import ipywidgets as widgets
out = widgets.Output()
display(out)
with out:
    print("hi")
print("outside")"""

#: The cell's own stdout, not an Output widget's (nested in the cell's output area).
CELL_STDOUT = ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output" + (
    "[data-mime-type='application/vnd.jupyter.stdout']"
)


def test_output_widget_captures_what_its_with_block_prints(
    any_server, open_notebook, notebook_name
):
    server: BrowserServer = any_server
    nb = open_notebook(server, widget_notebook(server, notebook_name("output"), [OUTPUT]))
    nb.run_all()
    nb.wait_for_output(0, ".widget-output", "hi")
    cell = nb.cell(0)
    stdout = cell.locator(CELL_STDOUT)
    assert stdout.count() == 1 and stdout.inner_text().strip() == "outside"
    assert "hi" not in stdout.inner_text()
    # the page gave the kernel's widget what it shows, as a widget manager does
    kernel_value(nb, "out.outputs", [{"output_type": "stream", "name": "stdout", "text": "hi\n"}])
    more = nb.add_cell("with out:\n    print('more')\nprint('in its own cell')")
    nb.run_cell(more)
    nb.wait_for_output(0, ".widget-output", re.compile(r"^hi\s+more\s*$"))
    nb.wait_for_output(more, text="in its own cell")
    clear = nb.add_cell("out.clear_output()")
    nb.run_cell(clear)
    nb.wait_for_output(0, ".widget-output", re.compile(r"^\s*$"))
    kernel_value(nb, "out.outputs", [])
    assert stdout.inner_text().strip() == "outside"
    assert_clean(nb)


# -- 6. a cell run again ----------------------------------------------------------------------

RERUN = """import ipywidgets as widgets
shown = globals().get("shown", [])  # the sliders of every run
s = widgets.IntSlider(value=len(shown) + 1, description="run")
shown.append(s)
s"""


def test_a_cell_run_again_replaces_its_view(lab_server, open_notebook, notebook_name):
    nb = open_notebook(lab_server, widget_notebook(lab_server, notebook_name("rerun"), [RERUN]))
    nb.run_all()
    nb.wait_for_output(0, ".widget-readout", "1")
    nb.run_cell(0)
    nb.wait_for_output(0, ".widget-readout", "2")
    assert nb.output(0, ".widget-slider").count() == 1  # one view: the new model's
    # the old model lives on in the kernel; its view is gone from the page
    index = nb.add_cell("shown[0].value = 9\nshown[1].value = 5\n[w.value for w in shown]")
    nb.run_cell(index)
    nb.wait_for_output(index, text="[9, 5]")
    nb.wait_for_output(0, ".widget-readout", "5")
    assert nb.output(0, ".widget-slider").count() == 1
    assert not nb.page.locator(".widget-readout", has_text="9").count()
    press_on_slider(nb, 0, "End")
    kernel_until(nb, "shown[1].value == 100", "[w.value for w in shown]", [9, 100])  # its max
    assert_clean(nb)


BUSY_CELL = """import ipywidgets as widgets, pathlib, time
label = widgets.Label("step 1")
display(label)
label.value = "step 2"
deadline = time.monotonic() + 60
while not pathlib.Path("go-on").exists() and time.monotonic() < deadline:
    time.sleep(0.05)
label.value = "done"
"""


def test_a_widget_shows_and_updates_while_its_cell_still_runs(
    any_server, open_notebook, notebook_name
):
    """A progress display: the first widget of a page, while its cell keeps the kernel's shell
    busy (the kernel answers the widget manager's own requests only after the cell)."""
    flag = any_server.notebook_dir / "go-on"
    flag.unlink(missing_ok=True)
    name = notebook_name("busy")
    nb = open_notebook(any_server, widget_notebook(any_server, name, [BUSY_CELL]))
    nb.start_cell(0)
    # the cell waits for the flag (60 s at most), longer than this wait
    nb.wait_for_output(0, ".widget-label", "step 2")
    flag.touch()
    nb.wait_for_output(0, ".widget-label", "done")
    kernel_value(nb, "label.value", "done")
    flag.unlink()
    assert_clean(nb)


# -- 5. a page reload while the kernel runs ---------------------------------------------------

RELOAD_CELLS = [
    "import ipywidgets as widgets\ns = widgets.IntSlider(value=1, description='s')\ns",
    COUNTER + "\nw = CounterWidget()\nw",
    "out = widgets.Output()\ndisplay(out)\nwith out:\n    print('first')",
]


def test_a_reloaded_page_shows_the_widgets_current_state_and_syncs(
    any_server, jupyter_ui, notebook_name
):
    server: BrowserServer = any_server
    path = widget_notebook(server, notebook_name("reload"), RELOAD_CELLS)
    ui: JupyterUI = jupyter_ui(server)
    nb = ui.goto_notebook(path)
    kernel_id = nb.kernel_id()
    nb.run_all()
    nb.wait_for_output(0, ".widget-readout", "1")
    nb.wait_for_output(1, "button", "count is 0")
    nb.wait_for_output(2, ".widget-output", "first")
    nb.click_in_output(1, "button")
    kernel_until(nb, "w.value == 1", "w.value", 1)
    # changed in the kernel after the outputs were made: the saved file has the old state
    index = nb.add_cell("s.value = 8\nw.value = 42\nwith out:\n    print('second')")
    nb.run_cell(index)
    nb.wait_for_output(2, ".widget-output", re.compile(r"^first\s+second\s*$"))
    nb.save()
    ui.page.reload()
    ui.wait_app()
    nb = ui.notebook(path)
    assert nb.wait_ready() == kernel_id  # the same kernel, still running
    nb.wait_for_output(0, ".widget-readout", "8")
    nb.wait_for_output(1, "button", "count is 42")
    nb.wait_for_output(2, ".widget-output", re.compile(r"^first\s+second\s*$"))
    assert nb.output(0, ".widget-slider").count() == 1
    # and they still sync, both ways
    press_on_slider(nb, 0, "End")
    nb.click_in_output(1, "button")
    nb.wait_for_output(1, "button", "count is 43")
    kernel_until(nb, "s.value == 100 and w.value == 43", "[s.value, w.value]", [100, 43])
    index = nb.add_cell("s.value = 5")
    nb.run_cell(index)
    nb.wait_for_output(0, ".widget-readout", "5")
    assert_clean(nb)


# -- 7. an untrusted notebook with saved widget outputs -----------------------------------------


def saved_outputs(server: BrowserServer, path: str) -> list[list[dict[str, Any]]]:
    """The outputs of each cell of notebook ``path`` as saved (REST api/contents)."""
    model = server.api("GET", f"api/contents/{path}?content=1")
    return [cell.get("outputs", []) for cell in model["content"]["cells"]]


def test_an_untrusted_notebook_with_saved_widget_outputs_runs_nothing(
    lab_server, jupyter_ui, notebook_name
):
    # the outputs as the server injected them, from a real run, saved
    source = widget_notebook(
        lab_server, notebook_name("source"), [RERUN, COUNTER + "\nCounterWidget()"]
    )
    ran = jupyter_ui(lab_server).goto_notebook(source)
    ran.run_all()
    ran.wait_for_output(0, ".widget-readout", "1")
    ran.wait_for_output(1, "button", "count is 0")
    ran.save()
    outputs = saved_outputs(lab_server, source)
    views = [o for cell in outputs for o in cell if "text/html" in o.get("data", {})]
    assert len(views) == 2 and all("display_widget" in o["data"]["text/html"] for o in views)
    # the same outputs in a file nobody signed: an untrusted notebook
    path = widget_notebook(
        lab_server, notebook_name("untrusted"), ["s", "CounterWidget()"], outputs=outputs
    )
    ui: JupyterUI = jupyter_ui(lab_server)
    requests: list[str] = []
    ui.page.on("request", lambda r: requests.append(r.url))
    nb = ui.goto_notebook(path)
    assert not nb.is_trusted(0) and not nb.is_trusted(1)
    # what the kernel said the widget is, as text (text/plain)
    nb.wait_for_output(0, text="IntSlider(value=1, description='run')")
    nb.wait_for_output(1, text=re.compile(r"^<__main__\.CounterWidget object at 0x[0-9a-f]+>$"))
    assert not nb.page.locator(
        ".jp-Notebook .widget-slider, .jp-Notebook button >> text=count"
    ).count()
    assert nb.ui.js("() => typeof window.pycomm") == "undefined"
    # nothing ran: run a cell, so that anything the page was to load had the time to
    index = nb.add_cell("1 + 1")
    nb.run_cell(index)
    nb.wait_for_output(index, text="2")
    assert not [u for u in requests if "comm-bridge" in u], requests
    assert not widget_requests(ui)
    assert_clean(nb)


# -- 8. a server with jupyterlab_widgets: the bridge steps aside --------------------------------

STOCK_SLIDER = """import ipywidgets as widgets
s = widgets.IntSlider(value=3, description="stock")
s"""


def test_with_jupyterlab_widgets_in_the_server_jupyterlab_renders_widgets_itself(
    server_factory, jupyter_ui, notebook_name
):
    # the kernel's venv has jupyterlab_widgets' and anywidget's labextensions: on JUPYTER_PATH,
    # the server has them too, as if they were installed in its environment
    server: BrowserServer = server_factory("lab", env={"JUPYTER_PATH": VENV_JUPYTER})
    log = server.log_path.read_text(encoding="utf-8")
    assert "comm-bridge: widgets off" in log, log[-2000:]
    path = widget_notebook(
        server, notebook_name("stock"), [STOCK_SLIDER, COUNTER + "\nCounterWidget()"]
    )
    ui: JupyterUI = jupyter_ui(server)
    nb = ui.goto_notebook(path)
    extensions = ui.js(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
        ".federated_extensions.map(e => e.name)"
    )
    assert {"@jupyter-widgets/jupyterlab-manager", "anywidget"} <= set(extensions), extensions
    nb.run_all()
    nb.wait_for_output(0, ".widget-readout", "3")  # JupyterLab's own widget manager
    nb.wait_for_output(1, "button", "count is 0")
    press_on_slider(nb, 0, "End")
    nb.wait_for_output(0, ".widget-readout", "100")
    nb.click_in_output(1, "button")
    nb.wait_for_output(1, "button", "count is 1")
    kernel_until(nb, "s.value == 100", "s.value", 100)
    index = nb.add_cell("s.value = 42")
    nb.run_cell(index)
    nb.wait_for_output(0, ".widget-readout", "42")
    # nothing of ours: no element of ours, no client loaded, no HTML added to the outputs
    assert not nb.page.locator(".pycomm-widget").count()
    assert not widget_requests(ui)
    nb.save()
    for cell in saved_outputs(server, path)[:2]:
        (view,) = [o for o in cell if "application/vnd.jupyter.widget-view+json" in o["data"]]
        assert set(view["data"]) == {"application/vnd.jupyter.widget-view+json", "text/plain"}
    assert_clean(nb)


# -- 9. the examples, top to bottom ---------------------------------------------------------------


def test_example_widgets_notebook(any_server, open_notebook, notebook_name):
    """examples/widgets.ipynb: controls and a box, interact, a button with an Output widget,
    jslink, and kernel-side changes."""
    server: BrowserServer = any_server
    nb = open_notebook(server, example(server, "widgets.ipynb", notebook_name("widgets")))
    nb.run_all()
    greeting = ".widget-html-content"
    nb.wait_for_output(1, greeting, re.compile(r"^(Hello, Jupyter!\s*){3}$"))  # the last cell ran
    nb.output(1, ".widget-checkbox input").click()
    nb.wait_for_output(1, greeting, re.compile(r"^(HELLO, JUPYTER!\s*){3}$"))
    # interact's text plot: amplitude 20, then its max (30)
    nb.wait_for_output(3, ".widget-output", re.compile(r"^\s*0\.00 #{10}\n"))
    press_on_slider(nb, 3, "End")
    nb.wait_for_output(3, ".widget-output", re.compile(r"^\s*0\.00 #{15}\n"))
    nb.click_in_output(5, ".widget-button")
    nb.click_in_output(5, ".widget-button")
    nb.wait_for_output(5, ".widget-output", re.compile(r"^click 1\s+click 2\s*$"))
    index = nb.add_cell("play.value = 7")
    nb.run_cell(index)
    kernel_until(
        nb,
        "progress.value == 7 and len(clicks) == 2",  # the page's jslink set it
        "[shout.value, clicks, progress.value, greeting.value.count('HELLO')]",
        [True, [1, 2], 7, 3],
    )
    assert_clean(nb)


def test_example_anywidget_notebook(any_server, open_notebook, notebook_name):
    """examples/anywidget.ipynb: the README's counter, and binary data both ways."""
    server: BrowserServer = any_server
    nb = open_notebook(server, example(server, "anywidget.ipynb", notebook_name("anywidget")))
    nb.run_all()
    nb.wait_for_output(2, "button", "count is 10")  # the kernel added 10
    nb.wait_for_output(4, text="the kernel has 0")
    nb.click_in_output(2, "button")
    nb.wait_for_output(2, "button", "count is 11")
    nb.wait_for_output(6, "div >> text=bytes from the kernel", "1024 bytes from the kernel")
    nb.click_in_output(6, "button >> text=Send the pixels back")
    mean = nb.wait_for_output(8, text=re.compile(r"^mean of the kernel's pixels: [\d.]+\s*$"))
    mean_red = mean.inner_text().split()[-1]
    nb.wait_for_output(
        6, "div >> text=the kernel got", f"the kernel got 4096 bytes: mean red {mean_red}"
    )
    kernel_value(
        nb,
        "[counter.value, got['nbytes'], got['mean_red'] == sum(heatmap.pixels) / 1024]",
        [11, 4096, True],
    )
    assert_clean(nb)


def test_example_widget_r_notebook(lab_server, open_notebook, notebook_name):
    """examples/widget_r.ipynb: an anywidget spoken by hand from R (IRkernel)."""
    path = example(lab_server, "widget_r.ipynb", notebook_name("widget_r"), kernel="ir")
    nb = open_notebook(lab_server, path)
    nb.run_all()
    nb.wait_for_output(1, "button", "count is 100")  # set_value(100), the last cell
    nb.click_in_output(1, "button")
    nb.wait_for_output(1, "button", "count is 101")
    nb.run_cell(3)
    nb.wait_for_output(3, text="R has 101")
    index = nb.add_cell("set_value(7)")
    nb.run_cell(index)
    nb.wait_for_output(1, "button", "count is 7")
    assert_clean(nb)
