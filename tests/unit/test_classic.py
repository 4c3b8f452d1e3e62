"""Outputs written for the classic Notebook get its names, bound to them alone."""

from __future__ import annotations

import json

from jupyter_comm_bridge.page.classic import classic_code, classic_html, runs_classic, uses_classic
from jupyter_comm_bridge.page.injection import Injector, with_html_source

SNIPPET = """Jupyter.notebook.kernel.comm_manager.register_target('my_comm_target', function (comm, msg) {
  comm.on_msg(function (msg) { console.log(msg); });
  comm.send({'foo': 0});
});
var comm = Jupyter.notebook.kernel.comm_manager.new_comm('my_comm_target', {'foo': 6});"""


def test_classic_names_are_recognised() -> None:
    assert uses_classic(SNIPPET)
    assert uses_classic("IPython.notebook.kernel.comm_manager")
    assert uses_classic("IPython.keyboard_manager.enable()")
    assert not uses_classic("<IPython.core.display.HTML object>")
    assert not uses_classic("const notebook = Jupyterlab.notebook;")


def test_javascript_runs_with_the_names_as_parameters() -> None:
    code = classic_code(SNIPPET, '"k1"', "element")
    assert code.startswith('window.pycomm.kernel("k1").classic(element).then(function (Jupyter) {')
    assert "var IPython = Jupyter;" in code and SNIPPET in code
    assert "window.Jupyter" not in code  # never a page-wide global


def test_only_inline_javascript_that_uses_the_names_is_wrapped() -> None:
    html = (
        f"<div id='x'></div><script>{SNIPPET}</script>"
        "<script>console.log('plain');</script>"
        "<script src='lib.js'>Jupyter.notebook</script>"
        '<script type="application/json">{"Jupyter.notebook": 1}</script>'
        f'<SCRIPT type="text/javascript">{SNIPPET}</SCRIPT>'
    )
    out = classic_html(html, '"k1"')
    assert out.count(".classic(document.currentScript).then(function (Jupyter) {") == 2
    assert "<script>console.log('plain');</script>" in out
    assert "<script src='lib.js'>Jupyter.notebook</script>" in out
    assert '<script type="application/json">{"Jupyter.notebook": 1}</script>' in out
    assert out.startswith("<div id='x'></div><script>window.pycomm.kernel")


def test_the_injector_boots_classic_outputs() -> None:
    injector = Injector("f(__PYCOMM_ARGS__);", "v")
    html = injector.inject("k1", {"data": {"text/html": f"<script>{SNIPPET}</script>"}})
    assert html is not None
    assert html["data"]["text/html"].startswith('<script data-pycomm-bootstrap>f("k1", "v", null);')
    js = injector.inject("k1", {"data": {"application/javascript": SNIPPET}})
    assert js is not None
    code = js["data"]["application/javascript"]
    assert 'var pycomm = window.pycomm.kernel("k1");' in code
    assert 'window.pycomm.kernel("k1").classic(typeof element === "undefined"' in code
    plain = {"data": {"text/html": "<b>IPython.core</b>", "text/plain": "<IPython...>"}}
    assert injector.inject("k1", plain) is None


def test_an_execution_runs_classic_code_when_its_html_or_javascript_does() -> None:
    assert runs_classic({"data": {"application/javascript": SNIPPET}})
    assert runs_classic({"data": {"text/html": f"<script>{SNIPPET}</script>"}})
    assert not runs_classic({"data": {"text/plain": SNIPPET}})
    assert not runs_classic({"data": "not a bundle"})


def test_html_keeps_its_source_beside_it_once() -> None:
    html = "<div id='fig'></div></script>"
    kept = with_html_source({"data": {"text/html": html, "text/plain": "x"}})
    assert kept is not None
    out = kept["data"]["text/html"]
    assert out.startswith(html + '<script type="application/json" data-pycomm-html>')
    assert out.count("</script>") == 2  # the source's own cannot end the script
    source = out[len(html) :].removeprefix('<script type="application/json" data-pycomm-html>')
    assert json.loads(source.removesuffix("</script>")) == html
    assert with_html_source(kept) is None  # kept already
    assert with_html_source({"data": {"text/plain": "x"}}) is None
