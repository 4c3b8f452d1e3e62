"""The README's quick start, run as a new user runs it.

The command between the ``quickstart:run`` markers of README.md runs exactly as written
(``bash -c``, from the repository root) in a fresh virtual environment, with a private HOME and
no Jupyter variables of this machine. Only configuration makes it headless: a private
``JUPYTER_CONFIG_DIR`` (loopback, a free port, a token, no browser, root allowed) and
``BROWSER=true``. What enables the extension is what ``pip install`` wrote into the venv.

The tests then check, against the server that command started: JupyterLab's page, opened on
``examples/index.ipynb``; a Python kernel that runs code; the extension, loaded.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKERS = ("<!-- quickstart:run -->", "<!-- /quickstart:run -->")
NOTEBOOK = ROOT / "examples" / "index.ipynb"  # what the command opens

INSTALL_TIMEOUT = 600.0  # from the start until a `jupyter` process runs (venv + pip install)
STARTUP_TIMEOUT = 120.0  # from then until the server answers
IO_TIMEOUT = 30.0  # each HTTP request, websocket connect, wait for a kernel reply
STOP_TIMEOUT = 20.0

# The bounded waits above fail first, with their own messages.
pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT + STARTUP_TIMEOUT + 240)


def readme_command() -> str:
    text = README.read_text(encoding="utf-8")
    start, end = MARKERS
    assert text.count(start) == 1 and text.count(end) == 1, (
        f"README.md must hold one {start} ... {end} block around the quick start command"
    )
    block = text.split(start, 1)[1].split(end, 1)[0]
    m = re.fullmatch(r"\s*```[a-z]*\n(.*?)\n```\s*", block, re.S)
    assert m, f"between the README markers: one fenced code block, got {block!r}"
    command = m.group(1).strip()
    assert command and "\n" not in command, f"the quick start is one line, got {command!r}"
    return command


def clean_path(venv_bin: Path) -> str:
    """The venv's bin, then this machine's PATH without the directories that hold Jupyter
    commands: `jupyter lab` must find `jupyter-lab` in the venv or not at all."""
    keep = [str(venv_bin)]
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        try:
            has_jupyter = entry and any(Path(entry).glob("jupyter*"))
        except OSError:
            has_jupyter = False
        if entry and not has_jupyter and entry not in keep:
            keep.append(entry)
    return os.pathsep.join(keep)


def pip_settings() -> dict[str, str]:
    """This user's pip cache and config files, which a private HOME would hide."""
    out: dict[str, str] = {}
    try:
        cache = subprocess.run(
            [sys.executable, "-m", "pip", "cache", "dir"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if cache.returncode == 0 and cache.stdout.strip():
            out["PIP_CACHE_DIR"] = cache.stdout.strip().splitlines()[-1]
    except (OSError, subprocess.TimeoutExpired):
        pass
    home = Path(os.path.expanduser("~"))
    for conf in (home / ".config" / "pip" / "pip.conf", home / ".pip" / "pip.conf"):
        if "PIP_CONFIG_FILE" not in os.environ and conf.is_file():
            out["PIP_CONFIG_FILE"] = str(conf)
            break
    out.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    out.setdefault("PIP_NO_INPUT", "1")
    return out


def page_config(page: str) -> dict[str, Any]:
    """The ``jupyter-config-data`` of a JupyterLab page."""
    m = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S
    )
    return json.loads(m.group(1)) if m else {}


@dataclass(repr=False)
class QuickStart:
    """The README command running in its own session, and what it started."""

    command: str
    root: Path
    venv: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    proc: subprocess.Popen[bytes] | None = None
    problem: str | None = None  # why no server answered, if none did
    server_info: dict[str, Any] = field(default_factory=dict)
    started: list[psutil.Process] = field(default_factory=list)
    _kernel_id: str | None = None

    def __repr__(self) -> str:  # short, for pytest's assertion messages
        return f"QuickStart({self.command!r}, port={self.port})"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def runtime_dir(self) -> Path:
        return self.home / ".local" / "share" / "jupyter" / "runtime"

    @property
    def log_path(self) -> Path:
        return self.root / "quickstart.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def log(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        return "\n".join(text.splitlines()[-lines:])

    def env(self) -> dict[str, str]:
        drop = ("JUPYTER", "XDG_", "VIRTUAL_ENV", "CONDA", "PYTHONPATH", "PYTHONHOME", "PYTHONUSER")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        config_dir = self.root / "jupyter-config"
        config_dir.mkdir(exist_ok=True)
        config = {
            "ServerApp": {
                "ip": "127.0.0.1",
                "port": self.port,
                "port_retries": 0,
                "open_browser": False,
                "allow_root": True,
            },
            "IdentityProvider": {"token": self.token},
        }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config, indent=1))
        self.home.mkdir(exist_ok=True)
        env.update(pip_settings())
        env.update(
            HOME=str(self.home),
            PATH=clean_path(self.venv / "bin"),
            VIRTUAL_ENV=str(self.venv),
            JUPYTER_CONFIG_DIR=str(config_dir),
            BROWSER="true",
        )
        return env

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        env = self.env()
        subprocess.run(
            [sys.executable, "-m", "venv", str(self.venv)],
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )
        found = shutil.which("jupyter-lab", path=env["PATH"])
        assert found is None, f"jupyter-lab is on the test's PATH before the install: {found}"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            ["bash", "-c", self.command],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.problem = self._wait_for_server()

    def _tree(self) -> list[psutil.Process]:
        assert self.proc is not None
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def _jupyter_running(self) -> bool:
        for p in self._tree():
            try:
                if any(Path(a).name.startswith("jupyter") for a in p.cmdline()[:2]):
                    return True
            except psutil.Error:
                pass
        return False

    def _wait_for_server(self) -> str | None:
        """None once the command's server answers; otherwise why not."""
        assert self.proc is not None
        start = time.monotonic()
        deadline = start + INSTALL_TIMEOUT
        jupyter_seen = False
        while True:
            self.started = list({p.pid: p for p in self.started + self._tree()}.values())
            if self.proc.poll() is not None:
                return f"the README command exited with code {self.proc.returncode}"
            if not jupyter_seen and self._jupyter_running():
                jupyter_seen = True
                deadline = time.monotonic() + STARTUP_TIMEOUT
            info = self._server_info()
            if info is not None:
                self.server_info = info
                try:
                    status, body = self.get("api/status")
                except OSError:  # not listening yet
                    pass
                else:
                    return None if status == 200 else f"GET api/status gave HTTP {status}: {body}"
            if time.monotonic() > deadline:
                if jupyter_seen:
                    return f"no server answered on port {self.port} within {STARTUP_TIMEOUT:.0f}s"
                return f"no `jupyter` process started within {INSTALL_TIMEOUT:.0f}s (pip install)"
            time.sleep(0.5)  # polling a process that has no readiness event

    def _server_info(self) -> dict[str, Any] | None:
        for path in self.runtime_dir.glob("jpserver-*.json"):
            try:
                info = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if info.get("port") == self.port:
                return info
        return None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.started = list({p.pid: p for p in self.started + self._tree()}.values())
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the server shuts its kernels down
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(5)
        _, alive = psutil.wait_procs(self.started, timeout=STOP_TIMEOUT)
        for p in alive:  # kernels run in sessions of their own
            try:
                p.kill()
            except psutil.Error:
                pass

    # -- talking to the server -------------------------------------------------------------------

    def require_server(self) -> None:
        if self.problem is None:
            return
        tail = self.log(lines=25)
        last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
        raise AssertionError(  # raised, not asserted: pytest would print the whole QuickStart
            f"{self.problem}: {last.strip()!r}\nThe quick start command of README.md, run exactly"
            f" as written in a fresh venv:\n    {self.command}\ndid not start a Jupyter server."
            f" Its output ends with:\n{tail}"
        )

    def get(self, path: str, token: bool = True) -> tuple[int, str]:
        req = urllib.request.Request(self.url + path)
        if token:
            req.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=IO_TIMEOUT) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def post(self, path: str, body: Any) -> tuple[int, str]:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        req.add_header("Authorization", f"token {self.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=IO_TIMEOUT) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def kernel_id(self) -> str:
        """A python3 kernel of the server (started on first use)."""
        if self._kernel_id is None:
            status, body = self.post("api/kernels", {"name": "python3"})
            _, specs = self.get("api/kernelspecs")
            assert status == 201, (
                f"POST api/kernels for python3 gave HTTP {status}: {body[:2000]}\n"
                f"the server's kernelspecs: {specs[:2000]}\nserver log:\n{self.log()}"
            )
            self._kernel_id = str(json.loads(body)["id"])
        return self._kernel_id

    async def websocket(self, path: str, **headers: str) -> WebSocketClientConnection:
        request = HTTPRequest(
            f"ws://127.0.0.1:{self.port}/{path}",
            headers=headers,
            connect_timeout=IO_TIMEOUT,
            request_timeout=IO_TIMEOUT,
        )
        return await asyncio.wait_for(websocket_connect(request), IO_TIMEOUT)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickStart]:
    root = tmp_path_factory.mktemp("quickstart")
    run = QuickStart(readme_command(), root, root / "venv")
    try:
        run.start()
        yield run
    finally:
        run.stop()


