"""Fixtures: a real Jupyter server with the extension, real ipykernel kernels."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from support.kernelws import Bridge, Page
from support.snippets import ECHO_TARGET


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}}})


@pytest.fixture
def kernel_id(jp_fetch: Any, jp_asyncio_loop: Any) -> Iterator[str]:
    """A running ipykernel, started through the kernels API."""

    async def start() -> str:
        r = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
        return json.loads(r.body)["id"]

    kid = jp_asyncio_loop.run_until_complete(start())
    yield kid


@pytest.fixture
def bridge(jp_ws_fetch: Any, kernel_id: str) -> Callable[..., Awaitable[Bridge]]:
    """Connect a bridge client to the kernel: ``await bridge(protocol="v1")`` (``cls``:
    ``StandardBridge`` for one without the resume layer)."""

    async def connect(
        protocol: str = "v1", kid: str | None = None, cls: type[Bridge] = Bridge, **kw: Any
    ) -> Bridge:
        path = ("comm-bridge", "kernels", kid or kernel_id, "channels")
        return await cls.connect(jp_ws_fetch, *path, protocol=protocol, **kw)

    return connect


@pytest.fixture
def page(jp_ws_fetch: Any, kernel_id: str, jp_http_port: int) -> Callable[..., Awaitable[Page]]:
    """Connect a JupyterLab-like page to the kernel's own channels (a browser's, with the
    ``Origin`` of the server's own pages)."""

    async def connect(protocol: str = "v1", kid: str | None = None, **kw: Any) -> Page:
        path = ("api", "kernels", kid or kernel_id, "channels")
        kw.setdefault("headers", {"Origin": f"http://localhost:{jp_http_port}"})
        return await Page.connect(jp_ws_fetch, *path, protocol=protocol, **kw)

    return connect


@pytest.fixture
def echo_kernel(page: Callable[..., Awaitable[Page]]) -> Callable[..., Awaitable[Page]]:
    """A page whose kernel has an ``echo`` comm target that records what it got."""

    async def setup(protocol: str = "v1") -> Page:
        p = await page(protocol)
        await p.execute(ECHO_TARGET)
        return p

    return setup


@pytest.fixture
def no_subshells_kernel(jp_data_dir: Path) -> str:
    """A kernelspec for ipykernel with the "kernel subshells" feature taken out."""
    spec = jp_data_dir / "kernels" / "nosubshells"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "nosubshells_kernel", "-f", "{connection_file}"]
    env = {"PYTHONPATH": str(Path(__file__).parent / "support" / "kernels")}
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "no subshells", "language": "python", "env": env})
    )
    return "nosubshells"
