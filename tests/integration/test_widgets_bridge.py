"""Widgets through the bridge, at the protocol level (the browser tests use real ipywidgets).

The kernel side here is the widget protocol (ipywidgets 2.1) spoken with the plain comm API,
so that the server's part is checked on its own: widget comms kept from the page and
adopted by any client that registers ``jupyter.widget``, widget-view outputs rendered,
status of a client's own messages, and Output widgets' capture.
"""

from __future__ import annotations

import json
import re

import pytest
from tornado.ioloop import IOLoop
from traitlets.config import Config

from jupyter_comm_bridge.relay import page_feed

from support.kernelws import Bridge, Page

WIDGET = """
from comm import create_comm
widget = create_comm(
    target_name="jupyter.widget",
    data={"state": {"_model_name": "IntSliderModel", "value": 3}, "buffer_paths": []},
    metadata={"version": "2.1.0"},
)
got = []
widget.on_msg(lambda msg: got.append(msg["content"]["data"]))
"""

OUTPUT_WIDGET = """
from comm import create_comm
from IPython import get_ipython
out = create_comm(
    target_name="jupyter.widget",
    data={"state": {"_model_name": "OutputModel", "_model_module": "@jupyter-widgets/output",
                    "msg_id": ""}, "buffer_paths": []},
    metadata={"version": "2.1.0"},
)
def capture():
    msg_id = get_ipython().kernel.get_parent()["header"]["msg_id"]
    out.send({"method": "update", "state": {"msg_id": msg_id}, "buffer_paths": []})
    print("inside the widget", flush=True)
    out.send({"method": "update", "state": {"msg_id": ""}, "buffer_paths": []})
    print("in the cell", flush=True)
"""

VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_comm_bridge": True}},
            "CommBridgeApp": {"widgets": getattr(request, "param", "on"), "claim_window": 0.5},
        }
    )


def seen_by(client: Bridge, comm_id: str) -> list[tuple[str, object]]:
    """The Output widget's messages and the outputs a client got, in its order: (msg_type,
    the msg_id an update sets)."""
    return [
        (m["header"]["msg_type"], m["content"].get("data", {}).get("state", {}).get("msg_id"))
        for m in client.messages
        if m["content"].get("comm_id") == comm_id or m["header"]["msg_type"] == "stream"
    ]


def in_kernel_order(parent: str) -> list[tuple[str, object]]:
    """After the update that set the widget's msg_id, before the one that unset it."""
    return [("comm_open", ""), ("comm_msg", parent), ("stream", None), ("comm_msg", "")]


async def widget_comm(page: Page) -> str:
    await page.execute(WIDGET)
    return str(await page.evaluate("widget.comm_id"))


async def test_widget_comms_are_kept_from_the_page_and_adopted_later(page, bridge):
    p = await page()  # closes every comm_open it sees, as JupyterLab does without widgets
    comm_id = await widget_comm(p)
    assert not [m for m in p.messages if m["header"]["msg_type"] == "comm_open"]
    client = await bridge()  # long after the claim window
    await client.register("jupyter.widget")
    listed = (await client.request("comm_info_request", {"target_name": "jupyter.widget"}))[
        "content"
    ]["comms"]
    assert comm_id in listed
    await client.comm_msg(comm_id, {"method": "update", "state": {"value": 7}})
    assert await p.eventually("got") == [{"method": "update", "state": {"value": 7}}]
    await p.execute('widget.send({"method": "update", "state": {"value": 8}})')
    sent = await client.next_on_comm(comm_id)
    assert sent["content"]["data"]["state"] == {"value": 8}
    # a second client (another tab) gets the widget too, and the first one's going keeps it
    other = await bridge()
    await other.register("jupyter.widget")
    await client.close()
    await p.execute('widget.send({"method": "update", "state": {"value": 9}})')
    assert (await other.next_on_comm(comm_id))["content"]["data"]["state"] == {"value": 9}
    assert await p.evaluate("not widget._closed")


async def test_a_widget_view_output_gets_html_that_mounts_it(page, kernel_id):
    p = await page()
    comm_id = await widget_comm(p)
    view = {"version_major": 2, "version_minor": 1, "model_id": comm_id}
    outputs = await p.execute(
        f"from IPython.display import display\n"
        f"display({{'text/plain': 'IntSlider(value=3)', {VIEW!r}: {view!r}}}, raw=True)"
    )
    data = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]["data"]
    assert data[VIEW] == view and data["text/plain"] == "IntSlider(value=3)"
    html = data["text/html"]
    assert html.startswith("<script data-pycomm-bootstrap>")
    assert re.search(rf'pycomm\.display_widget\("{comm_id}", document\.currentScript', html)
    # what an untrusted notebook shows (its scripts do not run): the text/plain, until the view
    assert '<div class="pycomm-widget"><pre>IntSlider(value=3)</pre></div>' in html