def test_quick_start_serves_jupyterlab_on_the_index_notebook(quickstart: QuickStart) -> None:
    quickstart.require_server()
    info = quickstart.server_info
    try:
        server = psutil.Process(int(info["pid"]))
        cmdline, sid = server.cmdline(), os.getsid(server.pid)
    except (psutil.Error, OSError) as e:
        raise AssertionError(f"the server of {info} is not running: {e}") from e
    assert sid == quickstart.proc.pid and cmdline[0].startswith(str(quickstart.venv)), (
        f"the server on port {quickstart.port} is not the venv's, started by the README command:"
        f" {cmdline}"
    )

    status, page = quickstart.get(f"lab?token={quickstart.token}", token=False)
    config = page_config(page)
    assert status == 200 and config.get("appName") == "JupyterLab", (
        f"GET /lab gave HTTP {status}, not JupyterLab's page (appName {config.get('appName')!r})"
    )

    # With a file argument, jupyter_server serves the file's folder (unless told otherwise) and
    # writes the URL it opens (or would open in a browser) to jpserver-file-to-run-<pid>-open.html.
    root_dir = Path(info["root_dir"]).resolve()
    assert NOTEBOOK.resolve().is_relative_to(root_dir), (
        f"the server serves {root_dir}, which does not hold {NOTEBOOK}"
    )
    relpath = NOTEBOOK.resolve().relative_to(root_dir).as_posix()
    open_file = quickstart.runtime_dir / f"jpserver-file-to-run-{info['pid']}-open.html"
    assert open_file.is_file(), (
        f"the server was given no file to open (no {open_file.name}): the README command should"
        f" open {NOTEBOOK.relative_to(ROOT)}"
    )
    m = re.search(r'url=([^"]+)"', open_file.read_text())
    open_url = html.unescape(m.group(1)) if m else ""
    assert open_url.startswith(f"{quickstart.url}lab/tree/{relpath}?"), (
        f"the server opens {open_url!r}, not lab/tree/{relpath}"
    )
    status, page = quickstart.get(open_url[len(quickstart.url) :], token=False)
    config = page_config(page)
    assert status == 200 and config.get("treePath") == relpath, (
        f"GET {open_url} gave HTTP {status}, treePath {config.get('treePath')!r}; want {relpath!r}"
    )

    status, body = quickstart.get(f"api/contents/{relpath}")
    assert status == 200, f"GET api/contents/{relpath} gave HTTP {status}: {body[:500]}"
    served = [c["source"] for c in json.loads(body)["content"]["cells"]]
    on_disk = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]]
    assert served == on_disk, f"api/contents/{relpath} is not {NOTEBOOK}"


