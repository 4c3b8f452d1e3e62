"""Smoke tests of the browser harness: real JupyterLab and Notebook 7, real kernels, Chromium."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.harness import BrowserServer, html_result
from support.ui import JupyterUI, NotebookPage

pytestmark = pytest.mark.browser

OpenNotebook = Callable[..., NotebookPage]
NotebookName = Callable[[str], str]

SCRIPT_HTML = (
    "<span id='x'>static</span>"
    "<script>document.getElementById('x').textContent = 'script ran ' + (1+1)</script>"
)
SCRIPT_CELL = f'from IPython.display import HTML; HTML("{SCRIPT_HTML}")'


def test_script_in_html_output_runs(
    any_server: BrowserServer, open_notebook: OpenNotebook, notebook_name: NotebookName
) -> None:
    path = any_server.write_notebook(notebook_name("script"), [SCRIPT_CELL])
    nb = open_notebook(any_server, path)
    assert nb.kernel_id() == nb.kernel_id_from_api()

    nb.run_all()

    nb.wait_for_output(0, "#x", "script ran 2")
    assert nb.is_trusted(0)
    nb.assert_no_dialogs()
    assert not nb.unexpected_page_errors(), nb.ui.console_text()


def test_untrusted_saved_output_does_not_run_script(
    any_server: BrowserServer,
    open_notebook: OpenNotebook,
    notebook_name: NotebookName,
) -> None:
    path = any_server.write_notebook(
        notebook_name("untrusted"), [SCRIPT_CELL], outputs=[[html_result(SCRIPT_HTML)]]
    )
    nb = open_notebook(any_server, path)  # waits until the kernel is idle: the page has settled

    # Untrusted HTML is sanitized: the span is kept (without its id), the script is dropped.
    span = nb.wait_for_output(0, "span", "static")
    assert not nb.is_trusted(0)
    assert nb.output(0, "script").count() == 0
    assert nb.output(0, "#x").count() == 0 or nb.output(0, "#x").inner_text() == "static"
    assert span.inner_text() == "static"
    nb.assert_no_dialogs()


def test_two_notebooks_in_one_lab_window(
    lab_server: BrowserServer,
    jupyter_ui: Callable[[BrowserServer], JupyterUI],
    notebook_name: NotebookName,
) -> None:
    cell = "from IPython.display import HTML; HTML(\"<b class='who'>{}</b>\")"
    first = lab_server.write_notebook(notebook_name("first"), [cell.format("first")])
    second = lab_server.write_notebook(notebook_name("second"), [cell.format("second")])

    ui = jupyter_ui(lab_server)
    nb1 = ui.goto_notebook(first)
    nb2 = ui.open_notebook(second, mode="split-right")
    assert nb1.kernel_id() != nb2.kernel_id()

    nb2.run_cell(0)
    nb1.run_cell(0)

    nb1.wait_for_output(0, ".who", "first")
    nb2.wait_for_output(0, ".who", "second")
    # Side by side: both panels are rendered and visible at once.
    assert nb1.output(0, ".who").is_visible() and nb2.output(0, ".who").is_visible()
    assert set(lab_server.kernel_ids(first) + lab_server.kernel_ids(second)) == {
        nb1.kernel_id(),
        nb2.kernel_id(),
    }
    ui.assert_no_dialogs()


def test_click_in_output_and_console(
    any_server: BrowserServer, open_notebook: OpenNotebook, notebook_name: NotebookName
) -> None:
    html = (
        "<button id='b' onclick=\"this.textContent = 'clicked';"
        " console.log('harness-click-' + (2*3))\">press</button>"
    )
    source = f"from IPython.display import HTML; HTML({html!r})"
    path = any_server.write_notebook(notebook_name("click"), [source])
    nb = open_notebook(any_server, path)
    nb.run_all()
    nb.wait_for_output(0, "#b", "press")

    nb.click_in_output(0, "#b")

    nb.wait_for_output(0, "#b", "clicked")
    assert "harness-click-6" in nb.wait_for_console("harness-click-").text
