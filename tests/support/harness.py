"""Drive headless Chromium (Playwright, sync API) against real JupyterLab / Notebook 7 servers.

Building blocks for the fixtures in ``conftest.py`` (the page side lives in ``ui.py``):

- :class:`BrowserServer`: a :class:`servers.Server` (``jupyter lab`` / ``jupyter notebook`` as a
  subprocess) started with ``expose_app_in_browser`` and quiet user settings, plus helpers to
  write notebooks into its root dir and to look at / end its sessions.
- :func:`write_notebook`, :func:`html_result`: nbformat v4 files from code-cell sources, with
  optional pre-saved outputs (untrusted unless signed).
- :func:`launch_chromium` and the Playwright event-loop helpers (``park_playwright_loop``,
  ``resume_playwright_loop``, ``forget_playwright_loop``).
- The shared bounds (:data:`TIMEOUT`, :data:`KERNEL_TIMEOUT`, :data:`APP_TIMEOUT`) and
  :data:`ARTIFACTS_DIR` (``<repo>/test-artifacts/``), used by ``ui.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Browser

from .servers import Server

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO / "test-artifacts"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Default bound (seconds) of a UI wait: an element, a text, a command.
TIMEOUT = 30.0
#: Bound (seconds) for a notebook's kernel to be started and idle after the page opened.
KERNEL_TIMEOUT = 60.0
#: Bound (seconds) for the app (``window.jupyterapp``) to be loaded and restored.
APP_TIMEOUT = 60.0

#: The flag that exposes the app in the browser, per ``jupyter <app>``. The classic Notebook
#: (``nbclassic``: pages driven through its global ``Jupyter``, see ``classic_page.py``) has none.
EXPOSE_APP_FLAG: dict[str, str | None] = {
    "lab": "--LabApp.expose_app_in_browser=True",
    "notebook": "--JupyterNotebookApp.expose_app_in_browser=True",
    "nbclassic": None,
    "server": None,  # jupyter server alone (a Voila dashboard as its default_url)
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
    """Headless Chromium; ``BROWSER_HEADED=1`` (with a display) shows it, and
    ``BROWSER_SLOWMO=<ms>`` slows each action, to watch a test (CONTRIBUTING.md)."""
    headed = os.environ.get("BROWSER_HEADED") == "1"
    args = [a for a in CHROMIUM_ARGS if not (headed and a == "--headless")]
    slow_mo = float(os.environ.get("BROWSER_SLOWMO", "0"))
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=not headed, args=args, slow_mo=slow_mo, **kw
    )


# --------------------------------------------------------------------------------------------
# Servers and notebook files
# --------------------------------------------------------------------------------------------


def code_cell(
    source: str, outputs: Sequence[dict[str, Any]] = (), execution_count: int | None = None
) -> nbformat.NotebookNode:
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
    nb.metadata.update(
        {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            },
            "language_info": {"name": "python"},
            **(metadata or {}),
        }
    )
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
        """``"lab"``, ``"notebook"`` or ``"classic"`` (nbclassic): which frontend its pages run."""
        return {"lab": "lab", "nbclassic": "classic"}.get(self.app, "notebook")

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

    def write_notebook(
        self,
        name: str,
        cells: Sequence[str],
        outputs: Sequence[Sequence[dict[str, Any]] | None] | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        trusted: bool = False,
    ) -> str:
        """:func:`write_notebook` into this server's root; ``trusted=True`` signs it."""
        return write_notebook(
            self.notebook_dir,
            name,
            cells,
            outputs,
            metadata=metadata,
            sign_with=self.data_dir if trusted else None,
        )

    def page_url(self, path: str, workspace: str | None = None, *, token: bool = True) -> str:
        """URL opening notebook ``path`` in this server's UI (token in the query, unless
        ``token=False``: then the page must be authenticated by the login cookie)."""
        q = urllib.parse.quote(path)
        query = f"?token={self.token}" if token else ""
        if self.ui == "lab":
            ws = workspace or f"t{uuid.uuid4().hex[:12]}"
            return f"{self.url}lab/workspaces/{ws}/tree/{q}{query}"
        if self.ui == "classic":
            return f"{self.url}{classic_prefix()}notebooks/{q}{query}"
        return f"{self.url}notebooks/{q}{query}"

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "api/sessions"))

    def kernel_ids(self, path: str) -> list[str]:
        """Ids of the kernels of the server's sessions for ``path``."""
        return [
            s["kernel"]["id"] for s in self.sessions() if s.get("path") == path and s.get("kernel")
        ]

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


def classic_prefix() -> str:
    """Where nbclassic serves its pages under the base URL: ``"nbclassic/"`` when Notebook 7 is
    installed too (it owns ``notebooks/``), else ``""``."""
    from nbclassic import nbclassic_path

    prefix = nbclassic_path().strip("/")
    return f"{prefix}/" if prefix else ""


def start_browser_server(
    app: str,
    root: Path,
    base_url: str = "/",
    extra_args: Sequence[str] = (),
    user_settings: dict[str, dict[str, Any]] | None = None,
    env: dict[str, str] | None = None,
) -> BrowserServer:
    """Start ``jupyter <app>`` (``lab`` or ``notebook``) with ``window.jupyterapp`` exposed
    (or ``nbclassic``, the classic Notebook UI, which has no such flag).

    ``user_settings`` is merged over :data:`DEFAULT_USER_SETTINGS` (per plugin).
    """
    if app not in EXPOSE_APP_FLAG:
        raise ValueError(f"app must be one of {sorted(EXPOSE_APP_FLAG)}, not {app!r}")
    root.mkdir(parents=True, exist_ok=True)
    expose = EXPOSE_APP_FLAG[app]
    server = BrowserServer(
        app,
        root,
        base_url=base_url,
        extra_args=[*([expose] if expose else []), *extra_args],
        extra_env=dict(env or {}),
    )
    settings = {k: dict(v) for k, v in DEFAULT_USER_SETTINGS.items()}
    for k, v in (user_settings or {}).items():
        settings.setdefault(k, {}).update(v)
    server.write_user_settings(settings)
    return server.start()  # type: ignore[return-value]
