"""The bootstrap injected into outputs that use pycomm, on both page protocols."""

from __future__ import annotations

import json
import re

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_comm_bridge.page.injection import Injector, compact
from jupyter_comm_bridge.wire.literals import js_string

from support.kernelws import PROTOCOLS

#: jupyter_server internals (page connection, gateway page): run on the oldest server too
pytestmark = pytest.mark.server_internals

each_protocol = pytest.mark.parametrize("protocol", PROTOCOLS)
BOOT = re.compile(r"^<script data-pycomm-bootstrap>(.*?)</script>", re.S)


def kernel_arg(script: str) -> str:
    """The kernel id literal the bootstrap was called with."""
    return re.search(r'\}\)\("([^"]*)", "([0-9a-f]+)", ([^)]*)\);?$', script).group(1)


@each_protocol
async def test_html_output_mentioning_pycomm_gets_the_bootstrap(protocol, page, kernel_id):
    p = await page(protocol)
    html = '<div id="w"></div><script>pycomm.new_comm("t")</script>'
    outputs = await p.execute(f"from IPython.display import HTML, display\ndisplay(HTML({html!r}))")
    data = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]["data"]
    boot = BOOT.match(data["text/html"])
    assert boot, data["text/html"][:200]
    assert data["text/html"][boot.end() :] == html
    assert kernel_arg(boot.group(1)) == kernel_id
    assert data["text/plain"] == "<IPython.core.display.HTML object>"


@each_protocol
async def test_javascript_output_gets_the_bootstrap_and_a_bound_pycomm(protocol, page, kernel_id):
    p = await page(protocol)
    js = "pycomm.send('t', 1)"
    outputs = await p.execute(
        f"from IPython.display import Javascript, display\ndisplay(Javascript({js!r}))"
    )
    code = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]["data"][
        "application/javascript"
    ]
    head, bound, user = code.rsplit("\n", 2)
    assert user == js
    assert bound == f"var pycomm = window.pycomm.kernel({json.dumps(kernel_id)});"
    assert 'typeof element === "undefined" ? null : element' in head


@each_protocol
async def test_html_outputs_after_classic_code_keep_their_source(protocol, page):
    """nbagg finds its figure's cell by the HTML source of an output (``find_output_cell``):
    the HTML outputs of an execution that ran classic-Notebook code keep it beside them."""
    p = await page(protocol)
    code = (
        "from IPython.display import HTML, Javascript, display\n"
        "display(HTML('<i>before</i>'))\n"
        "display(Javascript('IPython.notebook.kernel.comm_manager'))\n"
        "display(HTML(\"<div id='fig'></div>\"))"
    )
    outputs = await p.execute(code)
    html = [m["content"]["data"] for m in outputs if m["header"]["msg_type"] == "display_data"]
    assert html[0]["text/html"] == "<i>before</i>"  # before the classic code: left alone
    kept = '<script type="application/json" data-pycomm-html>"\\u003cdiv id=\'fig\'\\u003e'
    assert html[2]["text/html"] == f"<div id='fig'></div>{kept}\\u003c/div\\u003e\"</script>"
    later = await p.execute("display(HTML(\"<div id='other'></div>\"))")  # another execution
    data = next(m for m in later if m["header"]["msg_type"] == "display_data")["content"]["data"]
    assert data["text/html"] == "<div id='other'></div>"


@each_protocol
async def test_execute_result_and_update_display_are_injected(protocol, page, kernel_id):
    p = await page(protocol)
    outputs = await p.execute(
        "from IPython.display import HTML, display\n"
        "h = display(HTML('<b>before</b>'), display_id=True)\n"
        "h.update(HTML('<script>pycomm</script>'))\n"
        "HTML('<i>pycomm</i>')"
    )
    by_type = {
        m["header"]["msg_type"]: m["content"]["data"]["text/html"]
        for m in outputs
        if "data" in m["content"]
    }
    assert by_type["display_data"] == "<b>before</b>"
    assert BOOT.match(by_type["update_display_data"])
    assert by_type["update_display_data"].endswith("</script><script>pycomm</script>")
    assert BOOT.match(by_type["execute_result"]) and by_type["execute_result"].endswith(
        "<i>pycomm</i>"
    )


