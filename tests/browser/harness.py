"""Drive headless Chromium (Playwright, sync API) against real JupyterLab / Notebook 7 servers.

Building blocks for the fixtures in ``conftest.py``:

- :class:`BrowserServer`: a :class:`servers.Server` (``jupyter lab`` / ``jupyter notebook`` as a
  subprocess) started with ``expose_app_in_browser`` and quiet user settings, plus helpers to
  write notebooks into its root dir and to look at / end its sessions.
- :func:`write_notebook`, :func:`html_result`: nbformat v4 files from code-cell sources, with
  optional pre-saved outputs (untrusted unless signed).
- :class:`JupyterUI`: one browser page on one server: console messages, page errors, dialogs
  (every ``.jp-Dialog`` that appeared, even briefly), bounded JS evaluation and commands,
  artifacts (screenshot, console, server log) on failure.
- :class:`NotebookPage`: one notebook open in a :class:`JupyterUI`, found by its path: wait for
  its kernel, run cells through the app's commands, wait for / click things in cell outputs,
  kernel id, save, restart.

Every wait is bounded. Failures raise ``AssertionError`` whose message ends with the directory
of the saved artifacts (under ``<repo>/test-artifacts/``).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # tests/, for `servers`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import Server  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO / "test-artifacts"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

#: Default bound (seconds) of a UI wait: an element, a text, a command.
TIMEOUT = 30.0
#: Bound (seconds) for a notebook's kernel to be started and idle after the page opened.
KERNEL_TIMEOUT = 60.0
#: Bound (seconds) for the app (``window.jupyterapp``) to be loaded and restored.
APP_TIMEOUT = 60.0

EXPOSE_APP_FLAG = {
    "lab": "--LabApp.expose_app_in_browser=True",
    "notebook": "--JupyterNotebookApp.expose_app_in_browser=True",
}

#: User settings written into the server's private HOME before it starts: no news prompt,
#: no update check (no network here), no confirmation dialog on kernel restart.
DEFAULT_USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension:sessionDialogs": {"skipKernelRestartDialog": True},
}


# --------------------------------------------------------------------------------------------
# Playwright's sync API and asyncio
# --------------------------------------------------------------------------------------------
# Between two sync calls Playwright leaves its own event loop marked as the thread's *running*
# loop (its dispatcher greenlet is suspended inside run_forever). pytest-jupyter's fixtures and
# every async test of the rest of the suite would then find a running loop they don't own.
# ``park_playwright_loop`` unmarks it after a browser test, ``resume_playwright_loop`` marks it
# again before the next Playwright call (conftest.py does both around every browser test).

_PW_LOOP: list[asyncio.AbstractEventLoop] = []


def park_playwright_loop() -> None:
    loop = asyncio._get_running_loop()
    if loop is not None:
        _PW_LOOP[:] = [loop]
        asyncio._set_running_loop(None)


def resume_playwright_loop() -> None:
    if _PW_LOOP and not _PW_LOOP[0].is_closed() and asyncio._get_running_loop() is None:
        asyncio._set_running_loop(_PW_LOOP[0])


def forget_playwright_loop() -> None:
    _PW_LOOP.clear()
    if asyncio._get_running_loop() is not None and asyncio._get_running_loop().is_closed():
        asyncio._set_running_loop(None)


def launch_chromium(playwright: Any, **kw: Any) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **kw
    )


# --------------------------------------------------------------------------------------------
# Servers and notebook files
# --------------------------------------------------------------------------------------------


def code_cell(source: str, outputs: Sequence[dict[str, Any]] = (),
              execution_count: int | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, outputs=[nbformat.from_dict(o) for o in outputs])
    cell.execution_count = execution_count
    return cell


def html_result(html: str, execution_count: int = 1) -> dict[str, Any]:
    """The ``execute_result`` output that ``HTML(html)`` as a cell's last expression saves."""
    return {
        "output_type": "execute_result",
        "execution_count": execution_count,
        "metadata": {},
        "data": {"text/html": html, "text/plain": "<IPython.core.display.HTML object>"},
    }


