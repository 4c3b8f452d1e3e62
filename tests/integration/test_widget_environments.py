"""A kernelspec's Jupyter data paths, from its interpreter (widgets/environments.py).

Real interpreters (this one, and venvs made here in a tenth of a second) and small scripts
named like interpreters that answer as the probe would, or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import venv
from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyter_server.gateway.managers import GatewayKernelManager, GatewayKernelSpecManager

from jupyter_comm_bridge.widgets.libraries import environments as environments_module
from jupyter_comm_bridge.widgets.libraries.environments import (
    KernelEnvironments,
    interpreter,
    spec_environ,
)

LOG = logging.getLogger("test")


class Specs:
    """A kernelspec manager holding kernelspecs made in the test."""

    def __init__(self) -> None:
        self.specs: dict[str, SimpleNamespace] = {}

    def add(
        self, name: str, argv: list[str], env: dict | None = None, metadata: dict | None = None
    ):
        self.specs[name] = SimpleNamespace(argv=argv, env=env or {}, metadata=metadata or {})

    def get_kernel_spec(self, name: str) -> SimpleNamespace:
        return self.specs[name]


def script(path: Path, body: str) -> str:
    """An executable shell script at ``path`` (named like an interpreter)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def answering(path: Path, paths: str, runs: Path) -> str:
    """An 'interpreter' that notes each run and prints the probe's answer after some noise."""
    return script(
        path, f'echo run >> "{runs}"\necho "noise from sitecustomize"\necho \'{paths}\'\n'
    )


def test_interpreters():
    major, minor = sys.version_info[:2]
    for name in ("python", f"python{major}", f"python{major}.{minor}"):
        assert interpreter(name) == sys.executable
    for path in ("/opt/env/bin/python3.12", "/e/bin/python", "/e/bin/python.exe", "pypy3"):
        assert interpreter(path) == path
    assert interpreter("/e/bin/python3.13t") == "/e/bin/python3.13t"
    for path in ("R", "/usr/bin/deno", "xpython", "/e/bin/ipython", "java", ""):
        assert interpreter(path) is None


def test_the_kernelspec_env_is_applied(monkeypatch):
    monkeypatch.setenv("SERVER_VAR", "s")
    monkeypatch.setenv("PYTHONEXECUTABLE", "/elsewhere/python")
    env = spec_environ({"JUPYTER_PATH": "/extra/${SERVER_VAR}:${UNSET}", "OTHER": "o"})
    assert env["JUPYTER_PATH"] == "/extra/s:${UNSET}"
    assert env["OTHER"] == "o" and env["SERVER_VAR"] == "s"
    assert "PYTHONEXECUTABLE" not in env


async def test_a_venv_with_jupyter_core_and_the_kernelspec_env(tmp_path):
    prefix = tmp_path / "env"
    venv.EnvBuilder(system_site_packages=True, symlinks=True, with_pip=False).create(prefix)
    specs = Specs()
    specs.add("venv", [str(prefix / "bin" / "python"), "-m", "ipykernel_launcher"])
    specs.add("extra", [str(prefix / "bin" / "python")], {"JUPYTER_PATH": str(tmp_path / "x")})
    environments = KernelEnvironments(specs, 20, LOG)
    paths = (await environments.of_spec("venv")).paths
    # a venv prefers its own data path to the user's
    assert paths[0] == str(prefix / "share" / "jupyter"), paths
    extra = (await environments.of_spec("extra")).paths
    assert extra[0] == str(tmp_path / "x") and extra[1:] == paths


async def test_no_jupyter_core_there_and_nothing_from_the_working_directory(tmp_path, monkeypatch):
    prefix = tmp_path / "bare"
    venv.EnvBuilder(system_site_packages=False, symlinks=True, with_pip=False).create(prefix)
    # a jupyter_core in the server's working directory must not answer for the environment
    decoy = tmp_path / "cwd" / "jupyter_core"
    decoy.mkdir(parents=True)
    decoy.joinpath("__init__.py").write_text("")
    decoy.joinpath("paths.py").write_text("def jupyter_path():\n    return ['/decoy']\n")
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    specs = Specs()
    specs.add("bare", [str(prefix / "bin" / "python3")])
    found = await KernelEnvironments(specs, 20, LOG).of_spec("bare")
    assert found.paths == (str(prefix / "share" / "jupyter"),), found


