"""One notebook open in a :class:`ui.JupyterUI` page: its kernel, running cells, outputs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from .harness import KERNEL_TIMEOUT, TIMEOUT, BrowserServer

if TYPE_CHECKING:
    from .ui import ConsoleEntry, JupyterUI


@dataclass
class NotebookPage:
    """Notebook ``path`` open in ``ui``'s page (its panel is found by path on each call)."""

    ui: JupyterUI
    path: str

    @property
    def page(self) -> Page:
        return self.ui.page

    @property
    def server(self) -> BrowserServer:
        return self.ui.server

    def fail(self, message: str) -> Any:
        return self.ui.fail(f"{self.path}: {message}")

    # -- state ----------------------------------------------------------------------------------

    def panel_id(self) -> str:
        pid = self.ui.wait_js(
            "(p) => { const w = window.__harness.panel(p); return w ? w.id : null; }",
            self.path,
            what=f"notebook panel of {self.path}",
        )
        return str(pid)

    def kernel_state(self) -> dict[str, Any] | None:
        """``{"id", "status", "connection"}`` of the panel's kernel, or None."""
        return self.ui.js(
            "(p) => { const w = window.__harness.panel(p); const k = w && w.sessionContext.session"
            " && w.sessionContext.session.kernel; return k ? {id: k.id, status: k.status,"
            " connection: k.connectionStatus} : null; }",
            self.path,
        )

    def wait_ready(self, timeout: float = KERNEL_TIMEOUT) -> str:
        """Wait until the notebook is loaded, its cells are rendered, its kernel is connected
        and idle; returns the kernel id. Fails at once if a dialog opens meanwhile."""
        state = self.ui.wait_js(
            """(p) => {
              const H = window.__harness;
              const open = H.dialogInfo().filter(d => d.open);
              if (open.length) return {dialog: open.map(d => d.title + ': ' + d.body).join(' | ')};
              const w = H.panel(p);
              if (!w || !w.context.isReady || !w.sessionContext.isReady) return false;
              if (w.content.widgets.length !== w.content.model.cells.length) return false;
              const k = w.sessionContext.session && w.sessionContext.session.kernel;
              if (!k || k.status !== 'idle' || k.connectionStatus !== 'connected') return false;
              return {kernel: k.id};
            }""",
            self.path,
            timeout,
            what=f"kernel of {self.path} idle and connected",
        )
        if "dialog" in state:
            self.fail(f"dialog while waiting for the kernel: {state['dialog']}")
        return str(state["kernel"])

    def kernel_id(self) -> str:
        """The kernel id of the panel's session (from ``jupyterapp``)."""
        st = self.kernel_state()
        if not st:
            self.fail("no kernel")
        return str(st["id"])

    def kernel_id_from_api(self) -> str:
        """The kernel id of the server's session for this path (REST ``api/sessions``)."""
        ids = self.server.kernel_ids(self.path)
        if len(ids) != 1:
            self.fail(f"expected one session for {self.path}, got kernels {ids}")
        return ids[0]

    def cell_count(self) -> int:
        return int(
            self.ui.js("(p) => window.__harness.panel(p).content.model.cells.length", self.path)
        )

    def is_trusted(self, index: int) -> bool:
        """Whether cell ``index``'s model is trusted (its HTML scripts may run)."""
        return bool(
            self.ui.js(
                "([p, i]) => window.__harness.panel(p).content.model.cells.get(i).trusted",
                [self.path, index],
            )
        )

    # -- running ---------------------------------------------------------------------------------

    def _run(
        self, command: str, select: int | None, timeout: float, expect_ok: bool, wait: bool = True
    ) -> bool:
        ok = self.ui.js_async(
            """const [p, cmd, i, wait] = arg; const w = H.panel(p);
               if (!w) throw new Error('no notebook panel for ' + p);
               if (i !== null) {
                 if (i < 0 || i >= w.content.widgets.length) throw new Error('no cell ' + i);
                 w.content.activeCellIndex = i; w.content.deselectAll();
               }
               const run = app.commands.execute(cmd, {widgetId: w.id, activate: false});
               return wait ? await run : null;""",
            [self.path, command, select, wait],
            timeout,
            what=f"{command} on {self.path}",
        )
        if expect_ok and ok is False:
            self.fail(f"{command} reported a failed cell (an exception in the kernel?)")
        return ok is not False

    def run_all(self, timeout: float = TIMEOUT, expect_ok: bool = True) -> bool:
        """``notebook:run-all-cells`` on this notebook; returns once every cell finished
        (execute replies), True if none failed. Outputs may still be rendering: wait for them."""
        return self._run("notebook:run-all-cells", None, timeout, expect_ok)

    def run_cell(self, index: int, timeout: float = TIMEOUT, expect_ok: bool = True) -> bool:
        """Select cell ``index`` and ``notebook:run-cell`` (run, don't advance)."""
        return self._run("notebook:run-cell", index, timeout, expect_ok)

    def start_cell(self, index: int) -> None:
        """Select cell ``index`` and start ``notebook:run-cell``; returns while it runs."""
        self._run("notebook:run-cell", index, TIMEOUT, expect_ok=False, wait=False)

    def set_cell_source(self, index: int, source: str) -> None:
        self.ui.js(
            "([p, i, s]) => { window.__harness.panel(p).content.model.cells.get(i)"
            ".sharedModel.setSource(s); }",
            [self.path, index, source],
        )

    def add_cell(self, source: str) -> int:
        """Append a code cell; returns its index."""
        return int(
            self.ui.js(
                "([p, s]) => { const m = window.__harness.panel(p).content.model;"
                " m.sharedModel.insertCell(m.cells.length, {cell_type: 'code', source: s});"
                " return m.cells.length - 1; }",
                [self.path, source],
            )
        )

    def save(self, timeout: float = TIMEOUT) -> None:
        """Save through the document context (what ``docmanager:save`` does), bounded."""
        self.ui.js_async(
            "const w = H.panel(arg); await w.context.save(); return true;",
            self.path,
            timeout,
            what=f"save {self.path}",
        )

    def restart_kernel(self, timeout: float = KERNEL_TIMEOUT) -> str:
        """``notebook:restart-kernel`` (no confirmation: see DEFAULT_USER_SETTINGS), then wait
        for the kernel to be idle again; returns its id."""
        self.ui.js_async(
            "const w = H.panel(arg); await app.commands.execute('notebook:restart-kernel',"
            " {widgetId: w.id, activate: false}); return true;",
            self.path,
            timeout,
            what=f"restart kernel of {self.path}",
        )
        return self.wait_ready(timeout)

    # -- cells and outputs ---------------------------------------------------------------------

    def cell(self, index: int, timeout: float = TIMEOUT) -> Locator:
        """Locator of cell ``index``'s node. The node is tagged ``data-harness-cell=<model id>``
        (cells have no id in the DOM), so this works in any windowing mode."""
        cid = self.ui.wait_js(
            """([p, i]) => {
              const w = window.__harness.panel(p); const c = w && w.content.widgets[i];
              if (!c || !c.model) return null;
              c.node.dataset.harnessCell = c.model.id;
              return c.model.id;
            }""",
            [self.path, index],
            timeout,
            what=f"cell {index} of {self.path}",
        )
        return self.page.locator(f'.jp-Cell[data-harness-cell="{cid}"]')

    def output(self, index: int, selector: str | None = None) -> Locator:
        """Locator of cell ``index``'s output area, or of ``selector`` inside it. The cell's
        own area: widgets (Output) nest output areas of their own in it."""
        area = self.cell(index).locator(".jp-Cell-outputArea")
        return area.locator(selector) if selector else area

    def output_text(self, index: int) -> str:
        return self.output(index).inner_text()

    def wait_for_output(
        self,
        index: int,
        selector: str = ".jp-OutputArea-output",
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
            self.fail(
                f"cell {index} output {selector!r}: expected text {want!r} within "
                f"{timeout}s, got {actual}; whole output: {self._safe_output_text(index)!r}"
            )
        return loc

    def _safe_output_text(self, index: int) -> str:
        try:
            return self.output(index).inner_text(timeout=1000)
        except (PlaywrightError, AssertionError):
            return "(no output area)"

    def click_in_output(self, index: int, selector: str, timeout: float = TIMEOUT) -> None:
        """Click the first ``selector`` in cell ``index``'s output (waits for it, bounded)."""
        try:
            self.output(index, selector).first.click(timeout=timeout * 1000)
        except PlaywrightError as e:
            self.fail(f"could not click {selector!r} in cell {index} output: {e.message}")

    # -- delegation to the page (one page may hold several notebooks) -------------------------

    def unexpected_page_errors(self) -> list[ConsoleEntry]:
        return self.ui.unexpected_page_errors()

    def wait_for_console(
        self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT
    ) -> ConsoleEntry:
        return self.ui.wait_for_console(pattern, timeout)

    def console_messages(self, type: str | None = None) -> list[ConsoleEntry]:
        return self.ui.console_messages(type)

    def dialogs(self) -> list[dict[str, Any]]:
        return self.ui.dialogs()

    def assert_no_dialogs(self) -> None:
        self.ui.assert_no_dialogs()
