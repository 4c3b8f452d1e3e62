"""One notebook open in the classic Notebook UI (``jupyter nbclassic``) of a :class:`ui.JupyterUI`.

The classic UI has no ``window.jupyterapp`` and no panels: it is driven through its global
``Jupyter`` (``Jupyter.notebook``, ``Jupyter.notebook.kernel``). With Notebook 7 installed its
pages are under ``{base_url}nbclassic/`` (see :func:`harness.classic_prefix`). The page, its
console and the artifacts on failure are those of the :class:`ui.JupyterUI` it is opened in
(``conftest.open_classic``). Every wait is bounded.

Two things differ from JupyterLab / Notebook 7 and matter to outputs' scripts:

- HTML outputs are inserted with jQuery, which runs their scripts through a temporary
  ``<script>`` appended to ``<head>``: there ``document.currentScript.parentElement`` is
  ``<head>``, not the output. Test HTML finds its elements by id.
- The classic UI does not close comms the kernel opens for targets it doesn't know: it logs
  ``Could not open comm`` on the console and sends nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from .harness import KERNEL_TIMEOUT, TIMEOUT, BrowserServer

if TYPE_CHECKING:
    from .ui import ConsoleEntry, JupyterUI

#: Console errors of a stock classic page, not caused by the page under test: the ipywidgets
#: nbextension that the classic UI tries to load (404 here, then served as HTML), and Voila's
#: (voila 0.5 enables ``voila/extension`` in nbconfig and ships no such file).
KNOWN_CONSOLE_ERRORS: list[re.Pattern[str]] = [
    re.compile(r"nbextensions/widgets/notebook/js/extension\.js"),
    re.compile(r"nbextensions/voila/extension(\.js)?\b"),
]

#: What the classic UI logs when the kernel opens a comm for a target it doesn't know
#: ("Could not open comm -- Error: Class <target> not found in registry"), then for that
#: comm_open and each later message of the comm ("Couldn't process kernel message").
UNKNOWN_COMM_LOG = re.compile(
    r"Could not open comm|not found in registry|Couldn't process kernel message"
)

_READY = """(p) => {
  const open = [...document.querySelectorAll('.modal.in')]
    .map(m => (m.innerText || m.textContent || '').trim());
  if (open.length) return {dialog: open.join(' | ')};
  const nb = window.Jupyter && window.Jupyter.notebook;
  if (!nb || !nb._fully_loaded || nb.notebook_path !== p) return false;
  const k = nb.kernel;
  if (!k || !k.is_connected() || !k.info_reply || !k.info_reply.protocol_version) return false;
  if (nb.kernel_busy) return false;
  return {kernel: k.id};
}"""

# Starts cells running (all of them, or those at the given indices) and returns the ids that
# tag their nodes (data-harness-cell), so that their end can be waited for by node.
_START = """([indices, all]) => {
  const nb = window.Jupyter.notebook;
  const cells = nb.get_cells();
  const picked = all ? cells.map((c, i) => i) : indices;
  for (const i of picked) if (i < 0 || i >= cells.length) throw new Error('no cell ' + i);
  const ids = picked.filter(i => cells[i].cell_type === 'code').map(i => {
    const el = cells[i].element[0];
    if (!el.dataset.harnessCell) el.dataset.harnessCell = 'c' + Math.random().toString(16).slice(2);
    return el.dataset.harnessCell;
  });
  if (all) nb.execute_all_cells(); else nb.execute_cells(indices);
  return ids;
}"""

_DONE = """(ids) => ids.every(id => {
  const el = document.querySelector(`[data-harness-cell="${id}"]`);
  return el && !el.classList.contains('running');
})"""

_ERRORS = """(ids) => {
  const out = [];
  for (const c of window.Jupyter.notebook.get_cells()) {
    if (!ids.includes(c.element[0].dataset.harnessCell)) continue;
    for (const o of (c.output_area && c.output_area.outputs) || [])
      if (o.output_type === 'error') out.push(o.ename + ': ' + o.evalue);
  }
  return out;
}"""


@dataclass
class ClassicNotebook:
    """Notebook ``path`` open in the classic Notebook UI, in ``ui``'s page."""

    ui: JupyterUI
    path: str

    @classmethod
    def open(
        cls,
        ui: JupyterUI,
        path: str,
        *,
        token: bool = True,
        wait_ready: bool = True,
        timeout: float = KERNEL_TIMEOUT,
    ) -> ClassicNotebook:
        """Load ``{base_url}[nbclassic/]notebooks/<path>`` (``?token=...`` unless
        ``token=False``) in ``ui``'s page; with ``wait_ready``, until its kernel is idle."""
        if ui.server.ui != "classic":
            raise ValueError(f"not a classic Notebook server: jupyter {ui.server.app}")
        ui.opened_paths.append(path)
        try:
            ui.page.goto(
                ui.server.page_url(path, token=token),
                wait_until="domcontentloaded",
                timeout=timeout * 1000,
            )
        except PlaywrightError as e:
            ui.fail(f"could not load {path}: {e.message}")
        nb = cls(ui, path)
        if wait_ready:
            nb.wait_ready(timeout)
        return nb

    @property
    def page(self) -> Page:
        return self.ui.page

    @property
    def server(self) -> BrowserServer:
        return self.ui.server

    def fail(self, message: str) -> Any:
        return self.ui.fail(f"{self.path} (classic): {message}")

    # -- kernel ---------------------------------------------------------------------------------

    def wait_ready(self, timeout: float = KERNEL_TIMEOUT) -> str:
        """Wait until the notebook is loaded and its kernel connected, answered
        ``kernel_info`` and idle; returns the kernel id. Fails at once on an open dialog."""
        state = self.ui.wait_js(
            _READY, self.path, timeout, what=f"classic notebook {self.path}: kernel idle"
        )
        if "dialog" in state:
            self.fail(f"dialog while waiting for the kernel: {state['dialog']}")
        return str(state["kernel"])

    def kernel_id(self) -> str:
        """``Jupyter.notebook.kernel.id``."""
        kid = self.ui.js("() => { const k = window.Jupyter.notebook.kernel; return k && k.id; }")
        if not kid:
            self.fail("no kernel")
        return str(kid)

    def kernel_id_from_api(self) -> str:
        """The kernel id of the server's session for this path (REST ``api/sessions``)."""
        ids = self.server.kernel_ids(self.path)
        if len(ids) != 1:
            self.fail(f"expected one session for {self.path}, got kernels {ids}")
        return ids[0]

    # -- running --------------------------------------------------------------------------------

    def _run(self, indices: list[int] | None, timeout: float, expect_ok: bool) -> bool:
        ids = self.ui.js(_START, [indices or [], indices is None])
        self.ui.wait_js(_DONE, ids, timeout, what=f"cells {indices or 'all'} of {self.path} run")
        errors = self.ui.js(_ERRORS, ids)
        if expect_ok and errors:
            self.fail(f"cell error(s): {errors}")
        return not errors

    def run_all(self, timeout: float = TIMEOUT, expect_ok: bool = True) -> bool:
        """``Jupyter.notebook.execute_all_cells()``; returns once every code cell got its
        execute reply (no cell is ``.running``), True if none has an error output. Outputs
        may still be rendering: wait for them."""
        return self._run(None, timeout, expect_ok)

    def run_cell(self, index: int, timeout: float = TIMEOUT, expect_ok: bool = True) -> bool:
        """``Jupyter.notebook.execute_cells([index])``, waited for as :meth:`run_all`."""
        return self._run([index], timeout, expect_ok)

    def add_cell(self, source: str) -> int:
        """Append a code cell; returns its index."""
        return int(
            self.ui.js(
                "(s) => { const nb = window.Jupyter.notebook;"
                " const c = nb.insert_cell_at_bottom('code'); c.set_text(s);"
                " return nb.find_cell_index(c); }",
                source,
            )
        )

    def kernel_value(self, expression: str, expected: Any, timeout: float = TIMEOUT) -> None:
        """Run a new cell printing ``expression`` as JSON; wait for ``expected`` (as JSON)."""
        index = self.add_cell(f"import json; print(json.dumps({expression}))")
        self.run_cell(index, timeout)
        self.wait_for_output(index, ".output_stream", json.dumps(expected), timeout)

    # -- cells and outputs ------------------------------------------------------------------------

    def cell(self, index: int) -> Locator:
        """Locator of cell ``index``'s node (tagged ``data-harness-cell``)."""
        cid = self.ui.js(
            "(i) => { const c = window.Jupyter.notebook.get_cell(i); if (!c) return null;"
            " const el = c.element[0]; if (!el.dataset.harnessCell)"
            " el.dataset.harnessCell = 'c' + Math.random().toString(16).slice(2);"
            " return el.dataset.harnessCell; }",
            index,
        )
        if not cid:
            self.fail(f"no cell {index}")
        return self.page.locator(f'.cell[data-harness-cell="{cid}"]')

    def output(self, index: int, selector: str | None = None) -> Locator:
        """Locator of cell ``index``'s output area, or of ``selector`` inside it."""
        area = self.cell(index).locator(".output_area")
        return area.locator(selector) if selector else area

    def wait_for_output(
        self,
        index: int,
        selector: str = ".output_subarea",
        text: str | re.Pattern[str] | None = None,
        timeout: float = TIMEOUT,
    ) -> Locator:
        """Wait until ``selector`` in cell ``index``'s output exists and has ``text`` (exact,
        whitespace-normalised; or a regex; None: any non-blank text). Returns its locator."""
        loc = self.output(index, selector).first
        want = re.compile(r"\S") if text is None else text
        try:
            expect(loc).to_have_text(want, timeout=timeout * 1000)
        except AssertionError:
            try:
                actual = repr(loc.inner_text(timeout=1000))
            except PlaywrightError:
                actual = "(no such element)"
            try:
                whole = repr(self.cell(index).locator(".output_wrapper").inner_text(timeout=1000))
            except PlaywrightError:
                whole = "(no output)"
            self.fail(
                f"cell {index} output {selector!r}: expected text {want!r} within {timeout}s,"
                f" got {actual}; whole output: {whole}"
            )
        return loc

    def click_in_output(self, index: int, selector: str, timeout: float = TIMEOUT) -> None:
        """Click the first ``selector`` in cell ``index``'s output (waits for it, bounded)."""
        try:
            self.output(index, selector).first.click(timeout=timeout * 1000)
        except PlaywrightError as e:
            self.fail(f"could not click {selector!r} in cell {index} output: {e.message}")

    # -- console and dialogs ----------------------------------------------------------------------

    def console_errors(self, allow: re.Pattern[str] | None = None) -> list[ConsoleEntry]:
        """Console errors and uncaught exceptions so far, minus :data:`KNOWN_CONSOLE_ERRORS`
        (and ``allow``)."""
        known = [*KNOWN_CONSOLE_ERRORS, *([allow] if allow else [])]
        return [
            c
            for c in self.ui.console
            if c.type in ("error", "pageerror", "crash")
            and not any(rx.search(str(c)) for rx in known)
        ]

    def pycomm_messages(self) -> list[ConsoleEntry]:
        """Console messages that mention pycomm (what the client logged)."""
        return [c for c in self.ui.console if "pycomm" in c.text]

    def open_dialogs(self) -> list[str]:
        """Texts of the classic UI's open (Bootstrap) dialogs."""
        return list(
            self.ui.js(
                "() => [...document.querySelectorAll('.modal.in')]"
                ".map(m => (m.innerText || m.textContent || '').trim())"
            )
        )

    def assert_clean(self, allow: re.Pattern[str] | None = None) -> None:
        """No open dialog, no console error (but the known ones and ``allow``)."""
        dialogs = self.open_dialogs()
        self.ui.check(not dialogs, f"dialog(s) open: {dialogs}")
        errors = self.console_errors(allow)
        self.ui.check(not errors, "console errors:\n" + "\n".join(map(str, errors)))
