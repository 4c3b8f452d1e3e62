"""The Jupyter data paths of a kernel's environment, and of the server's.

A widget library installed in a kernel's environment (a venv or conda env registered as a
kernelspec) has its frontend code under that environment's ``share/jupyter``. Which data paths
the environment has is what its own ``jupyter_core.paths.jupyter_path()`` answers (a venv
prefers its own over the user's, ``JUPYTER_PATH`` comes first, ...), so the kernelspec's
interpreter is asked once, with the kernelspec's ``env``, and the answer kept per kernelspec:
nothing runs inside the kernel, and a kernel need not be running.

Kernelspecs whose ``argv[0]`` is not a Python interpreter (IRkernel, Deno, xeus) and kernels
behind a kernel gateway (their environment is on another machine) have no kernel environment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from string import Template
from typing import Any, Protocol

from jupyter_core.paths import jupyter_path
from jupyter_core.utils import ensure_async
from jupyter_server.gateway.managers import GatewayKernelManager, GatewayKernelSpecManager

from ...wire.bounded import Recent

#: What the interpreter runs. The working directory is taken off ``sys.path`` first, so that
#: no file where the server runs is imported; the answer follows a marker, so that whatever a
#: ``sitecustomize`` prints before it does not matter.
MARKER = "comm-bridge-jupyter-path:"
PROBE = f"""\
import json, os, sys
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]
try:
    from jupyter_core.paths import jupyter_path
    paths = jupyter_path()
except Exception:
    paths = [os.path.join(sys.prefix, "share", "jupyter")]
sys.stdout.write("\\n{MARKER}" + json.dumps(paths) + "\\n")
"""
#: Bytes of the probe's output read at most (a few paths are a few hundred bytes).
OUTPUT_LIMIT = 1024 * 1024
#: Seconds before a failed probe is tried again (a fixed environment is seen soon; a broken
#: one does not cost a process per request).
RETRY_AFTER = 30.0
#: Kernelspecs (and their versions) remembered.
SPEC_LIMIT = 256
LOCAL_PROVISIONER = "local-provisioner"
#: Interpreter names: python, python3, python3.12, python3.13t, pythonw, pypy3, python.exe.
PYTHON_NAME = re.compile(r"(python|pypy)(\d+(\.\d+)?)?t?w?(\.exe)?", re.IGNORECASE)


@dataclass(frozen=True)
class Environment:
    """A kernel environment's Jupyter data paths, or why there are none (``why``)."""

    paths: tuple[str, ...] = ()
    why: str = ""


class KernelSpec(Protocol):
    """jupyter_client's ``KernelSpec``, as far as this module reads it."""

    argv: list[str]
    env: dict[str, str]
    metadata: dict[str, Any]


class KernelSpecManager(Protocol):
    def get_kernel_spec(self, kernel_name: str) -> Any: ...


class ProbeFailed(Exception):
    """The interpreter did not answer with data paths."""


def interpreter(argv0: str) -> str | None:
    """The Python interpreter a kernelspec's ``argv[0]`` names, or None.

    ``python``, ``python3`` and ``python3.N`` (this server's N) are ``sys.executable``, as
    jupyter_client's ``KernelManager`` launches them."""
    major, minor = sys.version_info[:2]
    if argv0 in ("python", f"python{major}", f"python{major}.{minor}"):
        return sys.executable
    if PYTHON_NAME.fullmatch(os.path.basename(argv0)):
        return argv0
    return None


def elsewhere(spec: KernelSpec) -> str:
    """The kernel provisioner a kernelspec names, when it is not jupyter_client's local one
    (a provisioner that starts kernels in containers or on other hosts: their environment is
    not the one ``argv[0]`` finds here); "" otherwise."""
    metadata = spec.metadata if isinstance(spec.metadata, dict) else {}
    provisioner = metadata.get("kernel_provisioner")
    name = provisioner.get("provisioner_name") if isinstance(provisioner, dict) else None
    return name if isinstance(name, str) and name != LOCAL_PROVISIONER else ""


def spec_interpreter(spec: KernelSpec) -> str | None:
    """The interpreter whose data paths are the kernel's: ``argv[0]``'s, or, for the
    kernelspecs nb_conda_kernels makes (``argv[0]`` its runner, run by the server's Python),
    that of the conda environment it names (``metadata.conda_env_path``)."""
    executable = interpreter(spec.argv[0] if spec.argv else "")
    metadata = spec.metadata if isinstance(spec.metadata, dict) else {}
    conda_env = metadata.get("conda_env_path")
    if executable is not None and isinstance(conda_env, str) and conda_env:
        python = os.path.join(conda_env, "python.exe" if os.name == "nt" else "bin/python")
        if os.path.isfile(python):
            return python
    return executable


def spec_environ(spec_env: dict[str, str]) -> dict[str, str]:
    """The environment a kernel of this kernelspec gets: the server's, with the kernelspec's
    ``env`` (``${VAR}`` filled from the server's), as jupyter_client's provisioner does."""
    env = dict(os.environ)
    env.update({k: Template(v).safe_substitute(os.environ) for k, v in spec_env.items()})
    env.pop("PYTHONEXECUTABLE", None)
    return env


def server_paths() -> tuple[str, ...]:
    """The server's own Jupyter data paths."""
    return tuple(jupyter_path())


