"""Widgets from a kernel in another language, with no widget library of the kernel's own.

Deno's kernel speaks the widget protocol through ``Deno.jupyter.broadcast`` (publish on
iopub) and ``Deno.jupyter.display``, which is what ``@anywidget/deno`` does underneath (that
library is published on JSR, which this machine cannot reach: the cells below send the same
messages by hand). Deno cannot receive comm messages: display and kernel -> page updates.
"""

from __future__ import annotations

import pytest

from support.harness import BrowserServer
from support.ui import NotebookPage

pytestmark = pytest.mark.browser

DENO = {"kernelspec": {"name": "deno", "display_name": "Deno", "language": "typescript"}}

OPEN_WIDGET = r"""
const commId = crypto.randomUUID();
const esm = `
export default {
  render({ model, el }) {
    const span = document.createElement("span");
    span.className = "deno-count";
    const show = () => { span.textContent = "deno says " + model.get("value"); };
    model.on("change:value", show);
    show();
    el.appendChild(span);
  },
};`;
await Deno.jupyter.broadcast(
  "comm_open",
  {
    comm_id: commId,
    target_name: "jupyter.widget",
    data: {
      state: {
        _model_name: "AnyModel", _model_module: "anywidget", _model_module_version: "~0.11.*",
        _view_name: "AnyView", _view_module: "anywidget", _view_module_version: "~0.11.*",
        _anywidget_id: "deno.counter", _esm: esm, value: 1,
      },
      buffer_paths: [],
    },
  },
  { metadata: { version: "2.1.0" } },
);
Deno.jupyter.display(
  {
    "application/vnd.jupyter.widget-view+json": {
      version_major: 2, version_minor: 1, model_id: commId,
    },
    "text/plain": "a Deno widget",
  },
  { raw: true },
);
"""

UPDATE = """
await Deno.jupyter.broadcast("comm_msg", {
  comm_id: commId, data: { method: "update", state: { value: 42 }, buffer_paths: [] },
});
"""


@pytest.mark.parametrize("server_name", ["lab_server", "notebook_server"])
def test_a_deno_widget_renders_and_follows_the_kernel(
    server_name: str, request: pytest.FixtureRequest, open_notebook, notebook_name
) -> None:
    server: BrowserServer = request.getfixturevalue(server_name)
    path = server.write_notebook(notebook_name("deno"), [OPEN_WIDGET, UPDATE], metadata=DENO)
    nb: NotebookPage = open_notebook(server, path)
    nb.run_cell(0)
    nb.wait_for_output(0, ".deno-count", "deno says 1", timeout=60)
    nb.run_cell(1)
    nb.wait_for_output(0, ".deno-count", "deno says 42")
    nb.assert_no_dialogs()
    errors = nb.unexpected_page_errors()
    assert not errors, "\n".join(map(str, errors))