async def test_a_widget_view_takes_the_place_of_the_fallback_html_shown_until_it_renders(
    page, kernel_id
):
    """A library's own HTML for pages without widgets (ipympl's figure as an image) is not
    what a page with a widget manager shows: the view is, with that HTML in its place until
    it renders; HTML with scripts of its own is not kept."""
    p = await page()
    comm_id = await widget_comm(p)
    view = {"version_major": 2, "version_minor": 0, "model_id": comm_id}
    htmls = []
    for fallback in ("<img class='static' src='data:,'>", "<b>x</b><script>alert(1)</script>"):
        bundle = {"text/plain": "Canvas()", "text/html": fallback, VIEW: view}
        outputs = await p.execute(f"display({bundle!r}, raw=True)")
        content = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]
        htmls.append(content["data"]["text/html"])
    assert re.search(rf'pycomm\.display_widget\("{comm_id}"', htmls[0])
    assert "<div class=\"pycomm-widget\"><img class='static' src='data:,'></div>" in htmls[0]
    assert re.search(rf'pycomm\.display_widget\("{comm_id}"', htmls[1])
    assert "alert(1)" not in htmls[1] and "<pre>Canvas()</pre>" in htmls[1]


async def test_a_client_that_watches_status_gets_that_of_its_own_messages(page, bridge):
    p = await page()
    comm_id = await widget_comm(p)
    watcher, other = await bridge(), await bridge()
    for client in (watcher, other):
        await client.register("jupyter.widget")
    reply = await watcher.request("watch_status_request", {}, channel="bridge")
    assert reply["header"]["msg_type"] == "watch_status_reply"
    sent = await watcher.comm_msg(comm_id, {"method": "update", "state": {"value": 1}})
    await other.comm_msg(comm_id, {"method": "update", "state": {"value": 2}})
    idle = await watcher.wait_for(
        lambda m: m["header"]["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
    )
    assert idle["parent_header"]["msg_id"] == sent["header"]["msg_id"]
    await p.eventually("len(got) == 2")
    statuses = [m for m in watcher.messages if m["header"]["msg_type"] == "status"]
    assert {m["parent_header"]["msg_id"] for m in statuses} == {sent["header"]["msg_id"]}
    assert not [m for m in other.messages if m["header"]["msg_type"] == "status"]


async def test_an_output_widget_captures_what_the_cell_prints_meanwhile(page, bridge):
    p = await page()
    await p.execute(OUTPUT_WIDGET)
    client = await bridge()
    await client.register("jupyter.widget")
    outputs = await p.execute("capture()")
    texts = [m["content"]["text"] for m in outputs if m["header"]["msg_type"] == "stream"]
    assert texts == ["in the cell\n"]  # what the widget captured never reached the page
    captured = await client.wait_for(lambda m: m["header"]["msg_type"] == "stream")
    assert captured["content"]["text"] == "inside the widget\n"
    assert captured["channel"] == "iopub"
    await p.execute("1")  # one more round trip: what else went to the client is in by now
    comm_id = await p.evaluate("out.comm_id")
    assert seen_by(client, comm_id) == in_kernel_order(captured["parent_header"]["msg_id"])


async def test_what_an_output_widget_captures_before_any_client_goes_to_the_first(page, bridge):
    """As ``interact`` does: its Output widget captures before the cell displays anything, so
    before any page has loaded the widget code; a frontend would have kept those outputs."""
    p = await page()
    await p.execute(OUTPUT_WIDGET)
    outputs = await p.execute("capture()")
    texts = [m["content"]["text"] for m in outputs if m["header"]["msg_type"] == "stream"]
    assert texts == ["in the cell\n"]
    client = await bridge()
    await client.register("jupyter.widget")
    captured = await client.wait_for(lambda m: m["header"]["msg_type"] == "stream")
    assert captured["content"]["text"] == "inside the widget\n"
    comm_id = await p.evaluate("out.comm_id")
    assert seen_by(client, comm_id) == in_kernel_order(captured["parent_header"]["msg_id"])


async def test_what_an_output_widget_captures_comes_in_order_when_the_relays_iopub_lags(
    page, bridge, kernel_id, jp_serverapp, monkeypatch
):
    """The relay's iopub and the page's connection are two subscriptions, and either may be
    ahead of the other: a widget's frontend gets its outputs in the kernel's order all the
    same (it captures from the update that sets its msg_id, and stops at the next)."""
    monkeypatch.setattr(page_feed, "GRACE", 0.0)  # once live, the relay's iopub alone routes
    p = await page()
    await p.execute(OUTPUT_WIDGET)
    client = await bridge()
    await client.register("jupyter.widget")
    comm_id = await p.evaluate("out.comm_id")
    await client.wait_for(lambda m: m["header"]["msg_type"] == "comm_open")
    routing = jp_serverapp.web_app.settings["jupyter_comm_bridge"].registry.get(kernel_id).routing
    handle = routing.handle
    routing.handle = lambda msg: IOLoop.current().call_later(0.3, handle, msg)  # in order, late
    await p.execute("capture()")
    unset = await client.wait_for(
        lambda m: (
            m["header"]["msg_type"] == "comm_msg"
            and m["content"]["data"].get("state", {}).get("msg_id") == ""
        )
    )
    captured = await client.wait_for(lambda m: m["header"]["msg_type"] == "stream")
    assert seen_by(client, comm_id) == in_kernel_order(captured["parent_header"]["msg_id"])
    assert unset["parent_header"]["msg_id"] == captured["parent_header"]["msg_id"]


@pytest.mark.parametrize("jp_server_config", ["off"], indirect=True)
async def test_with_widgets_off_the_page_sees_widget_comms_as_on_a_stock_server(page):
    p = await page()
    comm_id = await widget_comm(p)
    opened = [m for m in p.messages if m["header"]["msg_type"] == "comm_open"]
    assert [m["content"]["comm_id"] for m in opened] == [comm_id]
    await p.eventually("widget._closed")  # the page closed it, as JupyterLab does
    view = {"version_major": 2, "version_minor": 1, "model_id": comm_id}
    outputs = await p.execute(f"display({{{VIEW!r}: {view!r}}}, raw=True)")
    data = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]["data"]
    assert "text/html" not in data
    assert json.dumps(data[VIEW])