async def test_asked_once_per_kernelspec(tmp_path):
    runs = tmp_path / "runs"
    answer = f'comm-bridge-jupyter-path:["{tmp_path}/share/jupyter", "relative/ignored"]'
    python = answering(tmp_path / "bin" / "python3", answer, runs)
    specs = Specs()
    specs.add("a", [python, "-m", "ipykernel_launcher"])
    specs.add("b", [python, "-m", "ipykernel_launcher"], {"V": "1"})
    environments = KernelEnvironments(specs, 20, LOG)
    found = await asyncio.gather(*(environments.of_spec("a") for _ in range(5)))
    assert {f.paths for f in found} == {(f"{tmp_path}/share/jupyter",)}
    await environments.of_spec("a")
    assert runs.read_text().count("run") == 1
    await environments.of_spec("b")  # another kernelspec: asked too
    assert runs.read_text().count("run") == 2
    # the same name with another argv (the kernelspec was changed): asked again
    specs.add("a", [python, "-m", "other_launcher"])
    await environments.of_spec("a")
    assert runs.read_text().count("run") == 3


async def test_failures_say_why_and_are_retried_later(tmp_path, monkeypatch):
    specs = Specs()
    specs.add("slow", [script(tmp_path / "slow" / "python", "exec sleep 30\n")])
    specs.add("broken", [script(tmp_path / "broken" / "python", "echo oops >&2\nexit 3\n")])
    specs.add("silent", [script(tmp_path / "silent" / "python", "echo hello\n")])
    specs.add("missing", [str(tmp_path / "nowhere" / "python3")])
    specs.add("r", ["R", "--slave", "-e", "IRkernel::main()"])
    environments = KernelEnvironments(specs, 0.5, LOG)
    started = time.monotonic()
    assert "did not answer within 0.5 s" in (await environments.of_spec("slow")).why
    assert time.monotonic() - started < 5
    assert "exited with 3: oops" in (await environments.of_spec("broken")).why
    assert "no data paths" in (await environments.of_spec("silent")).why
    assert "could not run" in (await environments.of_spec("missing")).why
    assert "does not run a Python interpreter" in (await environments.of_spec("r")).why
    assert "there is no kernelspec" in (await environments.of_spec("gone")).why
    # fixed meanwhile: seen once RETRY_AFTER has passed
    answering(tmp_path / "broken" / "python", 'comm-bridge-jupyter-path:["/ok"]', tmp_path / "r")
    assert (await environments.of_spec("broken")).why  # still the remembered failure
    monkeypatch.setattr(environments_module, "RETRY_AFTER", 0.0)
    assert (await environments.of_spec("broken")).paths == ("/ok",)


async def test_nb_conda_kernels_and_other_provisioners(tmp_path):
    runs = tmp_path / "runs"
    conda_env = tmp_path / "envs" / "widgets"
    answering(conda_env / "bin" / "python", 'comm-bridge-jupyter-path:["/conda/env"]', runs)
    specs = Specs()
    # as nb_conda_kernels makes them: its runner, run by the server's python, then the env's argv
    runner = ["python", "-m", "nb_conda_kernels.runner", "/conda", str(conda_env)]
    metadata = {"conda_env_name": "widgets", "conda_env_path": str(conda_env)}
    specs.add("conda-env-widgets-py", [*runner, "python", "-m", "ipykernel_launcher"], {}, metadata)
    docker = {"kernel_provisioner": {"provisioner_name": "docker-provisioner", "config": {}}}
    specs.add("docker", [sys.executable, "-m", "launcher"], {}, docker)
    local = {"kernel_provisioner": {"provisioner_name": "local-provisioner"}}
    specs.add("local", [sys.executable, "-m", "ipykernel_launcher"], {}, local)
    environments = KernelEnvironments(specs, 20, LOG)
    assert (await environments.of_spec("conda-env-widgets-py")).paths == ("/conda/env",)
    assert "starts kernels with docker-provisioner" in (await environments.of_spec("docker")).why
    assert (await environments.of_spec("local")).paths


async def test_kernels_behind_a_gateway_have_none(tmp_path):
    specs = Specs()
    specs.add("python3", [sys.executable])
    local = KernelEnvironments(specs, 20, LOG)
    gateway_kernel = GatewayKernelManager.__new__(GatewayKernelManager)
    assert "kernel gateway" in (await local.of_kernel(gateway_kernel)).why
    gateway_specs = GatewayKernelSpecManager.__new__(GatewayKernelSpecManager)
    remote = KernelEnvironments(gateway_specs, 20, LOG)
    assert "kernel gateway" in (await remote.of_spec("python3")).why
    assert "kernel gateway" in (await remote.of_kernel(SimpleNamespace(kernel_name="x"))).why


@pytest.mark.parametrize("name", ["python3"])
async def test_this_python(name):
    specs = Specs()
    specs.add(name, [name, "-m", "ipykernel_launcher"])
    found = await KernelEnvironments(specs, 20, LOG).of_spec(name)
    assert found.paths and not found.why