def legacy_msg(msg_type: str, content: dict[str, Any], session: str) -> dict[str, Any]:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "username": "quickstart",
        "session": session,
        "date": datetime.now(timezone.utc).isoformat(),
        "version": "5.3",
    }
    return {
        "channel": "shell",
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "buffers": [],
    }


async def execute(run: QuickStart, kernel_id: str, code: str) -> tuple[str, list[str]]:
    """Run ``code`` over the kernel's own websocket: (its stdout, what else came back)."""
    session = uuid.uuid4().hex
    conn = await run.websocket(
        f"api/kernels/{kernel_id}/channels?session_id={session}",
        Authorization=f"token {run.token}",
    )
    request = legacy_msg(
        "execute_request",
        {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        session,
    )
    conn.write_message(json.dumps(request))
    stdout, seen = "", []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IO_TIMEOUT
    try:
        while True:
            try:
                frame = await asyncio.wait_for(conn.read_message(), deadline - loop.time())
            except asyncio.TimeoutError:
                seen.append(f"(nothing more within {IO_TIMEOUT:.0f}s)")
                return stdout, seen
            if frame is None:
                seen.append(f"(websocket closed: {conn.close_code} {conn.close_reason})")
                return stdout, seen
            if isinstance(frame, bytes):
                continue
            msg = json.loads(frame)
            if msg.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                continue
            msg_type, content = msg["header"]["msg_type"], msg["content"]
            seen.append(f"{msg['channel']}/{msg_type}: {json.dumps(content)[:300]}")
            if msg_type == "stream" and content.get("name") == "stdout":
                stdout += content["text"]
            if msg_type == "status" and content.get("execution_state") == "idle":
                return stdout, seen
    finally:
        conn.close()


def test_quick_start_kernel_runs_code(quickstart: QuickStart) -> None:
    quickstart.require_server()
    kernel_id = quickstart.kernel_id()
    stdout, seen = asyncio.run(execute(quickstart, kernel_id, "print(6*7)"))
    assert stdout.strip() == "42", (
        f"print(6*7) on the python3 kernel printed {stdout!r}; messages:\n" + "\n".join(seen)
    )


async def bridge_hello(run: QuickStart, kernel_id: str) -> dict[str, Any]:
    path = (
        f"comm-bridge/kernels/{kernel_id}/channels"
        f"?session_id={uuid.uuid4().hex}&resumable=1&token={run.token}"
    )
    try:
        conn = await run.websocket(path)
    except HTTPClientError as e:
        raise AssertionError(f"the bridge websocket /{path.split('?')[0]} was refused: {e}") from e
    try:
        frame = await asyncio.wait_for(conn.read_message(), IO_TIMEOUT)
    finally:
        conn.close()
    assert isinstance(frame, str), f"the bridge's first frame: {frame!r}"
    return json.loads(frame)


def test_quick_start_loads_the_extension(quickstart: QuickStart) -> None:
    quickstart.require_server()
    status, body = quickstart.get("comm-bridge/client/0/pycomm.js")
    assert status == 200 and "pycomm" in body, (
        f"GET /comm-bridge/client/0/pycomm.js gave HTTP {status}: the extension is not"
        f" loaded\nserver log:\n{quickstart.log()}"
    )
    hello = asyncio.run(bridge_hello(quickstart, quickstart.kernel_id()))
    assert (hello.get("channel"), hello.get("header", {}).get("msg_type")) == (
        "bridge",
        "bridge_hello",
    ), f"the bridge websocket opened, but its first frame is not bridge_hello: {hello}"
    log = quickstart.log(lines=100_000)
    assert "jupyter_comm_bridge | extension was successfully loaded" in log, (
        f"the server log does not say the extension loaded:\n{quickstart.log()}"
    )
