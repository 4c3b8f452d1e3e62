"""Received buffers are shaped as JupyterLab shapes them: every ``DataView`` page code gets is
over an ``ArrayBuffer`` of its own (``byteOffset`` 0, ``buffer.byteLength`` its own length), in
pycomm callbacks, classic comms, the widget manager and anywidget; and the anywidget libraries
that read ``.buffer`` (jupyter-scatter, mosaic-widget, quak: Apache Arrow's reader, typed arrays)
render from a kernel venv, with no widget frontend in the server. Real JupyterLab 4 and
Notebook 7 pages.
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest

from support.harness import BrowserServer
from support.kernel_cells import kernel_until
from support.ui import JupyterUI, NotebookPage

pytestmark = pytest.mark.browser


def kernelspec(name: str, display_name: str) -> dict[str, Any]:
    return {"kernelspec": {"name": name, "display_name": display_name, "language": "python"}}


#: ipywidgets 8.1.9 and anywidget 0.11.0 in a venv of their own (scripts/install-kernels).
WIDGETS_KERNEL = kernelspec("python-widgets", "Python (widgets)")
#: The same, with jupyter-scatter, mosaic-widget and quak from PyPI.
LIBRARIES_KERNEL = kernelspec("python-widget-libs", "Python (widget libraries)")

#: What each route shows for the kernel's two buffers, read as `new Float64Array(b.buffer)`:
#: length:values:byteOffset:byteLength of each.
SHAPES = "3:0.5,1.5,2.5:0:24 5:1,2,3,4,5:0:40"
UPDATED = "3:7,8,9:0:24 5:1,2,3,4,5:0:40"

KERNEL_SIDE = """import array
from comm import create_comm, get_comm_manager
THREE = array.array("d", [0.5, 1.5, 2.5]).tobytes()
FIVE = array.array("d", [1, 2, 3, 4, 5]).tobytes()
BUFFERS = [THREE, FIVE]

def answer(comm, open_msg):
    comm.on_msg(lambda msg: comm.send({"route": msg["content"]["data"]["route"]}, buffers=BUFFERS))

get_comm_manager().register_target("shapes", answer)
get_comm_manager().register_target("shapes_shared", answer)"""

#: Reads each buffer as the everyday idiom does; a RangeError would leave the span empty.
DESCRIBE = """const describe = (buffers) => buffers.map((b) => {
  const v = new Float64Array(b.buffer);
  return `${v.length}:${v.join(",")}:${b.byteOffset}:${b.byteLength}`;
}).join(" ");"""

PYCOMM_ROUTES = f'''from IPython.display import HTML
HTML("""
<div class="routes"></div>
<script>
{{
  const here = document.currentScript.parentElement;
  {DESCRIBE}
  const show = (route, buffers) => {{
    const span = document.createElement("span");
    span.className = route;
    span.textContent = describe(buffers);
    here.querySelector(".routes").append(span);
  }};
  const comm = pycomm.new_comm("shapes");
  comm.on_msg((msg) => show("on_msg", msg.buffers));
  comm.send({{route: "on_msg"}});
  pycomm.on("shapes_shared", (data, msg) => show("on", msg.buffers));
  pycomm.send("shapes_shared", {{route: "on"}});
  pycomm.register_target("shapes_kernel", (comm, msg) => {{
    show("target_open", msg.buffers);
    comm.on_msg((m) => show("target_msg", m.buffers));
  }});
}}
</script>
""")'''

CLASSIC_ROUTE = f'''from IPython.display import HTML
HTML("""
<div class="classic"></div>
<script>
{{
  const here = document.querySelector(".classic");
  {DESCRIBE}
  Jupyter.notebook.kernel.comm_manager.register_target("shapes_classic", (comm, msg) => {{
    here.textContent = describe(msg.buffers);
  }});
}}
</script>
""")'''

KERNEL_OPENS = """kernel_opened = create_comm(target_name="shapes_kernel", data={}, buffers=BUFFERS)
kernel_opened.send({}, buffers=BUFFERS)
classic_opened = create_comm(target_name="shapes_classic", data={}, buffers=BUFFERS)"""

ANYWIDGET = f'''import anywidget, traitlets

class Shapes(anywidget.AnyWidget):
    _esm = """
    {DESCRIBE}
    export default {{
      render({{ model, el }}) {{
        const state = document.createElement("span");
        state.className = "state";
        const custom = document.createElement("span");
        custom.className = "custom";
        const show = () => {{
          state.textContent = describe([model.get("three"), model.get("five")]);
        }};
        model.on("change:three", show);
        show();
        model.on("msg:custom", (msg, buffers) => {{ custom.textContent = describe(buffers); }});
        el.append(state, custom);
      }},
    }};
    """
    three = traitlets.Bytes(THREE).tag(sync=True)
    five = traitlets.Bytes(FIVE).tag(sync=True)

shapes = Shapes()
shapes'''


def assert_clean(nb: NotebookPage) -> None:
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))


@pytest.mark.parametrize("server_name", ["lab_server", "notebook_server"])
def test_every_route_gives_each_buffer_an_arraybuffer_of_its_own(
    server_name: str, request: pytest.FixtureRequest, jupyter_ui, notebook_name
) -> None:
    server: BrowserServer = request.getfixturevalue(server_name)
    cells = [KERNEL_SIDE, PYCOMM_ROUTES, CLASSIC_ROUTE, KERNEL_OPENS, ANYWIDGET]
    path = server.write_notebook(notebook_name("shapes"), cells, metadata=WIDGETS_KERNEL)
    ui: JupyterUI = jupyter_ui(server)
    nb = ui.goto_notebook(path)
    nb.run_all()
    for route in ("on_msg", "on", "target_open", "target_msg"):  # pycomm
        nb.wait_for_output(1, f".{route}", SHAPES)
    nb.wait_for_output(2, ".classic", SHAPES)  # Jupyter.notebook.kernel.comm_manager
    nb.wait_for_output(4, ".state", SHAPES)  # Bytes traits: comm_open state, buffer_paths
    nb.run_cell(nb.add_cell("shapes.send({}, buffers=BUFFERS)"))
    nb.wait_for_output(4, ".custom", SHAPES)  # anywidget's msg:custom
    nb.run_cell(nb.add_cell('shapes.three = array.array("d", [7, 8, 9]).tobytes()'))
    nb.wait_for_output(4, ".state", UPDATED)  # an update with buffer_paths
    assert_clean(nb)
    # a reload: the state comes from the kernel's update_states reply (request_states)
    nb.save()
    ui.page.reload()
    ui.wait_app()
    nb = ui.notebook(path)
    nb.wait_ready()
    nb.wait_for_output(4, ".state", UPDATED)
    assert_clean(nb)


# -- anywidget libraries that read .buffer -------------------------------------------------------

SCATTER = """import pandas as pd, jscatter
points = pd.DataFrame({"x": [0.1, 0.5, 0.9], "y": [0.2, 0.8, 0.4]})
scatter = jscatter.Scatter(data=points, x="x", y="y", size=24, height=240)
scatter.show()"""

MOSAIC = """from mosaic_widget import MosaicWidget
marks = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})
mosaic = MosaicWidget(
    {"plot": [{"mark": "dot", "data": {"from": "marks"}, "x": "x", "y": "y", "r": 6}],
     "width": 320, "height": 200},
    data={"marks": marks},
)
mosaic"""

QUAK = """import quak
table = pd.DataFrame({"name": ["ann", "bob", "cy"], "n": [1, 2, 3]})
rows = quak.Widget(table)
rows"""


def dark_blobs(png: bytes) -> int:
    """How many separate dark shapes a screenshot holds (points on a light background)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    pixels = image.load()
    dark = {(x, y) for x in range(width) for y in range(height) if pixels[x, y] < 96}
    blobs = 0
    while dark:
        blobs += 1
        todo = [dark.pop()]
        while todo:
            x, y = todo.pop()
            for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if near in dark:
                    dark.remove(near)
                    todo.append(near)
    return blobs


