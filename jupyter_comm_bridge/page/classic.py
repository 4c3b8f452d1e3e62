"""Code written for the classic Notebook, in outputs: its ``Jupyter`` and ``IPython`` names.

JupyterLab and Notebook 7 have no such globals, and must not get page-wide ones (libraries
sniff ``window.Jupyter`` to detect the classic Notebook; bokeh then takes classic-only
paths). So the names are given to the outputs that use them: their code runs inside a
function whose ``Jupyter`` and ``IPython`` parameters are the classic Notebook's objects as
``js/classic.js`` provides them over pycomm (on a real classic page: the page's own). The
code runs once that module has loaded, a moment after the output appears; its top-level
declarations are local to it, as they already are in a JavaScript output.

Classic code finds its output in the notebook model by the HTML source of outputs
(nbagg's ``find_output_cell``), which JupyterLab does not give output code: HTML outputs
of the same execution keep their source beside them (``injection.with_html_source``).
"""

from __future__ import annotations

import re
from typing import Any

#: What marks code written against the classic Notebook's globals.
CLASSIC_NAMES = re.compile(r"\b(?:Jupyter|IPython)\s*\.\s*(?:notebook|keyboard_manager)\b")
_SCRIPT = re.compile(r"(<script\b([^>]*)>)(.*?)(</script\s*>)", re.S | re.I)
_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]*)""", re.I)
_SRC = re.compile(r"\bsrc\s*=", re.I)
MIMETYPES = ("text/html", "application/javascript")
_JS_TYPES = frozenset({"", "text/javascript", "application/javascript"})


def uses_classic(text: str) -> bool:
    return CLASSIC_NAMES.search(text) is not None


def runs_classic(content: dict[str, Any]) -> bool:
    """Whether a display message's HTML or JavaScript uses the classic names."""
    data = content.get("data")
    if not isinstance(data, dict):
        return False
    return any(isinstance(data.get(key), str) and uses_classic(data[key]) for key in MIMETYPES)


def classic_code(code: str, kernel: str, element: str) -> str:
    """``code`` run with the classic names bound (``kernel``: its id as a JS literal;
    ``element``: a JS expression for the output's element, or ``null``)."""
    return (
        f"window.pycomm.kernel({kernel}).classic({element}).then(function (Jupyter) {{\n"
        f"var IPython = Jupyter;\n{code}\n}}, function (e) {{\n"
        'console.error("pycomm: the classic Notebook names are not available", e);\n});'
    )


def classic_html(html: str, kernel: str) -> str:
    """The HTML with each inline script that uses the classic names run with them bound."""

    def wrap(match: re.Match[str]) -> str:
        opening, attributes, code, closing = match.groups()
        kind = _TYPE.search(attributes)
        if _SRC.search(attributes) or (kind and kind.group(1).lower() not in _JS_TYPES):
            return match.group(0)
        if not uses_classic(code):
            return match.group(0)
        return opening + classic_code(code, kernel, "document.currentScript") + closing

    return _SCRIPT.sub(wrap, html)
