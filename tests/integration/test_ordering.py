"""A reply reflects every message the same client sent before the request, in every mode.

With kernel subshells a client's messages can go to several shells, which run at the
same time; the relay keeps them in the client's order (jupyter_comm_bridge/ordering.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from traitlets.config import Config

from support.kernelws import Bridge, Page

MODES = ["off", "per-target", "per-comm"]

# Two targets whose open handlers take a while: a request that overtakes the opens sees
# neither comm.
SLOW_TARGETS = """
import time, threading
from comm import get_comm_manager
main_thread = {}
def _slow_open(comm, msg):
    time.sleep(0.3)
    main_thread[comm.comm_id] = threading.current_thread() is threading.main_thread()
for _t in ("ci_target", "ci_other"):
    get_comm_manager().register_target(_t, _slow_open)
"""


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> Config:
    mode = getattr(request, "param", "off")
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
            "CommBridgeApp": {"reconnect_window": 0.5, "comm_subshells": mode},
        }
    )


each_mode = pytest.mark.parametrize("jp_server_config", MODES, indirect=True)


async def connect(jp_fetch: Any, jp_ws_fetch: Any, kernel: str = "python3") -> tuple[Page, Bridge]:
    r = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": kernel}))
    kid = json.loads(r.body)["id"]
    page = await Page.connect(jp_ws_fetch, "api", "kernels", kid, "channels")
    await page.execute(SLOW_TARGETS)
    client = await Bridge.connect(jp_ws_fetch, "comm-bridge", "kernels", kid, "channels")
    return page, client


async def comms_listed(client: Bridge, target_name: str | None = None) -> dict[str, Any]:
    content = {} if target_name is None else {"target_name": target_name}
    reply = await client.request("comm_info_request", content)
    assert reply["header"]["msg_type"] == "comm_info_reply", reply
    return dict(reply["content"]["comms"])


async def check_requests_after_opens(page: Page, client: Bridge) -> None:
    first = await client.open_comm("ci_target")
    second = await client.open_comm("ci_other")
    listed = await comms_listed(client)
    assert first in listed and second in listed, listed
    third = await client.open_comm("ci_target")
    fourth = await client.open_comm("ci_other")
    listed = await comms_listed(client, "ci_target")
    assert first in listed and third in listed, listed
    assert fourth not in listed  # filtered: the other target's comm is not listed...
    assert fourth in await comms_listed(client, "ci_other")  # ...but it is open


@each_mode
async def test_comm_info_lists_the_comms_the_client_opened_before(jp_fetch, jp_ws_fetch):
    page, client = await connect(jp_fetch, jp_ws_fetch)
    await check_requests_after_opens(page, client)


@pytest.mark.parametrize("jp_server_config", ["per-target"], indirect=True)
async def test_a_kernel_without_subshells_keeps_the_order_too(
    jp_fetch, jp_ws_fetch, no_subshells_kernel
):
    page, client = await connect(jp_fetch, jp_ws_fetch, no_subshells_kernel)
    await check_requests_after_opens(page, client)


@each_mode
async def test_a_close_routed_behind_a_cell_is_seen_by_a_later_request(jp_fetch, jp_ws_fetch):
    """ipykernel sends a comm's messages to the shell that last published on it: here the
    main shell, busy with a cell. A later request of the same client, whichever shell it
    goes to, is answered after the close."""
    page, client = await connect(jp_fetch, jp_ws_fetch)
    await client.register("ci_target")
    await page.execute('from comm import create_comm\nk = create_comm(target_name="ci_target")')
    opened = await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    comm_id = opened["content"]["comm_id"]
    start = len(page.messages)
    cell = asyncio.ensure_future(page.execute("import time; time.sleep(1.5)"))
    await page.wait_for(lambda m: m["header"]["msg_type"] == "execute_input", start=start)
    await client.send("comm_close", {"comm_id": comm_id, "data": {}})
    listed = await comms_listed(client, "ci_target")
    assert comm_id not in listed, listed
    await cell


async def test_by_default_comm_handlers_run_on_the_main_thread_between_cells(jp_fetch, jp_ws_fetch):
    """The default (comm_subshells "off"): what every frontend did before JupyterLab 4.4. A
    handler never runs beside cell code, so it may touch whatever the cells use."""
    page, client = await connect(jp_fetch, jp_ws_fetch)
    start = len(page.messages)
    cell = asyncio.ensure_future(page.execute("import time; time.sleep(1.5); done = True"))
    await page.wait_for(lambda m: m["header"]["msg_type"] == "execute_input", start=start)
    comm_id = await client.open_comm("ci_target")
    assert comm_id in await comms_listed(client, "ci_target")
    assert cell.done(), "the comm was handled while the cell ran"
    assert await page.evaluate(f"[main_thread[{comm_id!r}], done]") == [True, True]
