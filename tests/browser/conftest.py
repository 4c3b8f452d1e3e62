"""Fixtures for browser tests: headless Chromium (Playwright sync API) against real
``jupyter lab`` / ``jupyter notebook`` subprocesses. See ``harness.py`` (servers, notebook
files, Chromium) and ``ui.py`` (pages) for the helpers.

- ``browser`` (session): Chromium.
- ``lab_server`` / ``notebook_server`` (session): shared servers, root dir in a tmp dir.
- ``classic_server`` (session): a shared ``jupyter nbclassic``.
- ``server_factory`` (function): start more servers (base_url, extra args), stopped after the test.
- ``jupyter_ui(server)`` (function): a new page (own browser context) on a server.
- ``open_notebook(server, path)`` (function): a new page with notebook ``path`` open, kernel idle.
- ``open_classic(server, path)`` (function): the same on a classic Notebook (nbclassic) server,
  driven through ``classic_page.ClassicNotebook``.
- ``notebook_name(stem)`` (function): a file name unique to this test.

Write tests as plain sync functions marked ``@pytest.mark.browser``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from support.harness import (
    BrowserServer,
    forget_playwright_loop,
    launch_chromium,
    park_playwright_loop,
    resume_playwright_loop,
    start_browser_server,
)
from support.ui import JupyterUI, NotebookPage, _slug

_UIS = pytest.StashKey[list[JupyterUI]]()


# -- pytest-jupyter and Playwright's event loop -------------------------------------------------
# pytest-jupyter's autouse fixtures would take Playwright's loop (left marked as running between
# sync calls) for theirs, close it and run the in-process server's cleanup on it. Browser tests
# use neither: give them a private loop and no in-process server cleanup.


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield


@pytest.fixture(autouse=True)
def _playwright_loop_guard() -> Iterator[None]:
    """Mark Playwright's loop running during a browser test only, so that tests that run later
    in the session (async tests of pytest-jupyter) find no running loop."""
    resume_playwright_loop()
    yield
    park_playwright_loop()


# -- browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Set up before the loop guard of the first browser test (session scope first), which
    # parks Playwright's loop when that test ends and resumes it around each later one.
    pw = sync_playwright().start()
    try:
        chromium = launch_chromium(pw)
    except BaseException:
        pw.stop()
        forget_playwright_loop()
        raise
    try:
        yield chromium
    finally:
        resume_playwright_loop()
        try:
            chromium.close()
        finally:
            pw.stop()
            forget_playwright_loop()


# -- servers --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserServer]:
    server = start_browser_server("lab", tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserServer]:
    server = start_browser_server("notebook", tmp_path_factory.mktemp("notebook"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def classic_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserServer]:
    server = start_browser_server("nbclassic", tmp_path_factory.mktemp("nbclassic"))
    yield server
    server.stop()


@pytest.fixture(params=["lab", "notebook"])
def any_server(request: pytest.FixtureRequest) -> BrowserServer:
    """Parametrizes a test over both UIs (the shared session servers)."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., BrowserServer]]:
    """``server_factory(app="lab", base_url="/", extra_args=(), user_settings=None, env=None)``:
    start a server of its own (stopped after the test)."""
    started: list[BrowserServer] = []

    def start(
        app: str = "lab",
        base_url: str = "/",
        extra_args: Sequence[str] = (),
        user_settings: dict[str, dict[str, Any]] | None = None,
        env: dict[str, str] | None = None,
    ) -> BrowserServer:
        server = start_browser_server(
            app, tmp_path_factory.mktemp(app), base_url, extra_args, user_settings, env
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# -- pages ----------------------------------------------------------------------------------------


@pytest.fixture
def jupyter_ui(
    browser: Any, server_factory: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[[BrowserServer], JupyterUI]]:
    """``jupyter_ui(server)``: a new page (own browser context and cookies) on ``server``.
    After the test: artifacts if it failed, page closed, sessions of the notebooks it opened
    deleted (their kernels shut down). It depends on ``server_factory`` only so that servers a
    test starts are stopped after its pages are closed."""
    uis = request.node.stash.setdefault(_UIS, [])

    def new(server: BrowserServer) -> JupyterUI:
        ui = JupyterUI.new(browser, server, name=request.node.nodeid)
        uis.append(ui)
        return ui

    yield new
    for ui in uis:
        ui.close()
    for ui in uis:
        ui.server.shutdown_sessions(ui.opened_paths)


@pytest.fixture
def open_notebook(jupyter_ui: Callable[[BrowserServer], JupyterUI]) -> Callable[..., NotebookPage]:
    """``open_notebook(server, path, wait_ready=True, timeout=KERNEL_TIMEOUT)``: a new page with
    notebook ``path`` open in the server's UI, its kernel idle."""

    def open_(server: BrowserServer, path: str, **kw: Any) -> NotebookPage:
        return jupyter_ui(server).goto_notebook(path, **kw)

    return open_


@pytest.fixture
def open_classic(jupyter_ui: Callable[[BrowserServer], JupyterUI]) -> Callable[..., Any]:
    """``open_classic(server, path, wait_ready=True, timeout=KERNEL_TIMEOUT)``: a new page with
    notebook ``path`` open in the classic Notebook UI of an nbclassic server, its kernel idle
    (a ``classic_page.ClassicNotebook``)."""
    from support.classic_page import ClassicNotebook

    def open_(server: BrowserServer, path: str, **kw: Any) -> ClassicNotebook:
        return ClassicNotebook.open(jupyter_ui(server), path, **kw)

    return open_


@pytest.fixture
def notebook_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``notebook_name("stem")`` -> ``"<test>-stem-<random>.ipynb"``: no two tests share a file
    (nor its session) on the shared servers."""

    def name(stem: str = "nb") -> str:
        return f"{_slug(request.node.name)[:60]}-{stem}-{uuid.uuid4().hex[:6]}.ipynb"

    return name


# -- artifacts on failure -------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    uis = item.stash.get(_UIS, [])
    if not uis:
        return
    resume_playwright_loop()
    lines = []
    for ui in uis:
        if not ui.artifacts:  # a harness check that failed has saved them already
            try:
                ui.save_artifacts("test-failed")
            except Exception as e:  # never hide the test's own failure
                lines.append(f"(could not save artifacts: {e})")
        lines.extend(str(p) for p in ui.artifacts)
    report.sections.append(("browser artifacts", "\n".join(lines)))