def write_notebook(
    directory: Path,
    name: str,
    cells: Sequence[str],
    outputs: Sequence[Sequence[dict[str, Any]] | None] | None = None,
    *,
    metadata: dict[str, Any] | None = None,
    sign_with: Path | None = None,
) -> str:
    """Write ``directory/name`` (nbformat v4, python3 kernelspec): one code cell per source.

    ``outputs[i]`` (a list of output dicts, e.g. :func:`html_result`) is saved as cell i's
    outputs. The file has no signature, so the notebook is *untrusted* when opened (HTML
    scripts don't run), unless ``sign_with`` names a server's jupyter data dir to sign it with
    its notebook secret. Returns ``name`` (the path relative to the server root).
    """
    outputs = list(outputs or [])
    nb = nbformat.v4.new_notebook()
    nb.metadata.update({
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"},
        **(metadata or {}),
    })
    for i, src in enumerate(cells):
        outs = outputs[i] if i < len(outputs) and outputs[i] else []
        count = next((o.get("execution_count") for o in outs if "execution_count" in o), None)
        nb.cells.append(code_cell(src, outs, count if outs else None))
    nbformat.validate(nb)
    if sign_with is not None:
        from nbformat.sign import NotebookNotary

        NotebookNotary(data_dir=str(sign_with)).sign(nb)
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return name


@dataclass
class BrowserServer(Server):
    """A :class:`servers.Server` with what browser tests need on top (nothing changed in it)."""

    @property
    def ui(self) -> str:
        """``"lab"`` or ``"notebook"``: which frontend its pages run."""
        return "lab" if self.app == "lab" else "notebook"

    @property
    def notebook_dir(self) -> Path:
        """The server's root dir (``--ServerApp.root_dir``)."""
        return self.root / "notebooks"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def data_dir(self) -> Path:
        """The jupyter data dir of the server (notebook secret and signatures live there)."""
        return self.home / ".local" / "share" / "jupyter"

    def write_user_settings(self, settings: dict[str, dict[str, Any]]) -> None:
        """Write JupyterLab user settings (``"@pkg/ext:plugin": {...}``) into the private HOME."""
        base = self.home / ".jupyter" / "lab" / "user-settings"
        for plugin_id, values in settings.items():
            pkg, plugin = plugin_id.rsplit(":", 1)
            f = base / pkg / f"{plugin}.jupyterlab-settings"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values), encoding="utf-8")

    def write_notebook(self, name: str, cells: Sequence[str],
                       outputs: Sequence[Sequence[dict[str, Any]] | None] | None = None, *,
                       metadata: dict[str, Any] | None = None, trusted: bool = False) -> str:
        """:func:`write_notebook` into this server's root; ``trusted=True`` signs it."""
        return write_notebook(self.notebook_dir, name, cells, outputs, metadata=metadata,
                              sign_with=self.data_dir if trusted else None)

    def page_url(self, path: str, workspace: str | None = None) -> str:
        """URL opening notebook ``path`` in this server's UI (token in the query)."""
        q = urllib.parse.quote(path)
        token = f"token={self.token}"
        if self.ui == "lab":
            ws = workspace or f"t{uuid.uuid4().hex[:12]}"
            return f"{self.url}lab/workspaces/{ws}/tree/{q}?{token}"
        return f"{self.url}notebooks/{q}?{token}"

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "api/sessions"))

    def kernel_ids(self, path: str) -> list[str]:
        """Ids of the kernels of the server's sessions for ``path``."""
        return [s["kernel"]["id"] for s in self.sessions()
                if s.get("path") == path and s.get("kernel")]

    def shutdown_sessions(self, paths: Iterable[str]) -> None:
        """Delete the sessions (and so shut down the kernels) of these notebook paths."""
        wanted = set(paths)
        if not wanted or self.proc is None or self.proc.poll() is not None:
            return
        try:
            sessions = self.sessions()
        except OSError:  # server gone
            return
        for s in sessions:
            if s.get("path") in wanted:
                try:
                    self.api("DELETE", f"api/sessions/{s['id']}")
                except Exception:  # already gone; best effort in teardown
                    pass

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0