def brush(nb: NotebookPage, index: int, selector: str, start: float, end: float) -> None:
    """Drag across the element ``selector`` in cell ``index``'s output, from ``start`` to
    ``end`` (fractions of its width), at half its height."""
    target = nb.output(index, selector).first
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None, f"{selector} is not shown"
    y = box["y"] + box["height"] / 2
    mouse = nb.page.mouse
    mouse.move(box["x"] + box["width"] * start, y)
    mouse.down()
    mouse.move(box["x"] + box["width"] * end, y, steps=8)
    mouse.up()


@pytest.mark.parametrize("server_name", ["lab_server", "notebook_server"])
def test_jupyter_scatter_mosaic_and_quak_render_from_the_kernels_venv(
    server_name: str, request: pytest.FixtureRequest, open_notebook, notebook_name
) -> None:
    server: BrowserServer = request.getfixturevalue(server_name)
    cells = [SCATTER, MOSAIC, QUAK]
    path = server.write_notebook(notebook_name("libraries"), cells, metadata=LIBRARIES_KERNEL)
    nb = open_notebook(server, path)
    nb.run_all(timeout=120)
    # mosaic-widget: its marks, from the kernel's DuckDB as Arrow buffers
    nb.output(1, 'g[aria-label="dot"] circle').nth(2).wait_for(timeout=60_000)
    assert nb.output(1, 'g[aria-label="dot"] circle').count() == 3
    # quak: the DataFrame's rows (an Arrow table from the kernel), then a filter to the kernel
    nb.wait_for_output(2, ".status-bar span", "3 rows", timeout=60)
    # the count comes with the table's first query, the rows' cells with another one
    nb.wait_for_output(2, "tbody tr >> nth=2", re.compile(r"cy\s*3"), timeout=30)
    shown = nb.output(2, "tbody tr").all_inner_texts()
    assert [row.split()[1:3] for row in shown] == [["ann", "1"], ["bob", "2"], ["cy", "3"]]
    brush(nb, 2, ".interval-x .overlay", 0.0, 0.3)
    kernel_until(nb, "'WHERE' in rows.sql", "rows.data().df()['name'].tolist()", ["ann"])
    # jupyter-scatter: three points drawn on its canvas (WebGL, from Float32Array buffers); a
    # canvas draws with no DOM event to wait for: look again until they show (bounded)
    canvas = nb.output(0, "canvas").first
    canvas.wait_for(timeout=60_000)
    deadline = time.monotonic() + 30
    while (points := dark_blobs(canvas.screenshot())) != 3 and time.monotonic() < deadline:
        nb.page.wait_for_timeout(200)
    assert points == 3, f"jupyter-scatter drew {points} points, not 3"
    assert_clean(nb)
