"""Browser pages for the tests: one page on one server, and notebooks open in it.

- :class:`JupyterUI`: one browser page on one server: console messages, page errors, dialogs
  (every ``.jp-Dialog`` that appeared, even briefly), bounded JS evaluation and commands,
  artifacts (screenshot, console, server log) on failure.
- :class:`NotebookPage`: one notebook open in a :class:`JupyterUI`, found by its path: wait for
  its kernel, run cells through the app's commands, wait for / click things in cell outputs,
  kernel id, save, restart.

Servers, notebook files and the shared bounds come from ``harness.py``. Every wait is bounded.
Failures raise ``AssertionError`` whose message ends with the directory of the saved artifacts
(under ``<repo>/test-artifacts/``).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .harness import APP_TIMEOUT, ARTIFACTS_DIR, KERNEL_TIMEOUT, TIMEOUT, BrowserServer

# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------

# Runs in every page before its own scripts: records each `.jp-Dialog` attached to the
# document, and finds notebook panels by path.
INIT_SCRIPT = r"""
(() => {
  if (window.__harness) return;
  const H = window.__harness = { dialogs: [] };
  const text = (el, sel) => {
    const n = sel ? el.querySelector(sel) : el;
    return n ? (n.innerText || n.textContent || '').trim() : '';
  };
  const record = (el) => {
    if (H.dialogs.some(d => d.el === el)) return;
    H.dialogs.push({ el, time: Date.now(), title: text(el, '.jp-Dialog-header'),
                     body: text(el, '.jp-Dialog-body') || text(el) });
  };
  new MutationObserver(muts => {
    for (const m of muts) for (const n of m.addedNodes)
      if (n.nodeType === 1 && n.classList.contains('jp-Dialog')) record(n);
  }).observe(document, { childList: true, subtree: true });
  H.dialogInfo = () => H.dialogs.map(d => {
    if (d.el.isConnected) {
      d.title = text(d.el, '.jp-Dialog-header') || d.title;
      d.body = text(d.el, '.jp-Dialog-body') || d.body;
    }
    return { title: d.title, body: d.body, open: d.el.isConnected, time: d.time };
  });
  H.panels = () => {
    const app = window.jupyterapp; if (!app) return [];
    const out = [];
    for (const w of app.shell.widgets('main'))
      if (w && w.context && w.sessionContext && w.content && w.content.model
          && 'cells' in w.content.model) out.push(w);
    return out;
  };
  H.panel = (path) => H.panels().find(w => w.context.path === path) || null;
  H.withTimeout = (promise, ms, what) => {
    let timer;
    const expired = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([Promise.resolve(promise), expired]).finally(() => clearTimeout(timer));
  };
})();
"""


#: Page errors the stock frontends raise on their own (not caused by the page under test).
#: Notebook 7.6.5: the shortcuts extension's ``pluginChanged`` handler reads the schema of a
#: plugin that is not in the settings registry, on every notebook page load.
KNOWN_PAGE_ERRORS: dict[str, list[re.Pattern[str]]] = {
    "lab": [],
    "notebook": [
        re.compile(r"^TypeError: Cannot read properties of undefined \(reading 'schema'\)"),
    ],
}


@dataclass
class ConsoleEntry:
    type: str  # "log", "error", "warning", ..., or "pageerror" for uncaught exceptions
    text: str
    location: str = ""

    def __str__(self) -> str:
        return f"[{self.type}] {self.text}" + (f"  ({self.location})" if self.location else "")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "test"


@dataclass
class JupyterUI:
    """One browser page (own context: own cookies) on one server."""

    context: BrowserContext
    server: BrowserServer
    name: str = "test"
    console: list[ConsoleEntry] = field(default_factory=list)
    opened_paths: list[str] = field(default_factory=list)
    artifacts: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page: Page = self.context.new_page()
        self._log_offset = self.server.log_size()
        self.page.on("console", self._on_console)
        self.page.on(
            "pageerror",
            lambda exc: self.console.append(
                ConsoleEntry("pageerror", f"{exc.name}: {exc.message}\n{exc.stack or ''}".strip())
            ),
        )
        self.page.on("crash", lambda _p: self.console.append(ConsoleEntry("crash", "page crashed")))

    @classmethod
    def new(cls, browser: Browser, server: BrowserServer, name: str = "test") -> JupyterUI:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(TIMEOUT * 1000)
        context.add_init_script(INIT_SCRIPT)
        return cls(context, server, name)

    def _on_console(self, msg: ConsoleMessage) -> None:
        loc = msg.location or {}
        where = f"{loc.get('url', '')}:{loc.get('lineNumber', '')}" if loc.get("url") else ""
        self.console.append(ConsoleEntry(msg.type, msg.text, where))

    # -- console, errors, dialogs -------------------------------------------------------------

    @property
    def page_errors(self) -> list[ConsoleEntry]:
        return [c for c in self.console if c.type in ("pageerror", "crash")]

    def unexpected_page_errors(self) -> list[ConsoleEntry]:
        """:attr:`page_errors` minus the :data:`KNOWN_PAGE_ERRORS` of this UI."""
        known = KNOWN_PAGE_ERRORS.get(self.server.ui, [])
        return [c for c in self.page_errors if not any(rx.search(c.text) for rx in known)]

    def console_messages(self, type: str | None = None) -> list[ConsoleEntry]:
        """Console messages so far (all, or of one ``type``: "log", "error", "pageerror"...)."""
        return [c for c in self.console if type is None or c.type == type]

    def console_text(self) -> str:
        return "\n".join(str(c) for c in self.console)

    def wait_for_console(
        self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT
    ) -> ConsoleEntry:
        """The first console message (past or coming) whose text matches ``pattern`` (re.search)."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            for c in self.console:
                if rx.search(c.text):
                    return c
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no console message matching {rx.pattern!r} within {timeout}s")
            try:
                self.page.wait_for_event(
                    "console", lambda m: bool(rx.search(m.text)), timeout=left * 1000
                )
            except PlaywrightTimeoutError:
                pass  # loop once more: the check above reports it with artifacts

    def dialogs(self) -> list[dict[str, Any]]:
        """Every ``.jp-Dialog`` seen in this page: ``{"title", "body", "open", "time"}``."""
        return list(
            self.page.evaluate("() => window.__harness ? window.__harness.dialogInfo() : []")
        )

    def open_dialogs(self) -> list[dict[str, Any]]:
        return [d for d in self.dialogs() if d["open"]]

    def assert_no_dialogs(self) -> None:
        seen = self.dialogs()
        if seen:
            self.fail(
                "dialog(s) appeared: " + "; ".join(f"{d['title']!r}: {d['body']!r}" for d in seen)
            )

    def dismiss_dialogs(self) -> None:
        """Press the reject button (Escape) of every open dialog."""
        for _ in range(10):
            if not self.page.locator(".jp-Dialog").count():
                return
            self.page.keyboard.press("Escape")
            try:
                self.page.locator(".jp-Dialog").first.wait_for(state="detached", timeout=5000)
            except PlaywrightTimeoutError:
                pass

    # -- JS, commands ---------------------------------------------------------------------------

    def js(self, expression: str, arg: Any = None) -> Any:
        """``page.evaluate`` for synchronous JS (a promise it returns is awaited unbounded:
        use :meth:`js_async` for those)."""
        try:
            return self.page.evaluate(expression, arg)
        except PlaywrightError as e:
            self.fail(f"JS failed: {e.message}\n{expression}")

    def js_async(self, body: str, arg: Any = None, timeout: float = TIMEOUT, what: str = "") -> Any:
        """Run ``body`` (statements of an async function of ``arg``, using ``return``) with a
        bound: it fails after ``timeout`` seconds. ``H`` is ``window.__harness``,
        ``app`` is ``window.jupyterapp``."""
        src = (
            "async ([arg, ms, what]) => {"
            " const H = window.__harness; const app = window.jupyterapp;"
            f" return await H.withTimeout((async () => {{ {body} }})(), ms, what); }}"
        )
        try:
            return self.page.evaluate(src, [arg, int(timeout * 1000), what or body[:80]])
        except PlaywrightError as e:
            self.fail(f"{what or 'JS'} failed: {e.message}")

    def command(
        self, command_id: str, args: dict[str, Any] | None = None, timeout: float = TIMEOUT
    ) -> Any:
        """``jupyterapp.commands.execute(command_id, args)``, awaited (bounded). Returns its
        result when it is JSON-like (widgets and the like come back as ``None``)."""
        return self.js_async(
            "const r = await app.commands.execute(arg[0], arg[1] || {});"
            " try { return JSON.parse(JSON.stringify(r === undefined ? null : r)); }"
            " catch { return null; }",
            [command_id, args],
            timeout,
            what=f"command {command_id}",
        )

    def wait_js(
        self, predicate: str, arg: Any = None, timeout: float = TIMEOUT, what: str = "condition"
    ) -> Any:
        """Poll ``predicate`` (a JS function of ``arg``) until truthy; returns its value."""
        try:
            return self.page.wait_for_function(
                predicate, arg=arg, timeout=timeout * 1000, polling=100
            ).json_value()
        except PlaywrightTimeoutError:
            self.fail(f"timed out after {timeout}s waiting for {what}")
        except PlaywrightError as e:
            self.fail(f"waiting for {what} failed: {e.message}")

    # -- navigation -------------------------------------------------------------------------------

    def wait_app(self, timeout: float = APP_TIMEOUT) -> None:
        """Wait for ``window.jupyterapp`` and its ``restored`` promise."""
        self.wait_js(
            "() => !!window.jupyterapp",
            timeout=timeout,
            what="window.jupyterapp (is expose_app_in_browser set?)",
        )
        self.js_async(
            "await app.restored; return true;", timeout=timeout, what="jupyterapp.restored"
        )

    def goto_notebook(
        self, path: str, *, wait_ready: bool = True, timeout: float = KERNEL_TIMEOUT
    ) -> NotebookPage:
        """Load the page of notebook ``path`` (JupyterLab: ``lab/workspaces/<fresh>/tree/path``,
        a fresh workspace so nothing else is restored; Notebook 7: ``notebooks/path``)."""
        self.opened_paths.append(path)
        try:
            self.page.goto(
                self.server.page_url(path), wait_until="domcontentloaded", timeout=timeout * 1000
            )
        except PlaywrightError as e:
            self.fail(f"could not load {path}: {e.message}")
        self.wait_app(timeout)
        nb = NotebookPage(self, path)
        if wait_ready:
            nb.wait_ready(timeout)
        return nb

    def open_notebook(
        self,
        path: str,
        mode: str = "split-right",
        *,
        wait_ready: bool = True,
        timeout: float = KERNEL_TIMEOUT,
    ) -> NotebookPage:
        """Open another notebook in this (JupyterLab) page with ``docmanager:open``, placed
        relative to the current main-area widget: ``mode`` is a DockPanel insert mode
        (``split-right``, ``split-bottom``, ``tab-after``...). With a split both notebooks stay
        visible; with a tab the other one is hidden (but still works through this harness)."""
        if self.server.ui != "lab":
            raise ValueError(
                "Notebook 7 opens each notebook in its own browser tab: use another "
                "JupyterUI (open_notebook fixture) for a second notebook"
            )
        self.opened_paths.append(path)
        self.js_async(
            "const cur = app.shell.currentWidget;"
            " await app.commands.execute('docmanager:open', {path: arg[0],"
            "   options: {mode: arg[1], ref: cur ? cur.id : undefined}}); return true;",
            [path, mode],
            timeout,
            what=f"docmanager:open {path}",
        )
        nb = NotebookPage(self, path)
        if wait_ready:
            nb.wait_ready(timeout)
        return nb

    def notebook(self, path: str) -> NotebookPage:
        """A handle on notebook ``path``, already open in this page."""
        return NotebookPage(self, path)

    # -- failures ----------------------------------------------------------------------------------

    def save_artifacts(self, reason: str = "failure") -> Path:
        """Save screenshot, console log, dialogs, notebook states and this UI's part of the
        server log under ``test-artifacts/<test>/``; returns the directory."""
        out = self._new_artifacts_dir(reason)
        notes: list[str] = []
        self._save_screenshot(out, notes)
        (out / "console.log").write_text(self.console_text() + "\n", encoding="utf-8")
        self._save_page_state(out)
        self._save_server_log(out, notes)
        if notes:
            (out / "notes.txt").write_text("\n".join(notes) + "\n", encoding="utf-8")
        return out

    def _new_artifacts_dir(self, reason: str) -> Path:
        """Create ``test-artifacts/<test>/<stamp>-<ui>-<reason>/`` and record it."""
        base = ARTIFACTS_DIR / _slug(self.name)
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"{time.time() % 1:.3f}"[1:]
        out = base / _slug(f"{stamp}-{self.server.ui}-{reason}")
        out.mkdir(parents=True, exist_ok=True)
        self.artifacts.append(out)
        return out

    def _save_screenshot(self, out: Path, notes: list[str]) -> None:
        try:
            self.page.screenshot(path=str(out / "screenshot.png"), full_page=True, timeout=10000)
        except Exception as e:  # the page may be gone: keep the rest
            notes.append(f"screenshot failed: {e}")

    def _save_page_state(self, out: Path) -> None:
        """``page-state.json``: URL, dialogs, notebook panels and their kernels."""
        try:
            state = self.page.evaluate("""() => {
              const H = window.__harness;
              const kernel = (p) => {
                const k = p.sessionContext.session && p.sessionContext.session.kernel;
                return k ? {id: k.id, status: k.status, connection: k.connectionStatus} : null;
              };
              return {
                url: location.href,
                dialogs: H ? H.dialogInfo() : [],
                panels: H ? H.panels().map(p => ({path: p.context.path, id: p.id,
                                                  visible: p.isVisible, kernel: kernel(p)})) : [],
              };
            }""")
        except Exception as e:
            state = {"error": str(e)}
        (out / "page-state.json").write_text(
            json.dumps(state, indent=2, default=str), encoding="utf-8"
        )

    def _save_server_log(self, out: Path, notes: list[str]) -> None:
        """``server.log``: what the server logged since this UI was created."""
        try:
            with self.server.log_path.open("rb") as f:
                f.seek(self._log_offset)
                (out / "server.log").write_bytes(f.read())
        except OSError as e:
            notes.append(f"server log: {e}")

    def fail(self, message: str) -> Any:
        """Save artifacts, then raise ``AssertionError(message + artifacts dir)``."""
        path = self.save_artifacts("fail")
        # `from None`: the message has what matters; Playwright's own error (a page-long aria
        # snapshot) would bury it.
        raise AssertionError(f"{message}\n[browser artifacts: {path}]") from None

    def check(self, condition: Any, message: str) -> None:
        """``assert condition`` with artifacts on failure."""
        if not condition:
            self.fail(message)

    def close(self) -> None:
        try:
            self.context.close()
        except PlaywrightError:
            pass


from .notebook_page import NotebookPage  # noqa: E402  (it needs JupyterUI too)