async def test_output_metadata_can_ask_for_it(page):
    p = await page()
    outputs = await p.execute(
        "from IPython.display import HTML, display\n"
        "display(HTML('<b>no mention</b>'), metadata={'pycomm': True})"
    )
    html = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]["data"][
        "text/html"
    ]
    assert BOOT.match(html) and html.endswith("<b>no mention</b>")


async def test_other_mime_types_and_plain_mentions_are_left_alone(page):
    p = await page()
    outputs = await p.execute(
        "from IPython.display import display\n"
        "display({'text/plain': 'pycomm', 'text/markdown': 'pycomm'}, raw=True)\nprint('pycomm')"
    )
    shown = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"]["data"]
    assert shown == {"text/plain": "pycomm", "text/markdown": "pycomm"}


async def test_the_client_is_served_under_its_version_without_auth(jp_fetch, jp_serverapp):
    app = jp_serverapp.web_app.settings["jupyter_comm_bridge"]
    version = app.injector.version
    r = await jp_fetch("comm-bridge", "client", version, "pycomm.js", headers={"Authorization": ""})
    assert r.code == 200
    assert "javascript" in r.headers["Content-Type"]
    assert "immutable" in r.headers["Cache-Control"]
    assert b"export function install" in r.body
    # its modules import each other by relative URL: every one is under the same version
    for name in re.findall(rb'from "\./([\w-]+\.js)"', r.body):
        module = await jp_fetch("comm-bridge", "client", version, name.decode())
        assert module.code == 200
    # a page of an earlier release gets today's client, not to be cached
    old = await jp_fetch("comm-bridge", "client", "0123", "pycomm.js")
    assert old.headers["Cache-Control"] == "no-cache"
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("comm-bridge", "client", version, "nosuch.js")
    assert info.value.code == 404


def test_js_string_is_safe_in_script_and_js():
    hostile = '"; alert(1); "</script><script>x</script>\u2028\u2029<!--&'
    literal = js_string(hostile)
    assert json.loads(literal) == hostile
    for bad in ("</", "<!--", "\u2028", "\u2029", "&"):
        assert bad not in literal


def test_template_must_not_be_able_to_end_its_script():
    with pytest.raises(ValueError):
        compact("x = '</script>'; f(__PYCOMM_ARGS__)")
    with pytest.raises(ValueError):
        compact("f()")
    injector = Injector("// comment\n  f(__PYCOMM_ARGS__);\n", "abc")
    assert injector.script("k", "null") == 'f("k", "abc", null);'


def test_injector_refuses_to_embed_anything_but_string_literals():
    injector = Injector("f(__PYCOMM_ARGS__);", "v")
    weird = 'x"); alert(1); ("</script>'
    content = injector.inject(weird, {"data": {"text/html": "pycomm"}, "metadata": {}})
    script = content["data"]["text/html"]
    assert script.count("</script>") == 1 and "alert(1); (" in script
    assert '\\"); alert(1)' in script  # still inside the string literal


class TestHostileBaseUrl:
    """The server never writes its base URL into outputs: the page supplies it at run time."""

    @pytest.fixture
    def jp_base_url(self):
        return "/a'b%22c%3C%2Fscript%3E%E2%80%A8/"

    async def test_bootstrap_holds_no_base_url_and_the_client_is_served_under_it(
        self, page, kernel_id, jp_fetch, jp_base_url
    ):
        p = await page()
        html = "<script>pycomm</script>"
        outputs = await p.execute(
            f"from IPython.display import HTML, display\ndisplay(HTML({html!r}))"
        )
        data = next(m for m in outputs if m["header"]["msg_type"] == "display_data")["content"][
            "data"
        ]
        boot = BOOT.match(data["text/html"])
        assert boot and kernel_arg(boot.group(1)) == kernel_id
        for fragment in ("a'b", "%22", "%3C", "%E2", "script%3E"):
            assert fragment not in boot.group(1)
        r = await jp_fetch("comm-bridge", "client", "0", "pycomm.js")
        assert r.code == 200