# --- per page: whose manager serves a connection's widgets -----------------------------------


def comm_opens(client: Page) -> list[str]:
    return [
        m["content"]["comm_id"]
        for m in client.messages
        if m["header"]["msg_type"] == "comm_open"
        and m["content"].get("target_name") == "jupyter.widget"
    ]


async def test_a_client_that_is_no_browser_page_speaks_the_widget_protocol_itself(
    page, jp_ws_fetch, kernel_id, bridge
):
    """As VS Code does: its connection (no ``Origin``: not a page that could run the bridge's
    manager) gets every widget comm_open and syncs a slider both ways, while a browser page of
    the same kernel, whose widgets are the bridge's, never sees them."""
    browser = await page()
    own = await Page.connect(jp_ws_fetch, "api", "kernels", kernel_id, "channels")
    own.known_targets.add("jupyter.widget")  # its manager handles the target: no close
    comm_id = await widget_comm(browser)
    await until_seen(own, comm_id)
    assert comm_opens(browser) == []
    await own.send(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"value": 5}}}
    )
    assert await browser.eventually("got") == [{"method": "update", "state": {"value": 5}}]
    await browser.execute('widget.send({"method": "update", "state": {"value": 6}})')
    sent = await own.wait_for(
        lambda m: m["header"]["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
    )
    assert sent["content"]["data"]["state"] == {"value": 6}
    client = await bridge()  # the bridge's manager of the browser page has the widget too
    await client.register("jupyter.widget")
    await client.comm_msg(comm_id, {"method": "update", "state": {"value": 4}})
    assert (await browser.eventually("got"))[-1] == {"method": "update", "state": {"value": 4}}
    assert await browser.evaluate("not widget._closed")


async def until_seen(client: Page, comm_id: str) -> None:
    await client.wait_for(
        lambda m: m["header"]["msg_type"] == "comm_open" and m["content"]["comm_id"] == comm_id
    )


async def test_a_page_whose_manager_shows_itself_gets_the_stock_protocol(page):
    """A browser page with a widget manager of its own (JupyterLab with jupyterlab_widgets,
    Voila's manager) asks for the kernel's widgets when it connects: from then on it gets the
    widgets' comms, and its closes reach the kernel, as on a stock server."""
    p = await page()
    p.known_targets.add("jupyter.widget")
    await p.request("comm_info_request", {"target_name": "jupyter.widget"})
    comm_id = await widget_comm(p)
    await until_seen(p, comm_id)
    await p.send(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"value": 2}}}
    )
    assert await p.eventually("got") == [{"method": "update", "state": {"value": 2}}]
    await p.send("comm_close", {"comm_id": comm_id, "data": {}})
    assert await p.eventually("widget._closed")
    view = {"version_major": 2, "version_minor": 1, "model_id": comm_id}
    outputs = await p.execute(f"display({{{VIEW!r}: {view!r}}}, raw=True)")
    data = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]["data"]
    assert "text/html" not in data  # its manager renders the view: no bridge markup