async def _read_all(stream: asyncio.StreamReader | None, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while stream is not None and (chunk := await stream.read(64 * 1024)):
        size += len(chunk)
        if size > limit:
            raise ProbeFailed(f"more than {limit} bytes of output")
        chunks.append(chunk)
    return b"".join(chunks)


def _paths_in(output: bytes) -> tuple[str, ...]:
    for line in reversed(output.decode("utf-8", "replace").splitlines()):
        if line.startswith(MARKER):
            try:
                paths = json.loads(line[len(MARKER) :])
            except ValueError:
                break
            if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
                return tuple(p for p in paths if os.path.isabs(p))
    raise ProbeFailed("no data paths in its output")


async def _communicate(process: asyncio.subprocess.Process) -> tuple[bytes, bytes, int]:
    output, errors = await asyncio.gather(
        _read_all(process.stdout, OUTPUT_LIMIT), _read_all(process.stderr, OUTPUT_LIMIT)
    )
    return output, errors, await process.wait()


async def probe(executable: str, env: dict[str, str], timeout: float) -> tuple[str, ...]:
    """Run ``executable`` once to print its ``jupyter_path()``."""
    try:
        process = await asyncio.create_subprocess_exec(
            executable,
            "-c",
            PROBE,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except OSError as e:
        raise ProbeFailed(f"could not run {executable}: {e.strerror or e}") from e
    try:
        output, errors, code = await asyncio.wait_for(_communicate(process), timeout)
    except asyncio.TimeoutError as e:
        raise ProbeFailed(f"{executable} did not answer within {timeout:g} s") from e
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if code != 0:
        last = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise ProbeFailed(f"{executable} exited with {code}: {last[0][:200]}")
    return _paths_in(output)


@dataclass
class _Probe:
    task: asyncio.Future[tuple[str, ...]]
    started: float


class KernelEnvironments:
    """The data paths of kernelspecs' environments, each learned once.

    Owned by the extension. Requests for a kernelspec whose probe is running wait for that
    probe; a failed probe is retried after ``RETRY_AFTER`` seconds.
    """

    def __init__(self, spec_manager: KernelSpecManager, timeout: float, log: logging.Logger):
        self.spec_manager = spec_manager
        self.timeout = timeout
        self.log = log
        self._probes: Recent[tuple[Any, ...], _Probe] = Recent(SPEC_LIMIT)
        self._warming: set[asyncio.Future[Environment]] = set()

    def warm(self, name: str) -> None:
        """Learn the kernelspec's data paths now (a kernel of it is starting), so that its
        first widget module is found without waiting for the interpreter."""
        task = asyncio.ensure_future(self.of_spec(name))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    def close(self) -> None:
        """Stop the probes still running (their processes are killed)."""
        for warming in self._warming:
            warming.cancel()
        for key in self._probes:
            known = self._probes.get(key)
            if known is not None:
                known.task.cancel()

    @property
    def behind_gateway(self) -> bool:
        """Whether the server's kernelspecs are a kernel gateway's (kernels elsewhere)."""
        return isinstance(self.spec_manager, GatewayKernelSpecManager)

    async def of_kernel(self, kernel: Any) -> Environment:
        """The environment of a running kernel (one of the server's kernel managers)."""
        if isinstance(kernel, GatewayKernelManager) or self.behind_gateway:
            return Environment(why="the kernel runs behind a kernel gateway")
        return await self.of_spec(str(kernel.kernel_name))

    async def of_spec(self, name: str) -> Environment:
        """The environment of the kernelspec ``name``."""
        if self.behind_gateway:
            return Environment(why="the kernelspecs are a kernel gateway's")
        try:
            spec: KernelSpec = await ensure_async(self.spec_manager.get_kernel_spec(name))
        except KeyError:
            return Environment(why=f"there is no kernelspec {name}")
        except Exception as e:  # a kernel.json that does not parse, a missing directory
            self.log.warning("comm-bridge: kernelspec %s unreadable: %s", name, e)
            return Environment(why=f"the kernelspec {name} could not be read")
        provisioner = elsewhere(spec)
        if provisioner:
            return Environment(why=f"the kernelspec {name} starts kernels with {provisioner}")
        executable = spec_interpreter(spec)
        if executable is None:
            return Environment(why=f"the kernelspec {name} does not run a Python interpreter")
        env = spec_environ(dict(spec.env or {}))
        try:
            paths = await self._paths(name, executable, spec, env)
        except ProbeFailed as e:
            return Environment(why=f"the data paths of the kernelspec {name} are unknown: {e}")
        return Environment(paths=paths)

    async def _paths(
        self, name: str, executable: str, spec: KernelSpec, env: dict[str, str]
    ) -> tuple[str, ...]:
        key = (name, executable, tuple(spec.argv), tuple(sorted((spec.env or {}).items())))
        known = self._probes.get(key)
        now = time.monotonic()
        failed = (
            known is not None
            and known.task.done()
            and (known.task.cancelled() or known.task.exception() is not None)
        )
        if known is None or (failed and now - known.started > RETRY_AFTER):
            known = _Probe(asyncio.ensure_future(self._probe(name, executable, env)), now)
            self._probes.add(key, known)
        # shielded: one request going away does not cancel the probe the others wait for
        return await asyncio.shield(known.task)

    async def _probe(self, name: str, executable: str, env: dict[str, str]) -> tuple[str, ...]:
        started = time.monotonic()
        try:
            paths = await probe(executable, env, self.timeout)
        except ProbeFailed as e:
            self.log.warning("comm-bridge: data paths of kernelspec %s: %s", name, e)
            raise
        self.log.debug(
            "comm-bridge: kernelspec %s has data paths %s (%.0f ms)",
            name,
            paths,
            (time.monotonic() - started) * 1000,
        )
        return paths
