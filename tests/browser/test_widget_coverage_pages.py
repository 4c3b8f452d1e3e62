"""Every core control the issue names renders through the bridge, and anywidget's life cycle,
commands and hot ESM work (real ipywidgets 8 and anywidget from PyPI in the kernel's venv,
no widget frontend in the server)."""

from __future__ import annotations

import pytest

from support.harness import BrowserServer
from support.ui import NotebookPage

pytestmark = pytest.mark.browser

WIDGETS_KERNEL = {
    "kernelspec": {
        "name": "python-widgets",
        "display_name": "Python (widgets)",
        "language": "python",
    }
}

CONTROLS = """import datetime
import ipywidgets as w
png = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)
items = {
    "IntSlider": w.IntSlider(3), "FloatSlider": w.FloatSlider(1.5),
    "IntRangeSlider": w.IntRangeSlider(value=[2, 7]), "Button": w.Button(description="b"),
    "Text": w.Text("t"), "Textarea": w.Textarea("ta"), "Checkbox": w.Checkbox(True),
    "ToggleButton": w.ToggleButton(description="tb"), "Dropdown": w.Dropdown(options=["a", "b"]),
    "RadioButtons": w.RadioButtons(options=["x", "y"]),
    "SelectMultiple": w.SelectMultiple(options=["p", "q"]), "Label": w.Label("lab"),
    "HTML": w.HTML("<b>bold</b>"), "HTMLMath": w.HTMLMath("$x^2$"),
    "Image": w.Image(value=png, format="png"), "Play": w.Play(),
    "IntProgress": w.IntProgress(value=4, max=10), "ColorPicker": w.ColorPicker(value="#ff0000"),
    "DatePicker": w.DatePicker(value=datetime.date(2026, 12, 1)),
}
tab = w.Tab(children=[w.Label("tab one"), w.Label("tab two")], titles=["one", "two"])
accordion = w.Accordion(children=[w.Label("inside")], titles=["first"])
grid = w.GridBox(
    [w.Label("g1"), w.Label("g2")], layout=w.Layout(grid_template_columns="100px 100px")
)
rows = [w.HBox([w.Label(name), widget]) for name, widget in items.items()]
w.VBox([*rows, tab, accordion, grid])"""

#: The view's class of each control (ipywidgets 8 controls).
CLASSES = {
    "IntSlider": "widget-slider", "FloatSlider": "widget-slider", "IntRangeSlider": "widget-slider",
    "Button": "widget-button", "Text": "widget-text", "Textarea": "widget-textarea",
    "Checkbox": "widget-checkbox", "ToggleButton": "widget-toggle-button",
    "Dropdown": "widget-dropdown", "RadioButtons": "widget-radio",
    "SelectMultiple": "widget-select-multiple", "Label": "widget-label", "HTML": "widget-html",
    "HTMLMath": "widget-htmlmath", "Image": "widget-image", "Play": "widget-play",
    "IntProgress": "widget-hprogress", "ColorPicker": "widget-colorpicker",
    "DatePicker": "widget-datepicker",
}  # fmt: skip

#: Per control: (class of its view, its row's label) as the page shows them.
VIEWS = """() => [...document.querySelectorAll(".jp-OutputArea-output .widget-hbox")].map(
  (row) => [row.children[0].textContent, row.children[1].className])"""

LIFE = '''import anywidget, traitlets

class Life(anywidget.AnyWidget):
    _esm = """
    export default {
      initialize({ model }) {
        model.set("log", [...model.get("log"), "initialize"]);
        model.save_changes();
      },
      async render({ model, el, experimental }) {
        const span = document.createElement("span");
        span.className = "life";
        const show = () => { span.textContent = "v" + model.get("value"); };
        model.on("change:value", show);
        show();
        const off = document.createElement("button");
        off.className = "off";
        off.textContent = "off";
        off.onclick = () => { model.off("change:value", show); span.textContent += " (off)"; };
        el.append(span, off);
        const [answer] = await experimental.invoke("_double", 21);
        const invoked = document.createElement("span");
        invoked.className = "invoked";
        invoked.textContent = "invoked " + answer;
        el.append(invoked);
        return () => { window.__life_cleanups = (window.__life_cleanups || 0) + 1; };
      },
    };
    """
    value = traitlets.Int(1).tag(sync=True)
    log = traitlets.List([]).tag(sync=True)

    @anywidget.experimental.command
    def _double(self, msg, buffers):
        return msg * 2, []

life = Life()
life'''

