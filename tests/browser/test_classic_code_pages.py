"""Code written for the classic Notebook runs unmodified in JupyterLab 4 and Notebook 7 pages.

Outputs whose code uses ``Jupyter.notebook`` / ``IPython.notebook`` (HTML ``<script>`` and
``Javascript`` outputs) get those names bound for that code only: the seed snippets of the
classic comm API work both ways (``register_target``, ``new_comm``, ``send``, ``on_msg``,
``close``), the page keeps no ``window.Jupyter``, matplotlib's ``%matplotlib notebook``
(nbagg) works as it is (rendering, binary images, toolbar, clicks, redraws, resizes, close),
bokeh is not disturbed, untrusted outputs don't run, and two notebooks keep their kernels.

Each test asserts on what the page shows and on what the kernel got, and ends with no
unexpected page error, no dialog and no console error of pycomm's or about the classic names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from support.harness import BrowserServer, html_result
from support.kernel_cells import kernel_until
from support.ui import JupyterUI, NotebookPage

pytestmark = pytest.mark.browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# -- helpers -------------------------------------------------------------------------------------


def kernel_do(nb: NotebookPage, code: str) -> None:
    nb.run_cell(nb.add_cell(code))


#: Console errors about the bridge or the names; what mpl.js logs when its handlers fail.
BAD_ERROR = re.compile(r"pycomm|Jupyter|IPython")
BAD_LOG = re.compile(r"Exception inside the 'handler_|No handler for the|Failed to find cell")


def assert_clean(nb: NotebookPage) -> None:
    """No dialog, no unexpected page error, no console error about pycomm or the names."""
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))
    bad = [
        c
        for c in nb.console_messages()
        if (c.type == "error" and BAD_ERROR.search(c.text)) or BAD_LOG.search(c.text)
    ]
    assert not bad, "\n".join(map(str, bad))


def page_globals(nb: NotebookPage) -> list[str]:
    return nb.ui.js("() => [typeof window.Jupyter, typeof window.IPython]")


#: Page-side state of a canvas: size, pixels neither white nor transparent, a hash of them.
CANVAS_STATE = """c => {
  if (!c.width || !c.height) return {w: c.width, h: c.height, ink: 0, hash: 0};
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0, hash = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) ink++;
    hash = (hash * 31 + d[i] + 3 * d[i + 1] + 7 * d[i + 2] + 11 * d[i + 3]) % 1000000007;
  }
  return {w: c.width, h: c.height, ink, hash};
}"""


def wait_canvas(nb: NotebookPage, index: int, condition: str, prev: Any = None) -> dict:
    """Wait (20 s at most) until the figure's canvas in cell ``index`` has a state ``s``
    (:data:`CANVAS_STATE`) for which the JS ``condition`` holds (``prev``: a given value)."""
    canvas = nb.output(index, "canvas.mpl-canvas").first
    try:
        canvas.wait_for(state="attached", timeout=20000)
        fn = (
            f"([c, prev]) => {{ const s = ({CANVAS_STATE})(c); return ({condition}) ? s : false; }}"
        )
        handle = nb.page.wait_for_function(
            fn, arg=[canvas.element_handle(), prev], polling=100, timeout=20000
        )
    except Exception as e:  # Playwright's timeout: say what the canvas was
        nb.fail(f"cell {index}: canvas never had {condition} (prev {prev}): {e}")
    return handle.json_value()


def canvas_point(nb: NotebookPage, index: int, fx: float, fy: float) -> tuple[float, float]:
    """Page coordinates of the point at fractions (fx, fy) of the figure's canvas."""
    canvas = nb.output(index, "canvas.mpl-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None, "the figure's canvas is not shown"
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def drag(nb: NotebookPage, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag with the mouse, page coordinates (mpl listens on the canvas' div)."""
    nb.page.mouse.move(*start)
    nb.page.mouse.down()
    nb.page.mouse.move(*end, steps=12)
    nb.page.mouse.up()


def tool(nb: NotebookPage, index: int, title: str, active: bool | None = None) -> None:
    """Click the toolbar button ``title`` (mpl's names); wait for it to be (in)active."""
    button = nb.output(index, f'button[title="{title}"]').first
    button.click()
    if active is not None:
        state = re.compile(r"\bactive\b")
        (expect(button).to_have_class if active else expect(button).not_to_have_class)(
            state, timeout=10000
        )


# -- a, b: the seed snippets of the classic comm API ---------------------------------------------

SEED_REGISTER = """Jupyter.notebook.kernel.comm_manager.register_target('my_comm_target', function (comm, msg) {
  comm.on_msg(function (msg) { console.log(msg); });
  comm.send({'foo': 0});
});"""

SEED_OUTPUTS = {
    "html": f'from IPython.display import HTML\nHTML("""<script>\n{SEED_REGISTER}\n</script>""")',
    "js": f'from IPython.display import Javascript, display\ndisplay(Javascript("""\n{SEED_REGISTER}\n"""))',
}

KERNEL_OPENS = """from ipykernel.comm import Comm
got = []
c = Comm(target_name='my_comm_target', data={'hello': 1})
c.on_msg(lambda msg: got.append(msg['content']['data']))"""


@pytest.mark.parametrize("kind", ["html", "js"])
def test_seed_snippet_kernel_opened(any_server, open_notebook, notebook_name, kind):
    server: BrowserServer = any_server
    nb = open_notebook(server, server.write_notebook(notebook_name(kind), [SEED_OUTPUTS[kind]]))
    nb.run_all()
    kernel_do(nb, KERNEL_OPENS)
    kernel_until(nb, "got", "[got, c._closed]", [[{"foo": 0}], False])
    with nb.page.expect_console_message(
        lambda m: m.type == "log" and "content" in m.text, timeout=10000
    ) as logged:
        kernel_do(nb, "c.send({'bar': 'to the page'})")
    msg = logged.value.args[0].json_value()
    assert msg["content"]["data"] == {"bar": "to the page"}, msg
    assert {"comm_id", "data"} <= set(msg["content"]) and "header" in msg, msg  # a classic msg
    assert page_globals(nb) == ["undefined", "undefined"]
    assert_clean(nb)


KERNEL_TARGET = """from comm import get_comm_manager
opened, received, closed = [], [], []
def target(comm, open_msg):
    opened.append(open_msg['content']['data'])
    comm.on_msg(lambda m: (received.append(m['content']['data']),
                           comm.send({'echo': m['content']['data']})))
    comm.on_close(lambda m: closed.append(m['content']['data']))
get_comm_manager().register_target('my_comm_target', target)"""

NEW_COMM_HTML = '''from IPython.display import HTML
HTML("""<button id="send-S">send</button> <button id="close-S">close</button>
<span id="out-S">nothing yet</span> <span id="names-S"></span>
<script>
var comm = NAME.notebook.kernel.comm_manager.new_comm('my_comm_target', {'foo': 6});
comm.on_msg(function (msg) { document.getElementById('out-S').textContent = JSON.stringify(msg.content.data); });
document.getElementById('names-S').textContent = [typeof Jupyter, Jupyter === IPython, typeof comm.comm_id].join(' ');
document.getElementById('send-S').onclick = function () { comm.send({'foo': 7}); };
document.getElementById('close-S').onclick = function () { comm.close({'bye': 1}); };
</script>""")'''


#: The seed line, verbatim.
SEED_NEW_COMM = (
    "var comm = Jupyter.notebook.kernel.comm_manager.new_comm('my_comm_target', {'foo': 6});"
)


@pytest.mark.parametrize("name", ["Jupyter", "IPython"])
def test_seed_snippet_page_opened(any_server, open_notebook, notebook_name, name):
    server: BrowserServer = any_server
    html = NEW_COMM_HTML.replace("NAME", name).replace("-S", "-1")
    if name == "Jupyter":
        assert SEED_NEW_COMM in html
    nb = open_notebook(server, server.write_notebook(notebook_name(name), [KERNEL_TARGET, html]))
    nb.run_all()
    nb.wait_for_output(1, "#names-1", "object true string")
    kernel_until(nb, "opened", "opened", [{"foo": 6}])
    nb.click_in_output(1, "#send-1")
    nb.wait_for_output(1, "#out-1", '{"echo":{"foo":7}}')
    nb.click_in_output(1, "#close-1")
    kernel_until(
        nb, "closed", "[opened, received, closed]", [[{"foo": 6}], [{"foo": 7}], [{"bye": 1}]]
    )
    assert page_globals(nb) == ["undefined", "undefined"]
    assert_clean(nb)


# -- c: the names are the output's, not the page's ------------------------------------------------

SCOPE_CELLS = [
    """from IPython.display import HTML
HTML('<span id="classic-scope">?</span><script>document.getElementById("classic-scope").textContent'
     ' = [typeof Jupyter.notebook, typeof IPython.notebook.kernel.comm_manager].join(" ");</script>')""",
    # no classic name in this one: not wrapped, so no Jupyter for it
    """from IPython.display import HTML
HTML('<span id="plain-scope">?</span><script>document.getElementById("plain-scope").textContent'
     ' = typeof Jupyter + " " + typeof IPython;</script>')""",
]


def test_the_names_are_bound_for_the_output_only(any_server, open_notebook, notebook_name):
    server: BrowserServer = any_server
    nb = open_notebook(server, server.write_notebook(notebook_name("scope"), SCOPE_CELLS))
    nb.run_all()
    nb.wait_for_output(0, "#classic-scope", "object object")
    nb.wait_for_output(1, "#plain-scope", "undefined undefined")
    assert page_globals(nb) == ["undefined", "undefined"]
    assert_clean(nb)


# -- d: %matplotlib notebook ---------------------------------------------------------------------

MPL_CELLS = [
    "%matplotlib notebook\nimport matplotlib.pyplot as plt",
    """fig, ax = plt.subplots(figsize=(5, 4))
ax.plot([0, 1, 2], [0, 1, 4])
clicks = []
cid = fig.canvas.mpl_connect('button_press_event', lambda e: clicks.append([e.xdata, e.ydata]))""",
]
FIG = 1  # the cell whose output holds the figure
XLIM = "[float(round(v, 6)) for v in ax.get_xlim()]"  # floats: comparisons give bools


def mpl_notebook(server: BrowserServer, open_notebook: Any, name: str) -> NotebookPage:
    nb = open_notebook(server, server.write_notebook(name, MPL_CELLS))
    nb.run_all()
    wait_canvas(nb, FIG, "s.ink > 1000")  # axes, ticks, the line: drawn
    return nb


def test_mpl_renders_in_binary_and_records_a_click(any_server, open_notebook, notebook_name):
    nb = mpl_notebook(any_server, open_notebook, notebook_name("mpl"))
    kernel_until(
        nb,
        "[s.supports_binary for s in fig.canvas.manager.web_sockets] == [True]",
        "[s.supports_binary for s in fig.canvas.manager.web_sockets]",
        [True],
    )
    x, y = canvas_point(nb, FIG, 0.5, 0.5)
    nb.page.mouse.click(x, y)
    kernel_until(
        nb,
        "clicks",
        "[len(clicks), bool(ax.get_xlim()[0] < clicks[0][0] < ax.get_xlim()[1]),"
        " bool(ax.get_ylim()[0] < clicks[0][1] < ax.get_ylim()[1])]",
        [1, True, True],
    )
    assert page_globals(nb) == ["undefined", "undefined"]
    assert_clean(nb)


def test_mpl_toolbar_zoom_history_and_pan(any_server, open_notebook, notebook_name):
    nb = mpl_notebook(any_server, open_notebook, notebook_name("mpl-tools"))
    kernel_do(nb, f"xlim0 = {XLIM}")
    tool(nb, FIG, "Zoom", active=True)
    drag(nb, canvas_point(nb, FIG, 0.35, 0.35), canvas_point(nb, FIG, 0.6, 0.6))
    kernel_until(
        nb,
        f"{XLIM} != xlim0",
        f"[xlim0[0] < {XLIM}[0] < {XLIM}[1] < xlim0[1]]",
        [True],
    )
    kernel_do(nb, f"xlim_zoomed = {XLIM}")
    tool(nb, FIG, "Back")
    kernel_until(nb, f"{XLIM} == xlim0", f"{XLIM} == xlim0", True)
    tool(nb, FIG, "Forward")
    kernel_until(nb, f"{XLIM} == xlim_zoomed", f"{XLIM} == xlim_zoomed", True)
    tool(nb, FIG, "Home")
    kernel_until(nb, f"{XLIM} == xlim0", f"{XLIM} == xlim0", True)
    tool(nb, FIG, "Pan", active=True)  # and zoom off
    expect(nb.output(FIG, 'button[title="Zoom"]')).not_to_have_class(re.compile(r"\bactive\b"))
    # the view moves right: larger x limits
    drag(nb, canvas_point(nb, FIG, 0.5, 0.5), canvas_point(nb, FIG, 0.3, 0.5))
    kernel_until(nb, f"{XLIM} != xlim0", f"{XLIM}[0] > xlim0[0]", True)
    tool(nb, FIG, "Pan", active=False)
    assert_clean(nb)


def test_mpl_redraw_resize_and_close(any_server, open_notebook, notebook_name):
    nb = mpl_notebook(any_server, open_notebook, notebook_name("mpl-life"))
    before = wait_canvas(nb, FIG, "s.ink > 1000")
    kernel_do(nb, "plt.plot([0, 1, 2], [4, 2, 0], color='red', linewidth=6);")
    wait_canvas(nb, FIG, "s.hash !== prev.hash && s.ink > prev.ink", before)  # the red line
    kernel_do(nb, "fig.set_size_inches(7, 3)\nfig.canvas.draw_idle()")
    resized = wait_canvas(nb, FIG, "s.w === Math.round(700 * devicePixelRatio) && s.ink > 1000")
    assert resized["h"] == round(300 * nb.ui.js("() => devicePixelRatio"))
    kernel_until(nb, "True", "[round(v) for v in fig.bbox.size]", [700, 300])
    # mpl's resize handle (CSS resize on the canvas' div), dragged: the kernel's figure follows
    box = nb.output(FIG, "canvas.mpl-canvas").locator("..").bounding_box() or {}
    x, y = box["x"] + box["width"] - 3, box["y"] + box["height"] - 3
    drag(nb, (x, y), (x - 200, y + 100))
    kernel_until(
        nb,
        "fig.bbox.size[0] < 650 and fig.bbox.size[1] > 350",
        "bool(fig.bbox.size[0] < 650 and fig.bbox.size[1] > 350)",
        True,
    )
    wait_canvas(nb, FIG, "s.w < 650 * devicePixelRatio && s.ink > 1000")
    kernel_do(nb, "mgr = fig.canvas.manager\nsock, = mgr.web_sockets")
    nb.click_in_output(FIG, 'button[title="Stop Interaction"]')
    expect(nb.output(FIG, 'img[src^="data:image/png"]')).to_be_visible(timeout=10000)
    expect(nb.output(FIG, "canvas.mpl-canvas")).to_have_count(0)
    kernel_until(
        nb,
        "not mgr.web_sockets and sock.comm._closed",
        "[len(mgr.web_sockets), sock.comm._closed, plt.fignum_exists(fig.number)]",
        [0, True, False],
    )
    assert_clean(nb)


# -- e: bokeh, with and without classic code next to it ---------------------------------------

#: BokehJS inline: the default (CDN) needs the network, which these machines don't have.
BOKEH_CELLS = [
    "from bokeh.plotting import figure, show\nfrom bokeh.io import output_notebook\n"
    "from bokeh.resources import INLINE\noutput_notebook(INLINE)",
    "p = figure(width=300, height=200)\np.line([1, 2, 3], [4, 5, 6])\nshow(p)",
]


@pytest.mark.parametrize("with_classic", [False, True], ids=["bokeh-alone", "with-classic"])
def test_bokeh_renders_in_lab(lab_server, open_notebook, notebook_name, with_classic):
    cells = [SEED_OUTPUTS["html"], *BOKEH_CELLS] if with_classic else BOKEH_CELLS
    nb = open_notebook(lab_server, lab_server.write_notebook(notebook_name("bokeh"), cells))
    nb.run_all()
    load, plot = (1, 2) if with_classic else (0, 1)
    nb.wait_for_output(load, "span[id]", re.compile(r"BokehJS [\d.]+ successfully loaded"))
    expect(nb.output(plot, "canvas").first).to_be_attached(timeout=20000)  # in bokeh's shadow DOM
    assert page_globals(nb) == ["undefined", "undefined"]
    assert_clean(nb)


# -- f: untrusted saved outputs don't run ------------------------------------------------------

UNTRUSTED_HTML = """<span id="untrusted-mark">static</span><script>
var comm = Jupyter.notebook.kernel.comm_manager.new_comm('my_comm_target', {'foo': 9});
document.getElementById('untrusted-mark').textContent = 'ran';
</script>"""


def test_untrusted_saved_classic_outputs_do_not_run(lab_server, open_notebook, notebook_name):
    js_output = {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "application/javascript": SEED_REGISTER + "\nelement.textContent = 'js ran';",
            "text/plain": "<IPython.core.display.Javascript object>",
        },
    }
    path = lab_server.write_notebook(
        notebook_name("untrusted"),
        ["HTML(...)", "Javascript(...)"],
        outputs=[[html_result(UNTRUSTED_HTML)], [js_output]],
    )
    nb = open_notebook(lab_server, path)
    nb.wait_for_output(0, "span", "static")  # sanitized: without its id
    assert not nb.is_trusted(0) and not nb.is_trusted(1)
    kernel_do(nb, KERNEL_TARGET)  # a round trip: time for anything that was to run
    assert nb.output(0, "span").inner_text() == "static"
    assert "js ran" not in nb.output_text(1)
    assert nb.ui.js("() => typeof window.pycomm") == "undefined"
    fetched = nb.ui.js("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert not [u for u in fetched if "comm-bridge/client" in u], fetched  # no client loaded
    kernel_until(nb, "True", "[opened, len(get_comm_manager().comms)]", [[], 0])  # no comm
    assert_clean(nb)


# -- g: two notebooks, two kernels, one page ---------------------------------------------------

TAGGED_TARGET = KERNEL_TARGET.replace(
    "comm.send({'echo': m['content']['data']})", "comm.send({'kernel': NAME})"
)


def test_two_notebooks_each_reach_their_own_kernel(lab_server, jupyter_ui, notebook_name):
    ui: JupyterUI = jupyter_ui(lab_server)
    paths = []
    for name in ("A", "B"):
        html = NEW_COMM_HTML.replace("NAME", "Jupyter").replace("-S", f"-{name}")
        html = html.replace("{'foo': 6}", f"{{'from': '{name}'}}")
        cells = [f"NAME = {name!r}\n" + TAGGED_TARGET, html]
        paths.append(lab_server.write_notebook(notebook_name(name), cells))
    a = ui.goto_notebook(paths[0])
    b = ui.open_notebook(paths[1], mode="split-right")
    assert a.kernel_id() != b.kernel_id()
    a.run_all()
    b.run_all()  # rendered last: a's comm must still be a's kernel's
    for nb, name in ((a, "A"), (b, "B")):
        nb.click_in_output(1, f"#send-{name}")
        nb.wait_for_output(1, f"#out-{name}", json.dumps({"kernel": name}, separators=(",", ":")))
        kernel_until(nb, "received", "[opened, received]", [[{"from": name}], [{"foo": 7}]])
    assert_clean(a)


# -- h: the example, top to bottom -------------------------------------------------------------


def test_example_nbagg_notebook(lab_server, open_notebook, notebook_name):
    path = notebook_name("nbagg")
    (lab_server.notebook_dir / path).write_text(
        (EXAMPLES / "nbagg.ipynb").read_text(encoding="utf-8"), encoding="utf-8"
    )
    nb = open_notebook(lab_server, path)
    nb.run_all()
    figure = 2  # a markdown intro, the imports, then the figure
    wait_canvas(nb, figure, "s.ink > 1000")
    x, y = canvas_point(nb, figure, 0.5, 0.5)
    nb.page.mouse.click(x, y)
    kernel_until(nb, "clicks", "[len(clicks), ax.get_title().startswith('1 click')]", [1, True])
    assert_clean(nb)