def start_browser_server(
    app: str,
    root: Path,
    base_url: str = "/",
    extra_args: Sequence[str] = (),
    user_settings: dict[str, dict[str, Any]] | None = None,
) -> BrowserServer:
    """Start ``jupyter <app>`` (``lab`` or ``notebook``) with ``window.jupyterapp`` exposed.

    ``user_settings`` is merged over :data:`DEFAULT_USER_SETTINGS` (per plugin).
    """
    if app not in EXPOSE_APP_FLAG:
        raise ValueError(f"app must be one of {sorted(EXPOSE_APP_FLAG)}, not {app!r}")
    root.mkdir(parents=True, exist_ok=True)
    server = BrowserServer(app, root, base_url=base_url,
                           extra_args=[EXPOSE_APP_FLAG[app], *extra_args])
    settings = {k: dict(v) for k, v in DEFAULT_USER_SETTINGS.items()}
    for k, v in (user_settings or {}).items():
        settings.setdefault(k, {}).update(v)
    server.write_user_settings(settings)
    return server.start()  # type: ignore[return-value]


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
        self.page.on("pageerror", lambda exc: self.console.append(
            ConsoleEntry("pageerror", f"{exc.name}: {exc.message}\n{exc.stack or ''}".strip())))
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

    def wait_for_console(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT
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
                self.page.wait_for_event("console", lambda m: bool(rx.search(m.text)),
                                         timeout=left * 1000)
            except PlaywrightTimeoutError:
                pass  # loop once more: the check above reports it with artifacts

    def dialogs(self) -> list[dict[str, Any]]:
        """Every ``.jp-Dialog`` seen in this page: ``{"title", "body", "open", "time"}``."""
        return list(self.page.evaluate(
            "() => window.__harness ? window.__harness.dialogInfo() : []"))

    def open_dialogs(self) -> list[dict[str, Any]]:
        return [d for d in self.dialogs() if d["open"]]

    def assert_no_dialogs(self) -> None:
        seen = self.dialogs()
        if seen:
            self.fail("dialog(s) appeared: "
                      + "; ".join(f"{d['title']!r}: {d['body']!r}" for d in seen))

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
        src = ("async ([arg, ms, what]) => {"
               " const H = window.__harness; const app = window.jupyterapp;"
               f" return await H.withTimeout((async () => {{ {body} }})(), ms, what); }}")
        try:
            return self.page.evaluate(src, [arg, int(timeout * 1000), what or body[:80]])
        except PlaywrightError as e:
            self.fail(f"{what or 'JS'} failed: {e.message}")

    def command(self, command_id: str, args: dict[str, Any] | None = None,
                timeout: float = TIMEOUT) -> Any:
        """``jupyterapp.commands.execute(command_id, args)``, awaited (bounded). Returns its
        result when it is JSON-like (widgets and the like come back as ``None``)."""
        return self.js_async(
            "const r = await app.commands.execute(arg[0], arg[1] || {});"
            " try { return JSON.parse(JSON.stringify(r === undefined ? null : r)); }"
            " catch { return null; }",
            [command_id, args], timeout, what=f"command {command_id}",
        )

    def wait_js(self, predicate: str, arg: Any = None, timeout: float = TIMEOUT,
                what: str = "condition") -> Any:
        """Poll ``predicate`` (a JS function of ``arg``) until truthy; returns its value."""
        try:
            return self.page.wait_for_function(predicate, arg=arg, timeout=timeout * 1000,
                                               polling=100).json_value()
        except PlaywrightTimeoutError:
            self.fail(f"timed out after {timeout}s waiting for {what}")
        except PlaywrightError as e:
            self.fail(f"waiting for {what} failed: {e.message}")

    # -- navigation -------------------------------------------------------------------------------

    def wait_app(self, timeout: float = APP_TIMEOUT) -> None:
        """Wait for ``window.jupyterapp`` and its ``restored`` promise."""
        self.wait_js("() => !!window.jupyterapp", timeout=timeout,
                     what="window.jupyterapp (is expose_app_in_browser set?)")
        self.js_async("await app.restored; return true;", timeout=timeout,
                      what="jupyterapp.restored")

    def goto_notebook(self, path: str, *, wait_ready: bool = True,
                      timeout: float = KERNEL_TIMEOUT) -> NotebookPage:
        """Load the page of notebook ``path`` (JupyterLab: ``lab/workspaces/<fresh>/tree/path``,
        a fresh workspace so nothing else is restored; Notebook 7: ``notebooks/path``)."""
        self.opened_paths.append(path)
        try:
            self.page.goto(self.server.page_url(path), wait_until="domcontentloaded",
                           timeout=timeout * 1000)
        except PlaywrightError as e:
            self.fail(f"could not load {path}: {e.message}")
        self.wait_app(timeout)
        nb = NotebookPage(self, path)
        if wait_ready:
            nb.wait_ready(timeout)
        return nb

    def open_notebook(self, path: str, mode: str = "split-right", *, wait_ready: bool = True,
                      timeout: float = KERNEL_TIMEOUT) -> NotebookPage:
        """Open another notebook in this (JupyterLab) page with ``docmanager:open``, placed
        relative to the current main-area widget: ``mode`` is a DockPanel insert mode
        (``split-right``, ``split-bottom``, ``tab-after``...). With a split both notebooks stay
        visible; with a tab the other one is hidden (but still works through this harness)."""
        if self.server.ui != "lab":
            raise ValueError("Notebook 7 opens each notebook in its own browser tab: use another "
                             "JupyterUI (open_notebook fixture) for a second notebook")
        self.opened_paths.append(path)
        self.js_async(
            "const cur = app.shell.currentWidget;"
            " await app.commands.execute('docmanager:open', {path: arg[0],"
            "   options: {mode: arg[1], ref: cur ? cur.id : undefined}}); return true;",
            [path, mode], timeout, what=f"docmanager:open {path}",
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
        base = ARTIFACTS_DIR / _slug(self.name)
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"{time.time() % 1:.3f}"[1:]
        out = base / _slug(f"{stamp}-{self.server.ui}-{reason}")
        out.mkdir(parents=True, exist_ok=True)
        self.artifacts.append(out)
        notes: list[str] = []
        try:
            self.page.screenshot(path=str(out / "screenshot.png"), full_page=True, timeout=10000)
        except Exception as e:  # the page may be gone: keep the rest
            notes.append(f"screenshot failed: {e}")
        (out / "console.log").write_text(self.console_text() + "\n", encoding="utf-8")
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
        (out / "page-state.json").write_text(json.dumps(state, indent=2, default=str),
                                             encoding="utf-8")
        try:
            with self.server.log_path.open("rb") as f:
                f.seek(self._log_offset)
                (out / "server.log").write_bytes(f.read())
        except OSError as e:
            notes.append(f"server log: {e}")
        if notes:
            (out / "notes.txt").write_text("\n".join(notes) + "\n", encoding="utf-8")
        return out

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
            self.path, what=f"notebook panel of {self.path}")
        return str(pid)

    def kernel_state(self) -> dict[str, Any] | None:
        """``{"id", "status", "connection"}`` of the panel's kernel, or None."""
        return self.ui.js(
            "(p) => { const w = window.__harness.panel(p); const k = w && w.sessionContext.session"
            " && w.sessionContext.session.kernel; return k ? {id: k.id, status: k.status,"
            " connection: k.connectionStatus} : null; }", self.path)

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
            }""", self.path, timeout, what=f"kernel of {self.path} idle and connected")
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
        return int(self.ui.js("(p) => window.__harness.panel(p).content.model.cells.length",
                              self.path))

    def is_trusted(self, index: int) -> bool:
        """Whether cell ``index``'s model is trusted (its HTML scripts may run)."""
        return bool(self.ui.js(
            "([p, i]) => window.__harness.panel(p).content.model.cells.get(i).trusted",
            [self.path, index]))

    # -- running ---------------------------------------------------------------------------------

    def _run(self, command: str, select: int | None, timeout: float, expect_ok: bool) -> bool:
        ok = self.ui.js_async(
            """const [p, cmd, i] = arg; const w = H.panel(p);
               if (!w) throw new Error('no notebook panel for ' + p);
               if (i !== null) {
                 if (i < 0 || i >= w.content.widgets.length) throw new Error('no cell ' + i);
                 w.content.activeCellIndex = i; w.content.deselectAll();
               }
               return await app.commands.execute(cmd, {widgetId: w.id, activate: false});""",
            [self.path, command, select], timeout, what=f"{command} on {self.path}")
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

    def set_cell_source(self, index: int, source: str) -> None:
        self.ui.js("([p, i, s]) => { window.__harness.panel(p).content.model.cells.get(i)"
                   ".sharedModel.setSource(s); }", [self.path, index, source])

    def add_cell(self, source: str) -> int:
        """Append a code cell; returns its index."""
        return int(self.ui.js(
            "([p, s]) => { const m = window.__harness.panel(p).content.model;"
            " m.sharedModel.insertCell(m.cells.length, {cell_type: 'code', source: s});"
            " return m.cells.length - 1; }", [self.path, source]))

    def save(self, timeout: float = TIMEOUT) -> None:
        """Save through the document context (what ``docmanager:save`` does), bounded."""
        self.ui.js_async("const w = H.panel(arg); await w.context.save(); return true;",
                         self.path, timeout, what=f"save {self.path}")

    def restart_kernel(self, timeout: float = KERNEL_TIMEOUT) -> str:
        """``notebook:restart-kernel`` (no confirmation: see DEFAULT_USER_SETTINGS), then wait
        for the kernel to be idle again; returns its id."""
        self.ui.js_async(
            "const w = H.panel(arg); await app.commands.execute('notebook:restart-kernel',"
            " {widgetId: w.id, activate: false}); return true;",
            self.path, timeout, what=f"restart kernel of {self.path}")
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
            [self.path, index], timeout, what=f"cell {index} of {self.path}")
        return self.page.locator(f'.jp-Cell[data-harness-cell="{cid}"]')

    def output(self, index: int, selector: str | None = None) -> Locator:
        """Locator of cell ``index``'s output area, or of ``selector`` inside it."""
        area = self.cell(index).locator(".jp-OutputArea")
        return area.locator(selector) if selector else area

    def output_text(self, index: int) -> str:
        return self.output(index).inner_text()

    def wait_for_output(self, index: int, selector: str = ".jp-OutputArea-output",
                        text: str | re.Pattern[str] | None = None, timeout: float = TIMEOUT
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
            self.fail(f"cell {index} output {selector!r}: expected text {want!r} within "
                      f"{timeout}s, got {actual}; whole output: {self._safe_output_text(index)!r}")
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

    def wait_for_console(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT
                         ) -> ConsoleEntry:
        return self.ui.wait_for_console(pattern, timeout)

    def console_messages(self, type: str | None = None) -> list[ConsoleEntry]:
        return self.ui.console_messages(type)

    def dialogs(self) -> list[dict[str, Any]]:
        return self.ui.dialogs()

    def assert_no_dialogs(self) -> None:
        self.ui.assert_no_dialogs()