HOT = '''life._esm = """
export default {
  render({ model, el }) { el.innerHTML = `<b class="hot">hot ${model.get("value")}</b>`; },
};
"""'''


FROM_FILES = '''import pathlib, anywidget, traitlets
pathlib.Path("from_file.js").write_text("""
export default { render({ model, el }) {
  el.innerHTML = `<span class="from-file">from a file: ${model.get("value")}</span>`;
} };
""")
pathlib.Path("from_file.css").write_text(".from-file { color: rgb(0, 128, 0); }")

class FromFiles(anywidget.AnyWidget):
    _esm = pathlib.Path("from_file.js")
    _css = pathlib.Path("from_file.css")
    value = traitlets.Int(7).tag(sync=True)

FromFiles()'''


def clean(nb: NotebookPage) -> None:
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))


def kernel_value(nb: NotebookPage, expression: str, expected: str) -> None:
    index = nb.add_cell(f"print(repr({expression}))")
    nb.run_cell(index)
    nb.wait_for_output(index, text=expected)


@pytest.mark.parametrize("server_name", ["lab_server", "notebook_server"])
def test_every_core_control_renders(
    server_name: str, request: pytest.FixtureRequest, open_notebook, notebook_name
) -> None:
    server: BrowserServer = request.getfixturevalue(server_name)
    path = server.write_notebook(notebook_name("controls"), [CONTROLS], metadata=WIDGETS_KERNEL)
    nb = open_notebook(server, path)
    nb.run_all()
    nb.wait_for_output(0, ".widget-gridbox", timeout=60)
    views = dict(nb.ui.js(VIEWS))
    for name, css in CLASSES.items():
        assert css in views.get(name, "").split(), (name, views.get(name))
    shown = nb.output_text(0)
    for text in ("one", "two", "tab one", "first", "g1", "g2", "bold", "2 – 7", "1.50"):
        assert text in shown, (text, shown)
    assert nb.ui.js("() => document.querySelector('.widget-image').naturalWidth") == 1
    columns = nb.ui.js(
        "() => getComputedStyle(document.querySelector('.widget-gridbox')).gridTemplateColumns"
    )
    assert columns == "100px 100px"
    assert not nb.output(0, ".jupyter-widgets-error-widget").count()
    nb.run_cell(nb.add_cell('items["Text"].value = "moved"'))  # the kernel moves the view
    nb.ui.page.wait_for_function(
        "() => document.querySelector('.widget-text input').value === 'moved'", timeout=30_000
    )
    clean(nb)


def test_anywidget_life_cycle_commands_off_and_hot_esm(
    lab_server: BrowserServer, open_notebook, notebook_name
) -> None:
    path = lab_server.write_notebook(notebook_name("life"), [LIFE], metadata=WIDGETS_KERNEL)
    nb = open_notebook(lab_server, path)
    nb.run_all()
    nb.wait_for_output(0, ".life", "v1", timeout=60)
    nb.wait_for_output(0, ".invoked", "invoked 42")  # experimental.invoke, a kernel command
    kernel_value(nb, "life.log", "['initialize']")  # initialize ran once, in the page
    nb.run_cell(nb.add_cell("life.value = 2"))
    nb.wait_for_output(0, ".life", "v2")
    nb.click_in_output(0, ".off")  # model.off: the view stops following
    nb.run_cell(nb.add_cell("life.value = 3"))
    kernel_value(nb, "life.value", "3")
    nb.wait_for_output(0, ".life", "v2 (off)")
    nb.run_cell(nb.add_cell(HOT))  # a new _esm: the views are made again with it
    nb.wait_for_output(0, ".hot", "hot 3")
    assert not nb.output(0, ".life").count()
    assert nb.ui.js("() => window.__life_cleanups") >= 1  # the old render's cleanup ran
    clean(nb)


def test_anywidget_esm_and_css_from_files(
    lab_server: BrowserServer, open_notebook, notebook_name
) -> None:
    path = lab_server.write_notebook(notebook_name("files"), [FROM_FILES], metadata=WIDGETS_KERNEL)
    nb = open_notebook(lab_server, path)
    nb.run_all()
    nb.wait_for_output(0, ".from-file", "from a file: 7", timeout=60)
    color = nb.ui.js("() => getComputedStyle(document.querySelector('.from-file')).color")
    assert color == "rgb(0, 128, 0)"
    clean(nb)
